//! `chat-admin copy-db`: a SQLite room into PostgreSQL, for a cluster.
//!
//! 1. The source is opened with [`Database::open`], as chat-server opens it:
//!    a Flask `chat_app.db` is adopted in place by chat-domain's own
//!    migrations (no second adoption path here). Its rows are then read in
//!    one SQLite read transaction, so the copy and the verification see one
//!    snapshot.
//! 2. The target is opened with [`Database::open`] too: the server's
//!    PostgreSQL migrations create the schema.
//! 3. Everything else runs in one PostgreSQL transaction: the tables are
//!    locked against writers, the target must hold no user and no message,
//!    rows are copied `--batch-size` per INSERT (keyset pages by id, so
//!    memory stays small), the sequences are set past the largest ids, and
//!    the copy is verified (counts, then the first, the last and `--sample`
//!    random rows field by field). Any error or mismatch rolls it all back.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug, Display};
use std::time::{Duration, Instant};

use chat_domain::db::redact;
use chat_domain::schema::{messages, sessions, users};
use chat_domain::{Backend, Database, DatabaseUrl, DbConnection};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel::{PgConnection, SqliteConnection};

use crate::config::CopyDbArgs;
use crate::error::AdminError;

/// A `users` row, every column.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i32,
    pub username: String,
    pub password_hash: String,
    pub created_at: Option<NaiveDateTime>,
    pub username_key: Option<String>,
    /// A ban, and who made it.
    pub banned_at: Option<NaiveDateTime>,
    pub banned_by: Option<i32>,
    pub last_seen_at: Option<NaiveDateTime>,
}

/// A `messages` row, every column.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i64,
    pub user_id: i32,
    pub content: String,
    pub message_type: Option<String>,
    pub timestamp: Option<NaiveDateTime>,
    /// A deleted message keeps its row, with when and by whom.
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<i32>,
}

/// A `sessions` row, every column.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub data: String,
    pub expiry_date: NaiveDateTime,
    pub user_id: Option<i32>,
}

/// What copying and verifying one table needs; one implementation per table
/// (the queries are the same text on both connections, see `table!`).
trait Table {
    const NAME: &'static str;
    type Key: Clone + Ord + Debug + Display;
    type Row: Debug + PartialEq;
    fn key(row: &Self::Row) -> Self::Key;
    /// Up to `limit` source rows after `after`, in key order.
    fn page(
        src: &mut SqliteConnection,
        after: Option<&Self::Key>,
        limit: i64,
    ) -> QueryResult<Vec<Self::Row>>;
    fn insert(pg: &mut PgConnection, rows: &[Self::Row]) -> QueryResult<usize>;
    fn count_source(src: &mut SqliteConnection) -> QueryResult<i64>;
    fn count_target(pg: &mut PgConnection) -> QueryResult<i64>;
    /// The first and the last key, and up to `random` random ones.
    fn sample_keys(src: &mut SqliteConnection, random: i64) -> QueryResult<BTreeSet<Self::Key>>;
    fn load_source(src: &mut SqliteConnection, keys: &[Self::Key]) -> QueryResult<Vec<Self::Row>>;
    fn load_target(pg: &mut PgConnection, keys: &[Self::Key]) -> QueryResult<Vec<Self::Row>>;
    /// The names of the columns that differ.
    fn differences(a: &Self::Row, b: &Self::Row) -> Vec<&'static str>;
}

