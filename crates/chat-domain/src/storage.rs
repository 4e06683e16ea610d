//! What the server and the cleanup share about where the data lives: the
//! flags that name it (one clap struct, flattened into both programs'
//! configurations) and the rule for the names of uploaded files.

use std::path::PathBuf;

/// The flags both programs take: the database, the upload and log folders,
/// and how long messages are kept.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// The database: a SQLite file path (or sqlite://path) or a postgres:// URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "chat_app.db",
        value_name = "URL"
    )]
    pub database_url: String,

    /// Folder of uploaded images, served as /uploads/<name>.
    #[arg(
        long,
        env = "UPLOAD_DIR",
        default_value = "uploads",
        value_name = "DIR"
    )]
    pub upload_dir: PathBuf,

    /// Folder of the server's daily log files (chat-server.log.YYYY-MM-DD).
    #[arg(long, env = "LOG_DIR", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// Messages older than this many days are never shown, and the cleanup
    /// deletes them with the images only they referenced.
    #[arg(long, env = "RETENTION_DAYS", default_value_t = 7, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retention_days: u32,
}

/// The path under which the server serves the upload folder.
pub const UPLOAD_URL_PREFIX: &str = "/uploads/";

/// A name this server (or the Flask app before it, whose names went through
/// `secure_filename`) could have given an upload: plain ASCII letters,
/// digits, `.`, `_` and `-`, not hidden, at most 255 bytes.
pub fn is_upload_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The file name of an image URL `/uploads/<name>`, when it is an upload name.
pub fn upload_name(url: &str) -> Option<&str> {
    url.strip_prefix(UPLOAD_URL_PREFIX)
        .filter(|name| is_upload_name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_upload_names() {
        assert!(is_upload_name("3f2a9c.png"));
        assert!(is_upload_name("20250626_cat-1.jpg"));
        for bad in [
            "",
            ".hidden",
            ".3f2a9c.png.part",
            "../etc/passwd",
            "a/b.png",
            "a\\b.png",
            "%2e%2e",
            "名字.png",
            "a b.png",
            &"a".repeat(256),
        ] {
            assert!(!is_upload_name(bad), "{bad}");
        }
    }

    #[test]
    fn upload_urls_name_their_file() {
        assert_eq!(upload_name("/uploads/3f2a9c.png"), Some("3f2a9c.png"));
        assert_eq!(upload_name("/uploads/../x.png"), None);
        assert_eq!(upload_name("/static/3f2a9c.png"), None);
        assert_eq!(upload_name("/uploads/"), None);
    }
}
