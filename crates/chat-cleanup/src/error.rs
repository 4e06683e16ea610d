use std::path::PathBuf;

use thiserror::Error;

/// Why the cleanup could not run at all. Single files that cannot be removed
/// are not errors here: they are logged, counted in the summary and make the
/// exit status non-zero.
#[derive(Debug, Error)]
pub enum CleanupError {
    #[error(transparent)]
    Database(#[from] chat_domain::DomainError),
    #[error("the {what} folder {path} does not exist (check --{flag})")]
    FolderMissing {
        what: &'static str,
        flag: &'static str,
        path: PathBuf,
    },
    #[error("the {what} folder {path} is not a folder (check --{flag})")]
    NotAFolder {
        what: &'static str,
        flag: &'static str,
        path: PathBuf,
    },
    #[error("cannot read the folder {path}: {source}")]
    ReadFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
