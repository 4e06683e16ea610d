//! A `tower-sessions` store over the chat database, so that sessions survive a
//! restart and every node of a cluster sees the same ones.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

use crate::db::{Database, DbConnection};
use crate::error::DomainError;
use crate::schema::{sessions, users};
use crate::users::User;

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Database,
}

impl DbSessionStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The account logged in on an unexpired session, in one query: a
    /// reconnect storm makes one round trip a socket instead of two (the
    /// session, then its user).
    pub async fn user(&self, id: &Id) -> Result<Option<User>, DomainError> {
        let id = id.to_string();
        let now = Utc::now().naive_utc();
        self.db
            .run(move |conn| {
                Ok(sessions::table
                    .inner_join(users::table.on(sessions::user_id.eq(users::id.nullable())))
                    .filter(sessions::id.eq(id))
                    .filter(sessions::expiry_date.gt(now))
                    .select(User::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await
    }
}

fn backend(e: DomainError) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn naive_utc(t: time::OffsetDateTime) -> NaiveDateTime {
    DateTime::<Utc>::from_timestamp(t.unix_timestamp(), t.nanosecond())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        .naive_utc()
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = sessions)]
struct SessionRow {
    id: String,
    data: String,
    expiry_date: NaiveDateTime,
    /// Whose session it is, so that a ban or a new password ends them all.
    user_id: Option<i32>,
}

/// The key under which the logged-in user's id is kept in a session; saving
/// copies it to the row's `user_id`, which [`DbSessionStore::user`] joins on.
pub const SESSION_USER_KEY: &str = "user_id";

impl SessionRow {
    fn from_record(record: &Record) -> session_store::Result<Self> {
        Ok(Self {
            id: record.id.to_string(),
            data: serde_json::to_string(record)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?,
            expiry_date: naive_utc(record.expiry_date),
            user_id: record
                .data
                .get(SESSION_USER_KEY)
                .and_then(serde_json::Value::as_i64)
                .and_then(|id| i32::try_from(id).ok()),
        })
    }
}

/// Insert or replace, each backend in its own dialect (the shared connection
/// type has no ON CONFLICT).
fn upsert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<usize> {
    let query = diesel::insert_into(sessions::table).values(row);
    match conn {
        DbConnection::Sqlite(c) => query
            .on_conflict(sessions::id)
            .do_update()
            .set(row)
            .execute(c),
        DbConnection::Pg(c) => query
            .on_conflict(sessions::id)
            .do_update()
            .set(row)
            .execute(c),
    }
}

/// Insert only if the id is new; false when it was taken.
fn insert_new(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<bool> {
    let query = diesel::insert_into(sessions::table).values(row);
    let n = match conn {
        DbConnection::Sqlite(c) => query.on_conflict_do_nothing().execute(c)?,
        DbConnection::Pg(c) => query.on_conflict_do_nothing().execute(c)?,
    };
    Ok(n == 1)
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id is 128 random bits; retry the (practically impossible) clash.
        loop {
            let row = SessionRow::from_record(record)?;
            let inserted = self
                .db
                .run(move |conn| Ok(insert_new(conn, &row)?))
                .await
                .map_err(backend)?;
            if inserted {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = SessionRow::from_record(record)?;
        self.db
            .run(move |conn| Ok(upsert(conn, &row)?))
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let id = id.to_string();
        let now = Utc::now().naive_utc();
        let data: Option<String> = self
            .db
            .run(move |conn| {
                Ok(sessions::table
                    .filter(sessions::id.eq(id))
                    .filter(sessions::expiry_date.gt(now))
                    .select(sessions::data)
                    .first(conn)
                    .optional()?)
            })
            .await
            .map_err(backend)?;
        data.map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(|e| session_store::Error::Decode(e.to_string()))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let id = id.to_string();
        self.db
            .run(move |conn| {
                diesel::delete(sessions::table.find(id)).execute(conn)?;
                Ok(())
            })
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let now = Utc::now().naive_utc();
        let n = self
            .db
            .run(move |conn| {
                Ok(
                    diesel::delete(sessions::table.filter(sessions::expiry_date.le(now)))
                        .execute(conn)?,
                )
            })
            .await
            .map_err(backend)?;
        if n > 0 {
            tracing::debug!(deleted = n, "expired sessions deleted");
        }
        Ok(())
    }
}