macro_rules! table {
    ($marker:ident, $name:literal, $table:ident, $key:ty, $row:ty, [$($field:ident),+]) => {
        struct $marker;

        impl Table for $marker {
            const NAME: &'static str = $name;
            type Key = $key;
            type Row = $row;

            fn key(row: &$row) -> $key {
                row.id.clone()
            }

            fn page(
                src: &mut SqliteConnection,
                after: Option<&$key>,
                limit: i64,
            ) -> QueryResult<Vec<$row>> {
                let query = $table::table
                    .select(<$row>::as_select())
                    .order($table::id.asc())
                    .limit(limit)
                    .into_boxed();
                match after {
                    Some(k) => query.filter($table::id.gt(k.clone())).load(src),
                    None => query.load(src),
                }
            }

            fn insert(pg: &mut PgConnection, rows: &[$row]) -> QueryResult<usize> {
                diesel::insert_into($table::table).values(rows).execute(pg)
            }

            fn count_source(src: &mut SqliteConnection) -> QueryResult<i64> {
                $table::table.count().get_result(src)
            }

            fn count_target(pg: &mut PgConnection) -> QueryResult<i64> {
                $table::table.count().get_result(pg)
            }

            fn sample_keys(
                src: &mut SqliteConnection,
                random: i64,
            ) -> QueryResult<BTreeSet<$key>> {
                let mut keys = BTreeSet::new();
                let first: Option<$key> = $table::table
                    .select($table::id)
                    .order($table::id.asc())
                    .first(src)
                    .optional()?;
                let last: Option<$key> = $table::table
                    .select($table::id)
                    .order($table::id.desc())
                    .first(src)
                    .optional()?;
                let ends = [first, last];
                keys.extend(ends.into_iter().flatten());
                if random > 0 {
                    let picked: Vec<$key> = $table::table
                        .select($table::id)
                        .order(diesel::dsl::sql::<BigInt>("RANDOM()"))
                        .limit(random)
                        .load(src)?;
                    keys.extend(picked);
                }
                Ok(keys)
            }

            fn load_source(src: &mut SqliteConnection, keys: &[$key]) -> QueryResult<Vec<$row>> {
                let mut rows = Vec::with_capacity(keys.len());
                // Bounded IN lists: SQLite's limit of bound parameters.
                for chunk in keys.chunks(500) {
                    rows.extend(
                        $table::table
                            .filter($table::id.eq_any(chunk.to_vec()))
                            .select(<$row>::as_select())
                            .load(src)?,
                    );
                }
                Ok(rows)
            }

            fn load_target(pg: &mut PgConnection, keys: &[$key]) -> QueryResult<Vec<$row>> {
                $table::table
                    .filter($table::id.eq_any(keys.to_vec()))
                    .select(<$row>::as_select())
                    .load(pg)
            }

            fn differences(a: &$row, b: &$row) -> Vec<&'static str> {
                let mut differ = Vec::new();
                $(
                    if a.$field != b.$field {
                        differ.push(stringify!($field));
                    }
                )+
                differ
            }
        }
    };
}

table!(
    Users,
    "users",
    users,
    i32,
    UserRow,
    [
        id,
        username,
        password_hash,
        created_at,
        username_key,
        banned_at,
        banned_by,
        last_seen_at
    ]
);
table!(
    Messages,
    "messages",
    messages,
    i64,
    MessageRow,
    [
        id,
        user_id,
        content,
        message_type,
        timestamp,
        deleted_at,
        deleted_by
    ]
);
table!(
    Sessions,
    "sessions",
    sessions,
    String,
    SessionRow,
    [id, data, expiry_date, user_id]
);

/// What happened to one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableReport {
    pub name: &'static str,
    /// Rows in the source.
    pub source: i64,
    /// Rows inserted.
    pub copied: u64,
    /// Rows in the target after the copy.
    pub target: i64,
    /// Rows compared field by field.
    pub compared: usize,
    /// The smallest and the largest copied key.
    pub first: Option<String>,
    pub last: Option<String>,
}

impl Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<10}{} copied (source {}, target {}",
            self.name, self.copied, self.source, self.target
        )?;
        if let (Some(a), Some(b)) = (&self.first, &self.last) {
            if self.name == "sessions" {
                write!(f, ")")?;
            } else {
                write!(f, ", ids {a}..={b})")?;
            }
        } else {
            write!(f, ")")?;
        }
        write!(f, ", {} compared field by field", self.compared)
    }
}

/// The outcome of a copy, printed on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The source, as given.
    pub from: String,
    /// The target, without its password.
    pub to: String,
    pub users: TableReport,
    pub messages: TableReport,
    /// `None` without --with-sessions.
    pub sessions: Option<TableReport>,
    /// What the sequences hand out next.
    pub next_user_id: i64,
    pub next_message_id: i64,
    /// One line per difference found by the verification.
    pub mismatches: Vec<String>,
    /// True once the transaction is committed.
    pub committed: bool,
    pub elapsed: Duration,
}

