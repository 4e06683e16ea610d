//! The file rules: which names are uploads or logs, which files are old, and
//! removal that never follows a symbolic link nor touches a folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::CleanupError;

use chat_domain::storage::{self, UPLOAD_URL_PREFIX};

/// A name that stays inside its folder: not empty, no path separator, no
/// `..` anywhere, no NUL, not `.`.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && !name.contains("..") && !name.contains(['/', '\\', '\0'])
}

/// The file name of an image URL `/uploads/<name>`, when it is a name the
/// server could have issued (`chat_domain::storage`, the one rule); `None`
/// for anything else (it is then never touched).
pub fn upload_name(url: &str) -> Option<&str> {
    storage::upload_name(url)
}

/// The URL the server serves an upload under.
pub fn upload_url(name: &str) -> String {
    format!("{UPLOAD_URL_PREFIX}{name}")
}

/// Whether an upload-folder entry is one the cleanup may consider: an upload
/// name (not hidden: `.gitkeep` and the like stay), or the server's partial
/// upload `.<name>.part` (left behind by a crash; an upload in progress is
/// recent, so it is never old enough).
pub fn is_upload_name(name: &str) -> bool {
    let partial = name.strip_prefix('.').and_then(|n| n.strip_suffix(".part"));
    storage::is_upload_name(partial.unwrap_or(name))
}

/// The log rule: a name, not hidden, that ends in `.log` or has `.log.` in
/// it with something before: `chat-server.log`, `chat-server.log.2025-06-26`
/// (tracing-appender's daily files), `app.log.1`, `app.log.2.gz`. Nothing
/// else (`notes.txt`, `catalog`, `.log`, `x.logs`) is a log file.
pub fn is_log_name(name: &str) -> bool {
    if !is_safe_name(name) || name.starts_with('.') {
        return false;
    }
    match name.find(".log") {
        Some(0) | None => false,
        Some(_) => name.ends_with(".log") || name.contains(".log."),
    }
}

/// Fails unless `path` is an existing folder (links to one are fine: it is
/// what the operator configured).
pub fn check_dir(path: &Path, what: &'static str, flag: &'static str) -> Result<(), CleanupError> {
    match fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(CleanupError::NotAFolder {
            what,
            flag,
            path: path.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(CleanupError::FolderMissing {
            what,
            flag,
            path: path.to_owned(),
        }),
        Err(e) => Err(CleanupError::ReadFolder {
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// A file the cleanup may remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub path: PathBuf,
    pub len: u64,
}

/// The regular files directly in `dir` (no recursion, no links) whose name
/// passes `accept` and that were last modified before `older_than`, sorted by
/// name. Entries that vanish or cannot be inspected while listing are skipped.
pub fn old_files(
    dir: &Path,
    older_than: SystemTime,
    accept: impl Fn(&str) -> bool,
) -> Result<Vec<Candidate>, CleanupError> {
    let read_err = |source| CleanupError::ReadFolder {
        path: dir.to_owned(),
        source,
    };
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot read a folder entry");
                continue;
            }
        };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue; // not UTF-8: not a name the server writes
        };
        if !accept(&name) {
            continue;
        }
        let path = entry.path();
        // symlink_metadata: a link is judged as a link, never by its target.
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "cannot inspect a file");
                }
                continue;
            }
        };
        if !meta.file_type().is_file() {
            continue;
        }
        let modified = match meta.modified() {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "no modification time; kept");
                continue;
            }
        };
        if modified < older_than {
            out.push(Candidate {
                name,
                path,
                len: meta.len(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// `dir/name` when it is a regular file (not a link, not a folder), with its size.
pub fn regular_file(dir: &Path, name: &str) -> Option<Candidate> {
    if !is_safe_name(name) {
        return None;
    }
    let path = dir.join(name);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => Some(Candidate {
            name: name.to_owned(),
            len: m.len(),
            path,
        }),
        Ok(_) => {
            tracing::warn!(path = %path.display(), "not a regular file; kept");
            None
        }
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot inspect a file; kept");
            }
            None
        }
    }
}

/// Counts of what was (or, in a dry run, would be) removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub files: usize,
    pub bytes: u64,
    /// Files that could not be removed (permissions, I/O errors).
    pub failed: usize,
}

