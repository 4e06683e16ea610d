//! Drop-in: `Database::open` on the `chat_app.db` the Flask app wrote adopts
//! it without losing or changing a row, and everybody logs in as before.
//!
//! The database is made by the Flask app's own code (tests/fixtures/make_flask_db.py,
//! Flask-SQLAlchemy `db.create_all()` and Flask-Bcrypt at its default cost 12),
//! run with the project's virtualenv (`scripts/install-deps.sh` makes it).

mod common;

use std::path::{Path, PathBuf};

use chat_domain::messages;
use chat_domain::{Database, DomainError, MessageType, NewMessage, Page, PublicUser};
use chat_testkit::flask::{flask_database, FlaskMessage, Manifest};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::SqliteConnection;

/// The Flask app's database at Flask-Bcrypt's default cost (12), in `dir`.
fn make_flask_database(dir: &Path) -> (PathBuf, Manifest) {
    flask_database(dir, 12)
}

#[derive(QueryableByName, Debug)]
struct DumpRow {
    #[diesel(sql_type = Text)]
    row: String,
}

/// Every row, column by column, with SQLite's own `quote()` (which shows the
/// stored type too: `1` is not `'1'`), read with a plain connection.
fn dump(path: &Path, sql: &str) -> Vec<String> {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).expect("open with sqlite");
    diesel::sql_query(sql)
        .load::<DumpRow>(&mut conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.row)
        .collect()
}

const FLASK_USERS: &str =
    "SELECT quote(id) || '|' || quote(username) || '|' || quote(password_hash) \
     || '|' || quote(created_at) AS row FROM users ORDER BY id";
const FLASK_MESSAGES: &str = "SELECT quote(id) || '|' || quote(user_id) || '|' || quote(content) \
     || '|' || quote(message_type) || '|' || quote(timestamp) AS row FROM messages ORDER BY id";
const EVERYTHING: &str =
    "SELECT 'users|' || quote(id) || '|' || quote(username) || '|' || quote(password_hash) \
     || '|' || quote(created_at) || '|' || quote(username_key) AS row FROM users \
     UNION ALL SELECT 'schema|' || type || '|' || name || '|' || quote(sql) FROM sqlite_master \
     UNION ALL SELECT 'migration|' || version FROM __diesel_schema_migrations \
     ORDER BY row";

fn time(text: &str) -> NaiveDateTime {
    common::at(text)
}