impl Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "copy-db {} -> {}", self.from, self.to)?;
        writeln!(f, "{}", self.users)?;
        writeln!(f, "{}", self.messages)?;
        match &self.sessions {
            Some(s) => writeln!(f, "{s}")?,
            None => writeln!(f, "{:<10}not copied (no --with-sessions)", "sessions")?,
        }
        writeln!(
            f,
            "{:<10}next user id {}, next message id {}",
            "sequences", self.next_user_id, self.next_message_id
        )?;
        for m in &self.mismatches {
            writeln!(f, "MISMATCH  {m}")?;
        }
        write!(
            f,
            "{:<10}{} mismatch(es); {} in {:.1} s",
            "verified",
            self.mismatches.len(),
            if self.committed {
                "committed in one transaction"
            } else {
                "rolled back, nothing committed"
            },
            self.elapsed.as_secs_f64()
        )
    }
}

/// Runs `copy-db`. `Ok` only when everything was copied, verified and
/// committed.
pub fn copy_db(args: &CopyDbArgs) -> Result<Summary, AdminError> {
    let started = Instant::now();
    let from = DatabaseUrl::parse(&args.from)?;
    if from.backend != Backend::Sqlite {
        return Err(AdminError::SourceNotSqlite(redact(&args.from)));
    }
    let to = DatabaseUrl::parse(&args.to)?;
    if to.backend != Backend::Postgres {
        return Err(AdminError::TargetNotPostgres(redact(&args.to)));
    }
    tracing::info!(from = %from.target, "opening the source (a Flask database is adopted in place, as chat-server does)");
    let source = crate::open_existing(&args.from)?;
    tracing::info!(to = %redact(&args.to), "opening the target (the server's migrations create the schema)");
    let target: Database = crate::open_existing(&args.to)?;
    let mut src_conn = source.conn()?;
    let mut dst_conn = target.conn()?;
    let DbConnection::Sqlite(src) = &mut *src_conn else {
        return Err(AdminError::WrongBackend("source"));
    };
    let DbConnection::Pg(pg) = &mut *dst_conn else {
        return Err(AdminError::WrongBackend("target"));
    };
    let mut summary = Summary {
        from: args.from.clone(),
        to: redact(&args.to),
        users: TableReport::default(),
        messages: TableReport::default(),
        sessions: None,
        next_user_id: 1,
        next_message_id: 1,
        mismatches: Vec::new(),
        committed: false,
        elapsed: Duration::ZERO,
    };
    // A read transaction on the source (one snapshot), around the write
    // transaction on the target (all or nothing).
    let outcome = src.transaction(|src| {
        pg.transaction(|pg| {
            copy_all(src, pg, args, &mut summary)?;
            summary.elapsed = started.elapsed();
            if summary.mismatches.is_empty() {
                Ok(())
            } else {
                Err(AdminError::Verification(Box::new(summary.clone())))
            }
        })
    });
    outcome?;
    summary.committed = true;
    // A table filled at once has no planner statistics until autovacuum
    // comes by (up to a minute or more): until then PostgreSQL plans the
    // history query over every row (2.4 ms a query against 0.09 ms at
    // 1,800 messages, docs/BENCHMARKS.md). The copy is committed either way.
    if let Err(e) = pg.batch_execute("ANALYZE users, messages, sessions") {
        tracing::warn!(error = %e, "ANALYZE after the copy failed; autovacuum will do it");
    }
    summary.elapsed = started.elapsed();
    tracing::info!(
        users = summary.users.copied,
        messages = summary.messages.copied,
        sessions = summary.sessions.as_ref().map(|s| s.copied),
        "copy committed"
    );
    Ok(summary)
}

