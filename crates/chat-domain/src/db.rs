//! The connection pool over SQLite or PostgreSQL, chosen at run time by the URL,
//! and the embedded migrations that adopt or create the schema.

use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{CustomizeConnection, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, RunQueryDsl};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{DomainError, Result};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One connection type for both backends: queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

pub type PooledConn = PooledConnection<DbManager>;

/// Histogram (seconds) of the wait for a pooled connection in [`Database::run`].
pub const POOL_WAIT_METRIC: &str = "chat_db_pool_wait_seconds";
/// Histogram (seconds) of the wait for a blocking thread in [`Database::run`].
pub const QUEUE_WAIT_METRIC: &str = "chat_db_queue_wait_seconds";
/// Histogram (seconds) of the work itself in [`Database::run`], connection in hand.
pub const QUERY_METRIC: &str = "chat_db_query_seconds";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the data lives: `postgres://…`, `sqlite://path`, or a plain file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the driver is given: the file path for SQLite, the URL for PostgreSQL.
    pub target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.is_empty() {
            return Err(DomainError::Open("the database URL is empty".into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(DomainError::Open(format!("no file path in {url:?}")));
        }
        if path.contains("://") {
            return Err(DomainError::Open(format!(
                "unsupported database URL {url:?}: use a file path, sqlite://path or postgres://…"
            )));
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }
}

/// Opens connections of the one backend the URL names. (Diesel's own manager
/// for a `MultiConnection` tries every backend in turn and, when all fail,
/// reports only "Invalid connection url for multiconnection", hiding the
/// refused host and port.)
#[derive(Debug)]
pub struct DbManager {
    url: DatabaseUrl,
}

impl DbManager {
    pub fn new(url: DatabaseUrl) -> Self {
        let url = match url.backend {
            Backend::Postgres => DatabaseUrl {
                target: with_connect_timeout(&url.target),
                ..url
            },
            Backend::Sqlite => url,
        };
        Self { url }
    }
}

/// libpq waits for an unreachable host as long as the OS does (minutes):
/// bound it unless the URL says otherwise.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}connect_timeout={PG_CONNECT_TIMEOUT_S}")
}

/// Seconds libpq waits for a PostgreSQL server to answer a new connection.
const PG_CONNECT_TIMEOUT_S: u32 = 3;

impl ManageConnection for DbManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConnection, Self::Error> {
        let conn = match self.url.backend {
            Backend::Sqlite => {
                SqliteConnection::establish(&self.url.target).map(DbConnection::Sqlite)
            }
            Backend::Postgres => PgConnection::establish(&self.url.target).map(DbConnection::Pg),
        };
        conn.map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> std::result::Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections in the pool.
    pub pool_size: u32,
    /// How long a caller waits for a free connection before getting an error.
    pub connect_timeout: Duration,
    /// How long SQLite waits on a locked database before giving up.
    pub busy_timeout: Duration,
}

impl DbOptions {
    /// The operator tools' (cleanup, admin): one connection, patient with a
    /// server that is writing (each of their statements is short).
    pub fn operator_tool() -> Self {
        Self {
            pool_size: 1,
            connect_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(30),
        }
    }
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            pool_size: 8,
            // A send waits for a connection at most this long before it is
            // refused (PROTOCOL: answered within 6 s when the database is away).
            connect_timeout: Duration::from_secs(3),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// Per-connection SQLite settings: WAL so readers never wait for the writer,
/// a busy timeout so concurrent writers queue instead of failing, foreign keys on.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout_ms: u128,
}

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> std::result::Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                self.busy_timeout_ms
            ))
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// A cheap-to-clone handle on the pool. Diesel is blocking: async callers go
/// through [`Database::run`], which moves the work off the async workers.
#[derive(Clone)]
pub struct Database {
    pool: Pool<DbManager>,
    backend: Backend,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Database {
    /// [`Database::open`] for the operator tools (cleanup, admin): a SQLite
    /// file must already exist, it is never created.
    pub fn open_existing(url: &str, options: &DbOptions) -> Result<Self> {
        let parsed = DatabaseUrl::parse(url)?;
        if parsed.backend == Backend::Sqlite {
            if parsed.target == ":memory:" {
                return Err(DomainError::DatabaseInMemory);
            }
            let path = std::path::Path::new(&parsed.target);
            match std::fs::metadata(path) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(DomainError::DatabaseNotAFile(path.to_owned())),
                Err(_) => return Err(DomainError::DatabaseMissing(path.to_owned())),
            }
        }
        tracing::debug!(database = %redact(&parsed.target), "opening the database");
        Self::open(url, options)
    }

    /// Opens the pool, runs pending migrations and fills in what the Flask
    /// schema lacks. Blocking: call it before the runtime serves, or via
    /// `spawn_blocking`.
    pub fn open(url: &str, options: &DbOptions) -> Result<Self> {
        let url = DatabaseUrl::parse(url)?;
        if url.backend == Backend::Sqlite {
            check_sqlite_parent(&url.target)?;
        }
        let target = url.target.clone();
        let manager = DbManager::new(url.clone());
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            .connection_customizer(Box::new(SqlitePragmas {
                busy_timeout_ms: options.busy_timeout.as_millis(),
            }))
            .build(manager)
            .map_err(|e| DomainError::Open(format!("{}: {e}", redact(&target))))?;
        let db = Self {
            pool,
            backend: url.backend,
        };
        let mut conn = db.conn()?;
        exclusively(&mut conn, |conn| {
            run_migrations(conn)?;
            never_reuse_message_ids(conn)?;
            crate::users::backfill_username_keys(conn)?;
            Ok(())
        })?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection, for blocking code (the cleanup binary, tests).
    pub fn conn(&self) -> Result<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking Diesel work on tokio's blocking pool with a pooled connection.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        // Three waits apart, so that a slow request says which one it was:
        // for a blocking thread, for a connection, for the database.
        let queued = Instant::now();
        tokio::task::spawn_blocking(move || {
            let waited = Instant::now();
            metrics::histogram!(QUEUE_WAIT_METRIC).record((waited - queued).as_secs_f64());
            let mut conn = pool.get()?;
            let started = Instant::now();
            metrics::histogram!(POOL_WAIT_METRIC).record((started - waited).as_secs_f64());
            let done = f(&mut conn);
            metrics::histogram!(QUERY_METRIC).record(started.elapsed().as_secs_f64());
            done
        })
        .await?
    }

