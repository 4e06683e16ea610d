//! `chat-admin copy-db`: SQLite (ours, and a Flask-written chat_app.db) into
//! a fresh PostgreSQL database of the test server (chat-testkit's
//! TestDatabase), with the real binary; then the real server on the copy.

mod common;

use chat_admin::copy::{MessageRow, SessionRow, UserRow};
use chat_domain::schema::{messages, sessions, users};
use chat_domain::{messages as domain_messages, users as domain_users, Database, MessageType};
use chat_domain::{timestamps, NewMessage};
use chat_testkit::{Backend, TestDatabase};
use chrono::NaiveDateTime;
use common::{admin, stderr, stdout};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

fn all_users(db: &Database) -> Vec<UserRow> {
    users::table
        .order(users::id)
        .select(UserRow::as_select())
        .load(&mut *db.conn().unwrap())
        .unwrap()
}

fn all_messages(db: &Database) -> Vec<MessageRow> {
    messages::table
        .order(messages::id)
        .select(MessageRow::as_select())
        .load(&mut *db.conn().unwrap())
        .unwrap()
}

fn all_sessions(db: &Database) -> Vec<SessionRow> {
    sessions::table
        .order(sessions::id)
        .select(SessionRow::as_select())
        .load(&mut *db.conn().unwrap())
        .unwrap()
}

fn count_rows(db: &Database) -> (usize, usize) {
    (all_users(db).len(), all_messages(db).len())
}

fn copy(from: &str, to: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["copy-db", "--from", from, "--to", to];
    args.extend_from_slice(extra);
    admin(&args)
}

/// A SQLite room of ours: 23 accounts, 300 messages (some without a type or
/// a time, as the Flask app could leave them), two sessions, and the newest
/// messages deleted so that SQLite's AUTOINCREMENT is past the largest id.
async fn seeded_sqlite() -> TestDatabase {
    let db = TestDatabase::sqlite();
    let accounts = db.accounts();
    let mut ids = Vec::new();
    for i in 0..23 {
        let user = accounts
            .register(&format!("user{i}"), &format!("password-{i}"))
            .await
            .unwrap();
        ids.push((user.id, user.username));
    }
    let base = timestamps::now() - chrono::Duration::days(2);
    let batch: Vec<NewMessage> = (0..305)
        .map(|i| {
            let (user_id, username) = ids[i % ids.len()].clone();
            NewMessage {
                user_id,
                username,
                content: format!("message {i} — ünïcödé 😀 'quoted' \\ back"),
                message_type: [MessageType::Text, MessageType::Emoji, MessageType::Image][i % 3],
                timestamp: base + chrono::Duration::microseconds(i as i64 * 1_234_567),
            }
        })
        .collect();
    let mut conn = db.conn().unwrap();
    domain_messages::insert_batch(&mut conn, &batch).unwrap();
    conn.batch_execute(
        "UPDATE messages SET message_type = NULL WHERE id = 7;
         UPDATE messages SET timestamp = NULL WHERE id = 8;
         UPDATE users SET created_at = NULL WHERE id = 9;
         UPDATE messages SET content = '', message_type = NULL,
             deleted_at = '2026-01-01 00:00:00', deleted_by = 1 WHERE id = 10;
         DELETE FROM messages WHERE id > 300;
         INSERT INTO sessions (id, data, expiry_date) VALUES
             ('s1', '{\"a\":1}', '2099-01-01 00:00:00.123456'),
             ('s2', '{\"b\":2}', '2000-01-01 00:00:00');",
    )
    .unwrap();
    drop(conn);
    db
}