fn copy_all(
    src: &mut SqliteConnection,
    pg: &mut PgConnection,
    args: &CopyDbArgs,
    summary: &mut Summary,
) -> Result<(), AdminError> {
    // Writers (a node started too early) wait for the copy; readers do not.
    pg.batch_execute(
        "SET LOCAL lock_timeout = '30s'; \
         LOCK TABLE users, messages, sessions IN EXCLUSIVE MODE",
    )?;
    refuse_non_empty(pg, args.with_sessions)?;
    refuse_orphan_messages(src)?;

    let batch = i64::from(args.batch_size);
    summary.users = copy_table::<Users>(src, pg, batch)?;
    summary.messages = copy_table::<Messages>(src, pg, batch)?;
    if args.with_sessions {
        summary.sessions = Some(copy_table::<Sessions>(src, pg, batch)?);
    }

    let (next_user, next_message) = set_sequences(src, pg)?;
    summary.next_user_id = next_user;
    summary.next_message_id = next_message;

    let sample = i64::from(args.sample);
    verify::<Users>(src, pg, sample, &mut summary.users, &mut summary.mismatches)?;
    verify::<Messages>(
        src,
        pg,
        sample,
        &mut summary.messages,
        &mut summary.mismatches,
    )?;
    if let Some(report) = summary.sessions.as_mut() {
        verify::<Sessions>(src, pg, sample, report, &mut summary.mismatches)?;
    }
    Ok(())
}

fn refuse_non_empty(pg: &mut PgConnection, with_sessions: bool) -> Result<(), AdminError> {
    let users = Users::count_target(pg)?;
    let messages = Messages::count_target(pg)?;
    let sessions = if with_sessions {
        Sessions::count_target(pg)?
    } else {
        0
    };
    if users > 0 || messages > 0 || sessions > 0 {
        return Err(AdminError::TargetNotEmpty {
            users,
            messages,
            sessions: if with_sessions {
                format!(", {sessions} session(s)")
            } else {
                String::new()
            },
        });
    }
    Ok(())
}

/// The Flask app did not enforce `messages.user_id`; PostgreSQL does.
fn refuse_orphan_messages(src: &mut SqliteConnection) -> Result<(), AdminError> {
    let orphans = messages::table.filter(diesel::dsl::not(diesel::dsl::exists(
        users::table.filter(users::id.eq(messages::user_id)),
    )));
    let count: i64 = orphans.count().get_result(src)?;
    if count == 0 {
        return Ok(());
    }
    let ids: Vec<i64> = orphans
        .select(messages::id)
        .order(messages::id.asc())
        .limit(10)
        .load(src)?;
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    Err(AdminError::OrphanMessages {
        count,
        ids: ids.join(", "),
    })
}

fn copy_table<T: Table>(
    src: &mut SqliteConnection,
    pg: &mut PgConnection,
    batch: i64,
) -> Result<TableReport, AdminError> {
    let mut report = TableReport {
        name: T::NAME,
        source: T::count_source(src)?,
        ..TableReport::default()
    };
    tracing::info!(table = T::NAME, rows = report.source, "copying");
    let mut after: Option<T::Key> = None;
    let mut batches = 0u64;
    let context = |after: &Option<T::Key>, source| AdminError::Copy {
        table: T::NAME,
        after: after
            .as_ref()
            .map_or_else(|| "the start".to_owned(), |k| format!("id {k}")),
        source,
    };
    loop {
        let rows = T::page(src, after.as_ref(), batch).map_err(|e| context(&after, e))?;
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            break;
        };
        if report.first.is_none() {
            report.first = Some(T::key(first).to_string());
        }
        let last = T::key(last);
        let inserted = T::insert(pg, &rows).map_err(|e| context(&after, e))?;
        report.copied += inserted as u64;
        report.last = Some(last.to_string());
        after = Some(last);
        batches += 1;
        if batches.is_multiple_of(50) {
            tracing::info!(
                table = T::NAME,
                copied = report.copied,
                of = report.source,
                "copying"
            );
        }
    }
    Ok(report)
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = Nullable<BigInt>)]
    seq: Option<i64>,
}

