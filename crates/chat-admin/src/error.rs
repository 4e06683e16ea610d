use thiserror::Error;

use crate::copy::Summary;

/// Why a command failed. Each one ends the program with status 1 and its
/// text on stderr.
#[derive(Debug, Error)]
pub enum AdminError {
    #[error("--from must name a SQLite database (a file path or sqlite://path), not {0}")]
    SourceNotSqlite(String),
    #[error("--to must be a PostgreSQL URL (postgres://user:pass@host/db), not {0}")]
    TargetNotPostgres(String),
    #[error("the {0} connection is not of the expected backend")]
    WrongBackend(&'static str),
    #[error(transparent)]
    Database(#[from] chat_domain::DomainError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error(
        "the target database already holds {users} user(s), {messages} message(s){sessions}: \
         copy-db only fills a database without users and messages (a new one, or one that \
         nodes have only migrated). Nothing was copied."
    )]
    TargetNotEmpty {
        users: i64,
        messages: i64,
        /// ", N session(s)" with --with-sessions, else empty.
        sessions: String,
    },
    #[error(
        "{count} message(s) of the source name an author that does not exist (first ids: {ids}); \
         PostgreSQL enforces the reference, so delete them from the SQLite file first (e.g. \
         DELETE FROM messages WHERE user_id NOT IN (SELECT id FROM users)). Nothing was copied."
    )]
    OrphanMessages { count: i64, ids: String },
    #[error("copying {table} (the batch after {after}): {source}. Nothing was committed.")]
    Copy {
        table: &'static str,
        after: String,
        #[source]
        source: diesel::result::Error,
    },
    #[error(
        "the copy did not verify ({} mismatch(es), listed above); it was rolled back: the \
         target holds no copied row",
        .0.mismatches.len()
    )]
    Verification(Box<Summary>),
    #[error("no account is named {0:?} (names are exact, as at login)")]
    UnknownUser(String),
    #[error("the new password is refused: {0}")]
    Password(#[source] chat_domain::DomainError),
    #[error("the new password is empty; nothing was changed")]
    EmptyPassword,
    #[error("the two passwords differ; nothing was changed")]
    PasswordsDiffer,
    #[error("name the deleter with --by NAME (an account), or set --admin-users / ADMIN_USERS")]
    NoDeleter,
    #[error("{0}")]
    Delete(#[from] chat_domain::DeleteError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}
