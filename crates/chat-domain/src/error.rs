use thiserror::Error;

/// Why a username or password was refused. The texts are what the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    #[error("用户名和密码不能为空")]
    Missing,
    #[error("用户名长度必须为2到20个字符")]
    UsernameLength,
    #[error("用户名只能包含字母、数字、下划线和连字符")]
    UsernameCharacters,
    #[error("密码长度必须为6到72个字节")]
    PasswordLength,
    #[error("密码不能包含空字符")]
    PasswordCharacters,
    #[error("密码不能全是空白字符")]
    PasswordBlank,
}

#[derive(Debug, Error)]
pub enum DomainError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("用户名已存在")]
    UsernameTaken,
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("cannot open the database: {0}")]
    Open(String),
    /// The operator tools open a database, never create one.
    #[error("the SQLite database {0} does not exist (it is never created here; check --database-url / DATABASE_URL)")]
    DatabaseMissing(std::path::PathBuf),
    #[error("{0} is not a SQLite database file (check --database-url / DATABASE_URL)")]
    DatabaseNotAFile(std::path::PathBuf),
    #[error("an in-memory SQLite database holds nothing")]
    DatabaseInMemory,
    #[error("database migrations failed: {0}")]
    Migration(String),
    #[error("password hashing failed: {0}")]
    Hash(#[from] bcrypt::BcryptError),
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl DomainError {
    /// True when the database could not be reached at all (as opposed to a
    /// query that failed), so callers can say "try again later".
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as Kind, Error as Diesel};
        match self {
            DomainError::Pool(_) | DomainError::Open(_) => true,
            DomainError::Query(Diesel::DatabaseError(
                Kind::ClosedConnection | Kind::UnableToSendCommand,
                _,
            )) => true,
            // SQLite reports a disk it cannot write by message only.
            DomainError::Query(Diesel::DatabaseError(Kind::Unknown, info)) => {
                const CANNOT_WRITE: [&str; 4] = [
                    "database or disk is full",
                    "disk I/O error",
                    "attempt to write a readonly database",
                    "unable to open database file",
                ];
                CANNOT_WRITE.iter().any(|m| info.message().contains(m))
            }
            _ => false,
        }
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;