/// Sets both sequences past the largest id (for messages also past the
/// largest id SQLite's AUTOINCREMENT ever gave, so that an id deleted by the
/// cleanup is not handed out again). Returns the next ids.
fn set_sequences(
    src: &mut SqliteConnection,
    pg: &mut PgConnection,
) -> Result<(i64, i64), AdminError> {
    let max_user: Option<i32> = users::table.select(diesel::dsl::max(users::id)).first(pg)?;
    let max_message: Option<i64> = messages::table
        .select(diesel::dsl::max(messages::id))
        .first(pg)?;
    // The adoption made `messages` AUTOINCREMENT, so sqlite_sequence exists.
    let given: Option<i64> =
        diesel::sql_query("SELECT MAX(seq) AS seq FROM sqlite_sequence WHERE name = 'messages'")
            .load::<Seq>(src)?
            .into_iter()
            .next()
            .and_then(|s| s.seq);
    let next_user = i64::from(max_user.unwrap_or(0)) + 1;
    let next_message = max_message.unwrap_or(0).max(given.unwrap_or(0)) + 1;
    for (table, next) in [("users", next_user), ("messages", next_message)] {
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1, false)"
        ))
        .bind::<BigInt, _>(next)
        .execute(pg)?;
    }
    tracing::info!(next_user, next_message, "sequences set");
    Ok((next_user, next_message))
}

fn verify<T: Table>(
    src: &mut SqliteConnection,
    pg: &mut PgConnection,
    random: i64,
    report: &mut TableReport,
    mismatches: &mut Vec<String>,
) -> Result<(), AdminError> {
    report.target = T::count_target(pg)?;
    let counted = u64::try_from(report.source).ok() == Some(report.copied);
    if !counted || report.target != report.source {
        mismatches.push(format!(
            "{}: {} in the source, {} copied, {} in the target",
            T::NAME,
            report.source,
            report.copied,
            report.target
        ));
    }
    let keys: Vec<T::Key> = T::sample_keys(src, random)?.into_iter().collect();
    let by_key = |rows: Vec<T::Row>| -> BTreeMap<T::Key, T::Row> {
        rows.into_iter().map(|r| (T::key(&r), r)).collect()
    };
    let source = by_key(T::load_source(src, &keys)?);
    let target = by_key(T::load_target(pg, &keys)?);
    for key in &keys {
        match (source.get(key), target.get(key)) {
            (Some(a), Some(b)) => {
                let differ = T::differences(a, b);
                if !differ.is_empty() {
                    // The columns only, never the values (password hashes).
                    tracing::error!(table = T::NAME, id = %key, columns = ?differ, "rows differ");
                    mismatches.push(format!(
                        "{} id {key}: differs in {}",
                        T::NAME,
                        differ.join(", ")
                    ));
                }
            }
            (Some(_), None) => mismatches.push(format!("{} id {key}: not in the target", T::NAME)),
            (None, _) => mismatches.push(format!("{} id {key}: gone from the source", T::NAME)),
        }
    }
    report.compared = keys.len();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i32) -> UserRow {
        UserRow {
            id,
            username: "alice".into(),
            password_hash: "$2b$12$x".into(),
            created_at: None,
            username_key: Some("alice".into()),
            banned_at: None,
            banned_by: None,
            last_seen_at: None,
        }
    }

    #[test]
    fn differences_name_the_columns() {
        let a = user(1);
        let mut b = user(1);
        assert!(Users::differences(&a, &b).is_empty());
        b.password_hash.push('y');
        b.username_key = None;
        assert_eq!(
            Users::differences(&a, &b),
            ["password_hash", "username_key"]
        );
    }

    #[test]
    fn the_summary_says_what_was_done() {
        let summary = Summary {
            from: "chat_app.db".into(),
            to: "postgres://chat:***@db/chat".into(),
            users: TableReport {
                name: "users",
                source: 2,
                copied: 2,
                target: 2,
                compared: 2,
                first: Some("1".into()),
                last: Some("2".into()),
            },
            messages: TableReport {
                name: "messages",
                ..TableReport::default()
            },
            sessions: None,
            next_user_id: 3,
            next_message_id: 1,
            mismatches: vec![],
            committed: true,
            elapsed: Duration::from_millis(1500),
        };
        let text = summary.to_string();
        assert!(
            text.contains("users     2 copied (source 2, target 2, ids 1..=2), 2 compared"),
            "{text}"
        );
        assert!(text.contains("sessions  not copied"), "{text}");
        assert!(text.contains("next user id 3, next message id 1"), "{text}");
        assert!(
            text.ends_with("0 mismatch(es); committed in one transaction in 1.5 s"),
            "{text}"
        );
    }
}