/// A table's row estimate in PostgreSQL's catalog.
#[derive(QueryableByName)]
struct Analyzed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Float)]
    rows: f32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_into_a_fresh_postgres_database() {
    let source = seeded_sqlite().await;
    let target = tokio::task::spawn_blocking(|| TestDatabase::unopened(Backend::Postgres))
        .await
        .unwrap();
    let from = source.url().to_owned();
    let to = target.url().to_owned();
    // Small batches: several INSERTs per table.
    let out = tokio::task::spawn_blocking(move || {
        copy(&from, &to, &["--batch-size", "7", "--with-sessions"])
    })
    .await
    .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        text.contains("users     23 copied (source 23, target 23, ids 1..=23)"),
        "{text}"
    );
    assert!(
        text.contains("messages  300 copied (source 300, target 300, ids 1..=300)"),
        "{text}"
    );
    assert!(text.contains("sessions  2 copied"), "{text}");
    assert!(
        text.contains("next user id 24, next message id 306"),
        "{text}"
    );
    assert!(
        text.contains("0 mismatch(es); committed in one transaction"),
        "{text}"
    );

    let copied = tokio::task::spawn_blocking(move || {
        let pg = target.reopen();
        // Every row, every column, identical (ids and bcrypt hashes included).
        assert_eq!(all_users(&pg), all_users(&source));
        assert_eq!(all_messages(&pg), all_messages(&source));
        assert_eq!(all_sessions(&pg), all_sessions(&source));
        let user = &all_users(&pg)[8];
        assert_eq!((user.id, user.created_at), (9, None));
        assert!(user.password_hash.starts_with("$2b$"));
        assert_eq!(all_messages(&pg)[6].message_type, None);
        // A deleted message stays deleted (not an empty visible one).
        let deleted = &all_messages(&pg)[9];
        assert_eq!(
            (deleted.deleted_at.is_some(), deleted.deleted_by),
            (true, Some(1))
        );

        // The planner has statistics for the copied tables at once (not
        // after autovacuum's first pass): reltuples is -1 until ANALYZE.
        let mut conn = pg.conn().unwrap();
        let chat_domain::DbConnection::Pg(c) = &mut *conn else {
            panic!("the copy's target is PostgreSQL")
        };
        let analyzed: Vec<(String, f32)> = diesel::sql_query(
            "SELECT relname::text AS name, reltuples AS rows FROM pg_class \
             WHERE relname IN ('users', 'messages') ORDER BY relname",
        )
        .load::<Analyzed>(c)
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.rows))
        .collect();
        assert_eq!(
            analyzed,
            [("messages".to_owned(), 300.0), ("users".to_owned(), 23.0)]
        );

        // The sequences go on past the largest ids: new rows through chat-domain.
        let new_user = domain_users::create(&mut conn, "newcomer", "$2b$04$x").unwrap();
        assert_eq!(new_user.id, 24);
        let message = domain_messages::insert(
            &mut conn,
            NewMessage {
                user_id: new_user.id,
                username: new_user.username.clone(),
                content: "after the move".into(),
                message_type: MessageType::Text,
                timestamp: timestamps::now(),
            },
        )
        .unwrap();
        // 301..305 were handed out by SQLite (then deleted): never again.
        assert_eq!(message.id, 306);
        target
    })
    .await
    .unwrap();
    drop(copied);
}

#[test]
fn a_target_with_rows_is_refused() {
    let source = TestDatabase::sqlite();
    let target = TestDatabase::postgres();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        source
            .accounts()
            .register("alice", "secret123")
            .await
            .unwrap();
        target
            .accounts()
            .register("already", "secret123")
            .await
            .unwrap();
    });
    let out = copy(source.url(), target.url(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("already holds 1 user(s), 0 message(s)") && err.contains("Nothing was copied"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
    let users = all_users(&target);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].username, "already");
}

#[test]
fn a_failure_midway_leaves_nothing() {
    let source = TestDatabase::sqlite();
    // A name PostgreSQL's VARCHAR(80) refuses (SQLite does not check it), on
    // the last account: the earlier ones are inserted first, then rolled back.
    let long = "x".repeat(81);
    source
        .conn()
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO users (id, username, password_hash) VALUES
                 (1, 'a1', 'h'), (2, 'a2', 'h'), (3, '{long}', 'h');
             INSERT INTO messages (user_id, content) VALUES (1, 'hi');"
        ))
        .unwrap();
    let target = TestDatabase::unopened(Backend::Postgres);
    let out = copy(source.url(), target.url(), &["--batch-size", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("copying users (the batch after id 2)")
            && err.contains("Nothing was committed"),
        "{err}"
    );
    let pg = target.reopen();
    assert_eq!(count_rows(&pg), (0, 0), "rolled back");
}

#[test]
fn messages_without_an_author_are_named() {
    let source = TestDatabase::sqlite();
    source
        .conn()
        .unwrap()
        .batch_execute(
            "INSERT INTO users (id, username, password_hash) VALUES (1, 'a1', 'h');
         PRAGMA foreign_keys = OFF;
         INSERT INTO messages (id, user_id, content) VALUES (1, 1, 'ok'), (2, 42, 'orphan');
         PRAGMA foreign_keys = ON;",
        )
        .unwrap();
    let target = TestDatabase::unopened(Backend::Postgres);
    let out = copy(source.url(), target.url(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "1 message(s) of the source name an author that does not exist (first ids: 2)"
        ),
        "{err}"
    );
    assert_eq!(count_rows(&target.reopen()), (0, 0));
}

