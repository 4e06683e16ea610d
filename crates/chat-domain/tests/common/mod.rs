//! Fixtures shared by the domain tests: a fresh database per test, on SQLite
//! (a file in a temporary folder) or PostgreSQL (a new database, dropped
//! afterwards), and a macro that runs one test body on both backends.
#![allow(dead_code)]

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_domain::{Accounts, Backend, Database, DbOptions, Passwords};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// The PostgreSQL server the tests create their databases on.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// bcrypt cost of the tests: the lowest bcrypt allows.
pub const TEST_COST: u32 = 4;

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// The same server URL with another database name in its path.
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

fn admin_connection() -> PgConnection {
    let url = postgres_admin_url();
    PgConnection::establish(&url).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {} ({e}). The PostgreSQL tests need it: \
             start it with scripts/start-services.sh (scripts/test.sh does), or point \
             TEST_POSTGRES_URL at a server where this user may CREATE DATABASE.",
            chat_domain::db::redact(&url)
        )
    })
}

/// Where a test database lives; dropping it removes the database.
enum Place {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        name: String,
    },
}

/// A fresh, migrated database for one test. Derefs to [`Database`].
pub struct TestDb {
    db: Option<Database>,
    url: String,
    place: Place,
}

pub fn test_options() -> DbOptions {
    DbOptions {
        pool_size: 10,
        connect_timeout: Duration::from_secs(30),
        busy_timeout: Duration::from_secs(10),
    }
}

impl TestDb {
    /// A new SQLite file in its own temporary folder.
    pub fn sqlite() -> Self {
        Self::unopened(Backend::Sqlite).opened()
    }

    /// A new PostgreSQL database `chat_test_<random>` on the test server.
    pub fn postgres() -> Self {
        Self::unopened(Backend::Postgres).opened()
    }

    /// A place for a database that nothing has opened yet: a path where no
    /// SQLite file is yet, or an empty PostgreSQL database. Dropped as usual.
    pub fn unopened(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let path = dir.path().join("chat_app.db");
                let url = path.to_str().expect("utf-8 temp path").to_owned();
                Self {
                    db: None,
                    url,
                    place: Place::Sqlite { _dir: dir, path },
                }
            }
            Backend::Postgres => {
                let name = format!("chat_test_{}", uuid::Uuid::new_v4().simple());
                admin_connection()
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                Self {
                    db: None,
                    url: with_database(&postgres_admin_url(), &name),
                    place: Place::Postgres { name },
                }
            }
        }
    }

    /// Opens (and so migrates) the database with `Database::open`.
    pub fn opened(mut self) -> Self {
        let db = Database::open(&self.url, &test_options())
            .unwrap_or_else(|e| panic!("open a fresh database at {}: {e}", self.url));
        self.db = Some(db);
        self
    }

    pub fn on(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => Self::postgres(),
        }
    }

    /// What `Database::open` was given.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.place {
            Place::Sqlite { path, .. } => Some(path),
            Place::Postgres { .. } => None,
        }
    }

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

impl Deref for TestDb {
    type Target = Database;
    fn deref(&self) -> &Database {
        self.db.as_ref().expect("database is open")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db = None;
        if let Place::Postgres { name } = &self.place {
            let url = postgres_admin_url();
            match PgConnection::establish(&url) {
                Ok(mut admin) => {
                    if let Err(e) =
                        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
                Err(e) => eprintln!("could not drop test database {name}: {e}"),
            }
        }
        // The SQLite folder goes with its TempDir.
    }
}

pub fn passwords() -> Passwords {
    Passwords::new(TEST_COST).expect("bcrypt at the test cost")
}

/// A naive UTC time, written as the Flask app stores them.
pub fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"))
}

pub fn now() -> NaiveDateTime {
    chat_domain::timestamps::now()
}

pub fn days_ago(days: i64) -> NaiveDateTime {
    now() - chrono::Duration::days(days)
}

/// The retention window the server uses: 7 days back from now.
pub fn retention_start() -> NaiveDateTime {
    days_ago(7)
}

/// Runs each test body once on SQLite and once on PostgreSQL:
///
/// ```ignore
/// on_both_backends! {
///     async fn some_rule(db) { /* db: common::TestDb */ }
/// }
/// ```
///
/// makes the tests `some_rule::sqlite` and `some_rule::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($(
        $(#[doc = $doc:expr])*
        async fn $name:ident($db:ident) $body:block
    )*) => {$(
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[allow(unused_mut, unused_variables)]
            async fn body(mut $db: common::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                body(common::TestDb::sqlite()).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                body(common::TestDb::postgres()).await
            }
        }
    )*};
}