    /// A write that commits (a counter in `write_probe`), for health checks:
    /// only a commit reaches the disk, so a database that can still be read
    /// but no longer written (disk full, file made read-only) fails here.
    pub async fn probe_write(&self) -> Result<()> {
        self.run(|conn| {
            conn.batch_execute(
                "INSERT INTO write_probe (id, n) VALUES (1, 1) \
                 ON CONFLICT (id) DO UPDATE SET n = write_probe.n + 1",
            )?;
            Ok(())
        })
        .await
    }

    /// A trivial round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        self.run(|conn| {
            conn.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
    }
}

/// Runs `work` in a transaction that holds the database's write lock from its
/// first statement (SQLite `BEGIN IMMEDIATE`; a transaction-scoped advisory
/// lock on PostgreSQL), so that programs opening the same new database at the
/// same moment (server and cleanup, several nodes) migrate it one after the
/// other instead of all at once and failing. The migrations' own transactions
/// become savepoints inside it.
fn exclusively<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T>,
) -> Result<T> {
    type Tm = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let outcome = (|| {
        if let DbConnection::Pg(c) = &mut *conn {
            // Any constant will do, as long as every program uses the same one.
            c.batch_execute("SELECT pg_advisory_xact_lock(7163365812)")?;
        }
        work(&mut *conn)
    })();
    match outcome {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = Tm::rollback_transaction(conn);
            Err(e)
        }
    }
}

fn run_migrations(conn: &mut DbConnection) -> Result<()> {
    let done = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(|e| DomainError::Migration(e.to_string()))?;
    if done > 0 {
        tracing::info!(migrations = done, "database migrations applied");
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct TableSql {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sql: Option<String>,
}

/// The Flask app's `messages` table (SQLAlchemy `db.create_all()`) has no
/// AUTOINCREMENT, so once the cleanup has emptied the room SQLite hands out
/// ids from 1 again, and a page catching up with `after_id` never sees the
/// new messages. Rebuild such a table with AUTOINCREMENT, every row copied as
/// it is (same ids, values and column types); SQLite then never reuses an id.
/// A table made by our migration already has it: nothing to do. It runs
/// after the migrations, so the columns they added (`deleted_at`,
/// `deleted_by`) are there to copy.
fn never_reuse_message_ids(conn: &mut DbConnection) -> Result<()> {
    let DbConnection::Sqlite(c) = conn else {
        return Ok(()); // BIGSERIAL never goes back.
    };
    let table: Vec<TableSql> = diesel::sql_query(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
    )
    .load(c)?;
    let autoincrement = table
        .first()
        .and_then(|t| t.sql.as_deref())
        .is_some_and(|sql| sql.to_ascii_uppercase().contains("AUTOINCREMENT"));
    if autoincrement {
        return Ok(());
    }
    c.batch_execute(
        "CREATE TABLE messages_autoincrement (
             id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
             user_id INTEGER NOT NULL REFERENCES users (id),
             content TEXT NOT NULL,
             message_type VARCHAR(20),
             timestamp DATETIME,
             deleted_at DATETIME,
             deleted_by INTEGER
         );
         INSERT INTO messages_autoincrement
             (id, user_id, content, message_type, timestamp, deleted_at, deleted_by)
             SELECT id, user_id, content, message_type, timestamp, deleted_at, deleted_by
             FROM messages ORDER BY id;
         DROP TABLE messages;
         ALTER TABLE messages_autoincrement RENAME TO messages;
         CREATE INDEX IF NOT EXISTS ix_messages_timestamp ON messages (timestamp);
         CREATE INDEX IF NOT EXISTS ix_messages_user_id ON messages (user_id);
         CREATE INDEX IF NOT EXISTS ix_messages_image_content ON messages (content)
             WHERE message_type = 'image';
         CREATE INDEX IF NOT EXISTS ix_messages_deleted_at ON messages (deleted_at)
             WHERE deleted_at IS NOT NULL;",
    )?;
    tracing::info!("messages table rebuilt with AUTOINCREMENT: ids are never reused");
    Ok(())
}

/// SQLite creates a missing file but not a missing folder; say so clearly.
fn check_sqlite_parent(path: &str) -> Result<()> {
    if path == ":memory:" {
        return Ok(());
    }
    let parent = std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    match parent {
        Some(dir) if !dir.is_dir() => Err(DomainError::Open(format!(
            "the folder {} of the SQLite database {path} does not exist",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// A database URL fit for logs: no password.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("chat_app.db").unwrap().backend,
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///data/chat.db").unwrap().target,
            "/data/chat.db"
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://chat.db").unwrap().target,
            "chat.db"
        );
        let pg = DatabaseUrl::parse("postgres://u:p@localhost/chat").unwrap();
        assert_eq!(pg.backend, Backend::Postgres);
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("mysql://x").is_err());
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