fn open(path: &Path) -> Database {
    Database::open(path.to_str().unwrap(), &common::test_options())
        .unwrap_or_else(|e| panic!("Database::open on the Flask database: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flask_database_is_adopted_without_changing_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = make_flask_database(dir.path());
    let users_before = dump(&path, FLASK_USERS);
    let messages_before = dump(&path, FLASK_MESSAGES);
    assert_eq!(users_before.len(), manifest.users.len());
    assert_eq!(messages_before.len(), manifest.messages.len());

    let db = open(&path);

    assert_eq!(dump(&path, FLASK_USERS), users_before, "users rows changed");
    assert_eq!(
        dump(&path, FLASK_MESSAGES),
        messages_before,
        "messages rows changed"
    );

    // Every user as Flask stored them.
    let mut conn = db.conn().unwrap();
    for u in &manifest.users {
        let user = chat_domain::users::find_by_username(&mut conn, &u.username)
            .unwrap()
            .unwrap_or_else(|| panic!("{} is there", u.username));
        assert_eq!(user.id, u.id);
        assert_eq!(user.password_hash, u.password_hash);
        assert!(
            user.password_hash.starts_with("$2b$12$"),
            "a Flask-Bcrypt hash"
        );
        assert_eq!(user.created_at, Some(time(&u.created_at)), "{}", u.username);
        let public = serde_json::to_value(PublicUser::from(&user)).unwrap();
        assert_eq!(
            public["created_at"].as_str().unwrap(),
            chat_domain::timestamps::to_rfc3339(&time(&u.created_at))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flask_user_logs_in_with_the_old_password() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = make_flask_database(dir.path());
    let db = open(&path);
    let accounts = chat_domain::Accounts::new(db.clone(), common::passwords());

    let mut checks = tokio::task::JoinSet::new();
    for u in &manifest.users {
        let (accounts, name, password, id) = (
            accounts.clone(),
            u.username.clone(),
            u.password.clone(),
            u.id,
        );
        checks.spawn(async move {
            let user = accounts.authenticate(&name, &password).await.unwrap();
            assert_eq!(
                user.map(|u| u.id),
                Some(id),
                "{name} logs in with the old password"
            );
            let wrong = accounts
                .authenticate(&name, &format!("{password}x"))
                .await
                .unwrap();
            assert!(wrong.is_none(), "{name} with a wrong password");
        });
    }
    while let Some(done) = checks.join_next().await {
        done.unwrap();
    }

    // "Bob" and "bob" were two accounts under Flask: both keep working, each
    // with its own password, and neither opens the other.
    let bob_upper = manifest.users.iter().find(|u| u.username == "Bob").unwrap();
    let bob_lower = manifest.users.iter().find(|u| u.username == "bob").unwrap();
    let a = accounts
        .authenticate("Bob", &bob_upper.password)
        .await
        .unwrap()
        .unwrap();
    let b = accounts
        .authenticate("bob", &bob_lower.password)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a.id, b.id);
    assert!(accounts
        .authenticate("Bob", &bob_lower.password)
        .await
        .unwrap()
        .is_none());
    assert!(accounts
        .authenticate("bob", &bob_upper.password)
        .await
        .unwrap()
        .is_none());
    assert!(accounts
        .authenticate("BOB", &bob_upper.password)
        .await
        .unwrap()
        .is_none());

    // New names must differ from every old one case-insensitively.
    for taken in ["BOB", "bOb", "ALICE", "张三", "ΩΜΈΓΑ", "Quote_User"] {
        match accounts.register(taken, "new-password").await {
            Err(DomainError::UsernameTaken) => {}
            other => panic!("registering {taken:?} on the Flask database: {other:?}"),
        }
    }
    // A new name is welcome, and it writes after the old rows.
    let carol = accounts.register("carol", "carol-password").await.unwrap();
    assert!(carol.id > manifest.users.iter().map(|u| u.id).max().unwrap());
    assert!(accounts
        .authenticate("carol", "carol-password")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flask_messages_page_with_their_times() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = make_flask_database(dir.path());
    let db = open(&path);
    let mut conn = db.conn().unwrap();
    let since = common::retention_start();

    let in_window: Vec<&FlaskMessage> = manifest
        .messages
        .iter()
        .filter(|m| time(&m.timestamp) >= since)
        .collect();
    let too_old: Vec<&FlaskMessage> = manifest
        .messages
        .iter()
        .filter(|m| time(&m.timestamp) < since)
        .collect();
    assert!(
        in_window.len() >= 5 && too_old.len() >= 4,
        "the fixture spans the window"
    );

    let page = messages::page(&mut conn, Page::After { id: 0, limit: 200 }, since).unwrap();
    assert_eq!(
        page.len(),
        in_window.len(),
        "exactly the messages of the last 7 days"
    );
    for (got, want) in page.iter().zip(&in_window) {
        assert_eq!(got.id, want.id);
        assert_eq!(got.user_id, want.user_id);
        assert_eq!(got.username, want.username);
        assert_eq!(got.content, want.content);
        assert_eq!(
            Some(got.message_type.as_str()),
            want.message_type.as_deref().or(Some("text"))
        );
        assert_eq!(
            got.timestamp,
            Some(time(&want.timestamp)),
            "message {}",
            want.id
        );
        let json = serde_json::to_value(got).unwrap();
        assert_eq!(
            json["timestamp"].as_str().unwrap(),
            chat_domain::timestamps::to_rfc3339(&time(&want.timestamp))
        );
    }
    let kinds: std::collections::HashSet<&str> =
        page.iter().map(|m| m.message_type.as_str()).collect();
    assert_eq!(kinds.len(), 3, "text, image and emoji: {kinds:?}");

    let latest = messages::page(&mut conn, Page::Latest { limit: 3 }, since).unwrap();
    assert_eq!(
        latest.iter().map(|m| m.id).collect::<Vec<_>>(),
        in_window[in_window.len() - 3..]
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    );
    let before = messages::page(
        &mut conn,
        Page::Before {
            id: latest[0].id,
            limit: 2,
        },
        since,
    )
    .unwrap();
    assert_eq!(
        before.iter().map(|m| m.id).collect::<Vec<_>>(),
        in_window[in_window.len() - 5..in_window.len() - 3]
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
    );

    // What the cleanup would remove: the old messages and their images.
    let old = messages::older_than(&mut conn, since).unwrap();
    assert_eq!(old.deleted, too_old.len());
    let mut images = old.image_urls.clone();
    images.sort();
    let mut expected: Vec<String> = too_old
        .iter()
        .filter(|m| m.message_type.as_deref() == Some("image"))
        .map(|m| m.content.clone())
        .collect();
    expected.sort();
    assert_eq!(images, expected);
    assert!(!expected.is_empty());

    // New messages go after the old ones.
    let max = messages::max_id(&mut conn).unwrap();
    assert_eq!(max, manifest.messages.iter().map(|m| m.id).max().unwrap());
    let alice = &manifest.users[0];
    let new = messages::insert(
        &mut conn,
        NewMessage {
            user_id: alice.id,
            username: alice.username.clone(),
            content: "hello from Rust".into(),
            message_type: MessageType::Text,
            timestamp: common::now(),
        },
    )
    .unwrap();
    assert!(new.id > max);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_an_adopted_database_again_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _manifest) = make_flask_database(dir.path());
    drop(open(&path));
    let after_first = dump(&path, EVERYTHING);
    assert!(after_first.iter().any(|r| r.starts_with("migration|")));
    drop(open(&path));
    assert_eq!(
        dump(&path, EVERYTHING),
        after_first,
        "the second open changed the database"
    );
    let db = open(&path);
    let accounts = chat_domain::Accounts::new(db, common::passwords());
    assert!(matches!(
        accounts.register("BOB", "new-password").await,
        Err(DomainError::UsernameTaken)
    ));
    assert_eq!(dump(&path, EVERYTHING), after_first);
}

/// The Flask schema has no AUTOINCREMENT on `messages`: once the cleanup has
/// emptied the room, SQLite would hand out ids from 1 again, and a page that
/// catches up with `after_id` would never see the new messages. Ids must keep
/// going up on an adopted database too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_keep_going_up_after_the_cleanup_empties_an_adopted_room() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = make_flask_database(dir.path());
    let db = open(&path);
    let mut conn = db.conn().unwrap();
    let last_seen = messages::max_id(&mut conn).unwrap();
    while messages::delete_older_than(&mut conn, common::now() + chrono::Duration::days(1), 100)
        .unwrap()
        .deleted
        > 0
    {}
    assert_eq!(messages::max_id(&mut conn).unwrap(), 0, "the room is empty");
    drop(conn);
    drop(db);
    let db = open(&path); // a restart, as after a nightly cleanup
    let mut conn = db.conn().unwrap();
    let alice = &manifest.users[0];
    let new = messages::insert(
        &mut conn,
        NewMessage {
            user_id: alice.id,
            username: alice.username.clone(),
            content: "after the cleanup".into(),
            message_type: MessageType::Text,
            timestamp: common::now(),
        },
    )
    .unwrap();
    assert!(
        new.id > last_seen,
        "new message id {} after the cleanup, but a page has already seen id {last_seen}",
        new.id
    );
    let caught_up = messages::page(
        &mut conn,
        Page::After {
            id: last_seen,
            limit: 50,
        },
        common::retention_start(),
    )
    .unwrap();
    assert_eq!(
        caught_up.len(),
        1,
        "a page catching up after id {last_seen} sees the new message"
    );
}

/// The adopted `messages` table gets the deletion columns too (the rebuild
/// that gives it AUTOINCREMENT keeps them): a Flask-era message can be
/// deleted by an admin, leaves history and is listed as deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flask_message_can_be_deleted_on_an_adopted_database() {
    let dir = tempfile::tempdir().unwrap();
    let (path, manifest) = make_flask_database(dir.path());
    let db = open(&path);
    let columns = dump(
        &path,
        "SELECT name AS row FROM pragma_table_info('messages') ORDER BY cid",
    );
    assert!(
        columns.iter().any(|c| c == "deleted_at") && columns.iter().any(|c| c == "deleted_by"),
        "{columns:?}"
    );
    let mut conn = db.conn().unwrap();
    let id = messages::max_id(&mut conn).unwrap();
    let admin = manifest.users[0].id;
    let now = common::now();
    let by = chat_domain::Deleter {
        user_id: admin,
        is_admin: true,
    };
    let deleted =
        chat_domain::deletion::delete(&mut conn, id, by, now, chrono::Duration::seconds(120))
            .unwrap();
    assert_eq!(deleted.id, id);
    let shown = messages::page(
        &mut conn,
        Page::Latest { limit: 10_000 },
        NaiveDateTime::MIN,
    )
    .unwrap();
    assert!(shown.iter().all(|m| m.id != id));
    let listed = chat_domain::deletion::deleted_since(&mut conn, None, NaiveDateTime::MIN).unwrap();
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![id]);
    drop(conn);
    // Opening it again changes nothing more.
    drop(db);
    let db = open(&path);
    let mut conn = db.conn().unwrap();
    let listed = chat_domain::deletion::deleted_since(&mut conn, None, NaiveDateTime::MIN).unwrap();
    assert_eq!(listed.len(), 1);
}