/// Removes the candidates (or only counts them with `dry_run`). A file that
/// is already gone is not counted; one that became a link or a folder since
/// it was listed is kept.
pub fn remove_all(candidates: &[Candidate], dry_run: bool, what: &str) -> Tally {
    let mut tally = Tally::default();
    for c in candidates {
        match fs::symlink_metadata(&c.path) {
            Ok(m) if m.file_type().is_file() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::warn!(path = %c.path.display(), error = %e, "cannot inspect {what}; kept");
                tally.failed += 1;
                continue;
            }
        }
        if dry_run {
            tracing::info!(path = %c.path.display(), bytes = c.len, "would remove {what}");
        } else {
            match fs::remove_file(&c.path) {
                Ok(()) => tracing::info!(path = %c.path.display(), bytes = c.len, "removed {what}"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::error!(path = %c.path.display(), error = %e, "cannot remove {what}");
                    tally.failed += 1;
                    continue;
                }
            }
        }
        tally.files += 1;
        tally.bytes += c.len;
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::Duration;

    #[test]
    fn upload_urls_give_safe_names_only() {
        assert_eq!(upload_name("/uploads/abc_photo.png"), Some("abc_photo.png"));
        assert_eq!(upload_name("/uploads/"), None);
        assert_eq!(upload_name("/uploads/../chat_app.db"), None);
        assert_eq!(upload_name("/uploads/a/b.png"), None);
        assert_eq!(upload_name("/uploads/a\\b.png"), None);
        assert_eq!(upload_name("/uploads/.."), None);
        assert_eq!(upload_name("/uploads/."), None);
        // Two dots inside a plain name leave no folder: the one rule allows it.
        assert_eq!(upload_name("/uploads/x..png"), Some("x..png"));
        assert_eq!(upload_name("/uploads/名字.png"), None);
        assert_eq!(upload_name("/uploads/a\0b"), None);
        assert_eq!(upload_name("uploads/a.png"), None);
        assert_eq!(upload_name("https://evil/uploads/a.png"), None);
        assert_eq!(upload_name("hello"), None);
        assert_eq!(upload_url("a.png"), "/uploads/a.png");
    }

    #[test]
    fn hidden_uploads_are_never_candidates() {
        assert!(is_upload_name("f00_cat.gif"));
        assert!(!is_upload_name(".gitkeep"));
        assert!(!is_upload_name(".tmp-upload"));
        assert!(is_upload_name(".0fbeaa2aac16.png.part"));
        assert!(!is_upload_name(".part"));
    }

    #[test]
    fn the_log_rule() {
        for yes in [
            "chat-server.log",
            "chat-server.log.2025-06-26",
            "app.log.1",
            "app.log.2.gz",
            "access.log.old",
        ] {
            assert!(is_log_name(yes), "{yes} should be a log file");
        }
        for no in [
            ".log",
            ".hidden.log",
            "notes.txt",
            "catalog",
            "x.logs",
            "logbook",
            "changelog",
            "chat_app.db",
            "server.log-2025",
            "a..log",
        ] {
            assert!(!is_log_name(no), "{no} should not be a log file");
        }
    }

    fn file_aged(dir: &Path, name: &str, age_days: u64, bytes: usize) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, vec![b'x'; bytes]).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_days * 86_400);
        File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
        p
    }

    #[test]
    fn old_files_takes_old_regular_matching_files_only() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        file_aged(dir, "old.log", 40, 10);
        file_aged(dir, "old.log.2025-01-01", 40, 5);
        file_aged(dir, "new.log", 1, 10);
        file_aged(dir, "old.txt", 40, 10);
        std::fs::create_dir(dir.join("sub.log")).unwrap();
        file_aged(&dir.join("sub.log"), "deep.log", 40, 10);
        #[cfg(unix)]
        {
            let target = file_aged(dir, "target.txt", 40, 10);
            std::os::unix::fs::symlink(&target, dir.join("link.log")).unwrap();
        }
        let cutoff = SystemTime::now() - Duration::from_secs(30 * 86_400);
        let found = old_files(dir, cutoff, is_log_name).unwrap();
        let names: Vec<_> = found.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["old.log", "old.log.2025-01-01"]);
        assert_eq!(found[1].len, 5);

        let dry = remove_all(&found, true, "log file");
        assert_eq!((dry.files, dry.bytes, dry.failed), (2, 15, 0));
        assert!(dir.join("old.log").exists());

        let done = remove_all(&found, false, "log file");
        assert_eq!(done, dry);
        assert!(!dir.join("old.log").exists());
        assert!(!dir.join("old.log.2025-01-01").exists());
        for kept in ["new.log", "old.txt", "sub.log/deep.log", "target.txt"] {
            assert!(dir.join(kept).exists(), "{kept} must stay");
        }
        #[cfg(unix)]
        assert!(std::fs::symlink_metadata(dir.join("link.log")).is_ok());

        // A second pass finds them gone and counts nothing.
        assert_eq!(remove_all(&found, false, "log file"), Tally::default());
    }

    #[test]
    fn regular_file_refuses_links_folders_and_bad_names() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        file_aged(dir, "a.png", 0, 3);
        std::fs::create_dir(dir.join("folder.png")).unwrap();
        assert_eq!(regular_file(dir, "a.png").map(|c| c.len), Some(3));
        assert!(regular_file(dir, "folder.png").is_none());
        assert!(regular_file(dir, "missing.png").is_none());
        assert!(regular_file(dir, "../a.png").is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.join("a.png"), dir.join("l.png")).unwrap();
            assert!(regular_file(dir, "l.png").is_none());
        }
    }

    #[test]
    fn check_dir_tells_missing_from_not_a_folder() {
        let d = tempfile::tempdir().unwrap();
        assert!(check_dir(d.path(), "upload", "upload-dir").is_ok());
        let missing = d.path().join("nope");
        assert!(matches!(
            check_dir(&missing, "upload", "upload-dir"),
            Err(CleanupError::FolderMissing { .. })
        ));
        let file = file_aged(d.path(), "f", 0, 1);
        assert!(matches!(
            check_dir(&file, "log", "log-dir"),
            Err(CleanupError::NotAFolder { .. })
        ));
    }
}
