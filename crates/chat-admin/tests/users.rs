//! `chat-admin users` on seeded databases (SQLite and PostgreSQL).

mod common;

use chat_testkit::{on_both_backends, TestDatabase};
use common::{admin, admin_command, stderr, stdout};
use serde_json::Value;

/// Registers accounts through chat-domain, as the server does.
async fn seed(db: &TestDatabase, names: &[&str]) {
    let accounts = db.accounts();
    for name in names {
        accounts.register(name, "secret123").await.unwrap();
    }
}

on_both_backends! {
    /// One line per account, in id order, with the admin flag of --admin-users.
    async fn lists_one_line_per_user(db: TestDatabase) {
        seed(&db, &["alice", "Bob", "张三"]).await;
        let out = admin(&["users", "--database-url", db.url(), "--admin-users", "alice, 张三"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        for (line, (name, id, admin)) in lines
            .iter()
            .zip([("alice", 1, true), ("Bob", 2, false), ("张三", 3, true)])
        {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 6, "{line}");
            assert_eq!(fields[0], name);
            assert_eq!(fields[1], format!("id: {id}"));
            let created = fields[2].strip_prefix("created: ").expect(line);
            assert!(
                chrono::DateTime::parse_from_rfc3339(created).is_ok(),
                "an RFC 3339 time: {line}"
            );
            assert_eq!(fields[3], format!("admin: {admin}"));
            assert_eq!(fields[4], "banned: no");
            assert_eq!(fields[5], "last seen: -", "registered, never logged in or connected");
        }
        // Logs on stderr only: stdout is the list and nothing else.
        assert!(!text.contains("INFO"), "{text}");
    }

    /// --json: an array scripts can read; ADMIN_USERS is read from the environment.
    async fn json_for_scripts(db: TestDatabase) {
        seed(&db, &["alice", "Bob"]).await;
        let out = admin_command()
            .args(["users", "--json", "--database-url", db.url()])
            .env("ADMIN_USERS", "Bob,nobody")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let list: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
        let list = list.as_array().expect("a JSON array");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], 1);
        assert_eq!(list[0]["username"], "alice");
        assert_eq!(list[0]["admin"], false);
        assert_eq!(list[1]["username"], "Bob");
        assert_eq!(list[1]["admin"], true);
        let created = list[1]["created_at"].as_str().expect("created_at is a string");
        assert!(created.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(created).is_ok());
        assert_eq!(
            list[0].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["admin", "banned_at", "created_at", "id", "last_seen_at", "username"]
        );
        assert_eq!(list[0]["banned_at"], Value::Null);
        assert_eq!(list[0]["last_seen_at"], Value::Null);
        assert!(stderr(&out).contains("nobody"), "an unknown admin name is warned about");
    }
}

#[test]
fn no_users_is_an_empty_list() {
    let db = TestDatabase::sqlite();
    let out = admin(&["users", "--json", "--database-url", db.url()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list, Value::Array(vec![]));
    let out = admin(&["users", "--database-url", db.url()]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_missing_database_is_an_error_and_never_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat_app.db");
    let out = admin(&["users", "--database-url", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(!path.exists());
}