#[test]
fn wrong_ends_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("chat_app.db");
    let out = copy(
        missing.to_str().unwrap(),
        "postgres://postgres@127.0.0.1:1/x",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(!missing.exists(), "never created");

    let source = TestDatabase::sqlite();
    let out = copy(source.url(), source.url(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--to must be a PostgreSQL URL"),
        "{}",
        stderr(&out)
    );
    let out = copy("postgres://h/db", "postgres://h/db2", &[]);
    assert!(
        stderr(&out).contains("--from must name a SQLite database"),
        "{}",
        stderr(&out)
    );
    let out = admin(&["copy-db", "--from", source.url()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing --to is a usage error"
    );
}

fn flask_time(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

/// The Flask app's own chat_app.db (tests/fixtures/make_flask_db.py), copied
/// as it is: chat-domain adopts it, chat-admin copies it; every account then
/// logs in with its old password on the real server over the PostgreSQL copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flask_database_moves_and_everyone_logs_in() {
    let dir = tempfile::tempdir().unwrap();
    let (flask_db, manifest) = common::flask_database(dir.path());
    let target = tokio::task::spawn_blocking(|| TestDatabase::unopened(Backend::Postgres))
        .await
        .unwrap();
    let from = flask_db.to_str().unwrap().to_owned();
    let to = target.url().to_owned();
    let out = tokio::task::spawn_blocking(move || copy(&from, &to, &[]))
        .await
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("0 mismatch(es); committed"),
        "{}",
        stdout(&out)
    );

    let url = target.url().to_owned();
    let (users, messages) = tokio::task::spawn_blocking(move || {
        let pg = Database::open(&url, &chat_testkit::test_options()).unwrap();
        (all_users(&pg), all_messages(&pg))
    })
    .await
    .unwrap();
    assert_eq!(users.len(), manifest.users.len());
    for (row, flask) in users.iter().zip(&manifest.users) {
        assert_eq!(row.id, flask.id);
        assert_eq!(row.username, flask.username);
        assert_eq!(row.password_hash, flask.password_hash);
        assert_eq!(row.created_at, Some(flask_time(&flask.created_at)));
    }
    // "Bob" and "bob": the older keeps the case-insensitive key (adoption's rule).
    let keys: Vec<Option<&str>> = users.iter().map(|u| u.username_key.as_deref()).collect();
    assert_eq!(keys[1], Some("bob"));
    assert_eq!(keys[2], None);
    assert_eq!(messages.len(), manifest.messages.len());
    for (row, flask) in messages.iter().zip(&manifest.messages) {
        assert_eq!(row.id, flask.id);
        assert_eq!(row.user_id, flask.user_id);
        assert_eq!(row.content, flask.content);
        assert_eq!(row.message_type, flask.message_type);
        assert_eq!(row.timestamp, Some(flask_time(&flask.timestamp)));
    }

    // The real server, in-process, on the copied PostgreSQL database.
    let uploads = dir.path().join("uploads");
    std::fs::create_dir(&uploads).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = <chat_server::Config as clap::Parser>::try_parse_from([
        "chat-server",
        "--host",
        "127.0.0.1",
        "--port",
        &addr.port().to_string(),
        "--database-url",
        target.url(),
        "--upload-dir",
        uploads.to_str().unwrap(),
        "--web-dir",
        dir.path().join("web").to_str().unwrap(),
        "--bcrypt-cost",
        "4",
        "--db-pool-size",
        "2",
    ])
    .unwrap();
    let app = chat_server::build(config)
        .await
        .expect("the server starts on the copy");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chat_server::serve(listener, app, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    for user in &manifest.users {
        let reply = http
            .post(format!("http://{addr}/api/login"))
            .json(&serde_json::json!({"username": user.username, "password": user.password}))
            .send()
            .await
            .unwrap();
        let status = reply.status();
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(status, 200, "login {}: {body}", user.username);
        assert_eq!(body["success"], true);
        assert_eq!(body["user"]["id"], user.id);
    }
    // A new account continues the ids.
    let reply = http
        .post(format!("http://{addr}/api/register"))
        .json(&serde_json::json!({"username": "newcomer", "password": "secret123"}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["user"]["id"], manifest.users.len() + 1);
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
}

/// A time PostgreSQL cannot hold exactly (nanoseconds; TIMESTAMP keeps
/// microseconds) is found by the verification: nothing is committed, the
/// summary names the row, the exit status is 1.
#[test]
fn a_mismatch_rolls_everything_back() {
    let source = TestDatabase::sqlite();
    source
        .conn()
        .unwrap()
        .batch_execute(
            "INSERT INTO users (id, username, password_hash) VALUES (1, 'a1', 'h');
             INSERT INTO messages (id, user_id, content, message_type, timestamp)
                 VALUES (1, 1, 'hi', 'text', '2025-06-26 08:01:02.123456789');",
        )
        .unwrap();
    let target = TestDatabase::unopened(Backend::Postgres);
    let out = copy(source.url(), target.url(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("MISMATCH  messages id 1: differs in timestamp"),
        "{text}"
    );
    assert!(text.contains("rolled back, nothing committed"), "{text}");
    assert!(stderr(&out).contains("did not verify"), "{}", stderr(&out));
    assert_eq!(count_rows(&target.reopen()), (0, 0));
}
