//! One throwaway database per test, on SQLite or PostgreSQL.
//!
//! SQLite: a file `chat_app.db` in a temporary folder of its own, removed with
//! the folder. PostgreSQL: a new database `chat_test_<random>` created on the
//! server of `TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]), dropped
//! (`WITH (FORCE)`) when the value is dropped; a failure to drop it is
//! reported on stderr, never a panic in `drop`. No message prints the
//! password of a URL ([`chat_domain::db::redact`]).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_domain::db::redact;
use chat_domain::{Accounts, Backend, Database, DbOptions, Passwords};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// The PostgreSQL server the tests create their databases on, unless
/// `TEST_POSTGRES_URL` names another.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// bcrypt cost of the tests: the lowest bcrypt allows.
pub const TEST_COST: u32 = 4;

/// `TEST_POSTGRES_URL`, or [`DEFAULT_POSTGRES_URL`] when it is unset or blank.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// The same server URL with another database name in its path (the query,
/// e.g. `?sslmode=disable`, is kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{host_part}/{name}?{q}"),
        None => format!("{host_part}/{name}"),
    }
}

fn admin_connection() -> Result<PgConnection, String> {
    let url = postgres_admin_url();
    PgConnection::establish(&url).map_err(|e| {
        format!(
            "PostgreSQL is not reachable at {} ({e}). The PostgreSQL tests need it: start it \
             with scripts/start-services.sh (scripts/test.sh does), or point TEST_POSTGRES_URL \
             at a server where this user may CREATE DATABASE.",
            redact(&url)
        )
    })
}

/// Pool settings of a test database: room for the tests' concurrency.
pub fn test_options() -> DbOptions {
    DbOptions {
        pool_size: 10,
        connect_timeout: Duration::from_secs(30),
        busy_timeout: Duration::from_secs(10),
    }
}

/// Password hashing at the test cost.
pub fn passwords() -> Passwords {
    Passwords::new(TEST_COST).expect("bcrypt at the test cost")
}

/// Where a test database lives.
enum Place {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        name: String,
    },
}

/// A fresh database for one test; dropping it removes the database. Once
/// opened ([`TestDatabase::sqlite`], [`TestDatabase::postgres`],
/// [`TestDatabase::on`], [`TestDatabase::opened`]) it derefs to [`Database`].
pub struct TestDatabase {
    db: Option<Database>,
    backend: Backend,
    url: String,
    place: Place,
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("backend", &self.backend)
            .field("url", &redact(&self.url))
            .field("open", &self.db.is_some())
            .finish()
    }
}

impl TestDatabase {
    /// A new SQLite file in its own temporary folder, opened (so migrated).
    pub fn sqlite() -> Self {
        Self::unopened(Backend::Sqlite).opened()
    }

    /// A new PostgreSQL database `chat_test_<random>` on the test server, opened.
    pub fn postgres() -> Self {
        Self::unopened(Backend::Postgres).opened()
    }

    /// A new database on `backend`, opened.
    pub fn on(backend: Backend) -> Self {
        Self::unopened(backend).opened()
    }

    /// A place for a database that nothing has opened yet: a path where no
    /// SQLite file is yet, or an empty PostgreSQL database (what a server
    /// given this URL migrates). Dropped as usual.
    pub fn unopened(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let path = dir.path().join("chat_app.db");
                let url = path.to_str().expect("utf-8 temp path").to_owned();
                Self {
                    db: None,
                    backend,
                    url,
                    place: Place::Sqlite { _dir: dir, path },
                }
            }
            Backend::Postgres => {
                let name = format!("chat_test_{}", uuid::Uuid::new_v4().simple());
                admin_connection()
                    .unwrap_or_else(|e| panic!("{e}"))
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                Self {
                    db: None,
                    backend,
                    url: with_database(&postgres_admin_url(), &name),
                    place: Place::Postgres { name },
                }
            }
        }
    }

    /// Opens (and so migrates) the database with [`test_options`].
    pub fn opened(self) -> Self {
        self.opened_with(&test_options())
    }

    /// Opens (and so migrates) the database with these pool settings.
    pub fn opened_with(mut self, options: &DbOptions) -> Self {
        let db = Database::open(&self.url, options)
            .unwrap_or_else(|e| panic!("open a fresh database at {}: {e}", redact(&self.url)));
        self.db = Some(db);
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What `Database::open` (or a server's `--database-url`) is given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The SQLite file, for a SQLite database.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.place {
            Place::Sqlite { path, .. } => Some(path),
            Place::Postgres { .. } => None,
        }
    }

    /// A handle on the open database (a clone of the pool).
    pub fn database(&self) -> Database {
        self.db.clone().expect("database is open")
    }

    /// Opens the same database again, as a restarted server would.
    pub fn reopen(&self) -> Database {
        Database::open(&self.url, &test_options()).expect("reopen the database")
    }

    /// Closes the pool held by this fixture (clones elsewhere stay open).
    pub fn close(&mut self) {
        self.db = None;
    }

    /// Register/login over this database, bcrypt at the test cost.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.database(), passwords())
    }
}

impl Deref for TestDatabase {
    type Target = Database;
    fn deref(&self) -> &Database {
        self.db.as_ref().expect("database is open")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        self.db = None;
        if let Place::Postgres { name } = &self.place {
            let dropped = admin_connection().and_then(|mut admin| {
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .map_err(|e| e.to_string())
            });
            if let Err(e) = dropped {
                eprintln!("could not drop the test database {name}: {e}");
            }
        }
        // The SQLite folder goes with its TempDir.
    }
}

/// What a test made by [`on_both_backends!`](crate::on_both_backends) is given.
pub trait OnBackend {
    fn on_backend(backend: Backend) -> Self;
}

impl OnBackend for Backend {
    fn on_backend(backend: Backend) -> Self {
        backend
    }
}

/// A fresh, opened database.
impl OnBackend for TestDatabase {
    fn on_backend(backend: Backend) -> Self {
        TestDatabase::on(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn another_database_on_the_same_server() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/postgres?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
