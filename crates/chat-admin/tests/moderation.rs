//! `chat-admin ban`, `unban`, `reset-password`, `delete-message` on seeded
//! databases (SQLite and PostgreSQL): what changes in the database, what is
//! recorded for running servers, and the refusals. (That a running server
//! applies the recorded actions is tested in chat-server's
//! tests/moderation.rs and, with this binary, in the conformance suite.)

mod common;

use std::io::Write;
use std::process::Stdio;

use chat_domain::moderation::{self, AdminAction};
use chat_domain::{MessageType, NewMessage};
use chat_testkit::{on_both_backends, TestDatabase};
use common::{admin, admin_command, stderr, stdout};
use serde_json::Value;

async fn seed(db: &TestDatabase, names: &[&str]) -> Vec<i32> {
    let accounts = db.accounts();
    let mut ids = Vec::new();
    for name in names {
        ids.push(accounts.register(name, "secret123").await.unwrap().id);
    }
    ids
}

async fn users_json(db: &TestDatabase) -> Vec<Value> {
    let out = admin(&["users", "--json", "--database-url", db.url()]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

async fn events(db: &TestDatabase) -> Vec<moderation::AdminEvent> {
    db.database()
        .run(|conn| moderation::events_since(conn, chrono::DateTime::UNIX_EPOCH.naive_utc(), 100))
        .await
        .unwrap()
}

fn reset_password(db: &TestDatabase, name: &str, stdin: &str) -> std::process::Output {
    let mut child = admin_command()
        .args([
            "reset-password",
            name,
            "--bcrypt-cost",
            "4",
            "--database-url",
            db.url(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

on_both_backends! {
    /// `ban` marks the account and ends its sessions, records the ban for
    /// running servers (once: a second ban changes nothing), and `users`
    /// shows it; `unban` lifts it. An unknown name is an error.
    async fn ban_and_unban(db: TestDatabase) {
        let ids = seed(&db, &["alice", "bob"]).await;
        let out = admin(&["ban", "alice", "--database-url", db.url(), "--admin-users", "root"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("alice is banned"), "{}", stdout(&out));
        let list = users_json(&db).await;
        assert!(list[0]["banned_at"].as_str().is_some(), "{list:?}");
        assert_eq!(list[1]["banned_at"], Value::Null);
        let recorded = events(&db).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            (recorded[0].action, recorded[0].user_id, recorded[0].actor.as_str()),
            (AdminAction::Ban, Some(ids[0]), "root")
        );
        let banned = db.accounts().find(ids[0]).await.unwrap().unwrap();
        assert!(banned.is_banned());

        let out = admin(&["ban", "alice", "--database-url", db.url()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("already"), "{}", stdout(&out));
        assert_eq!(events(&db).await.len(), 1, "a second ban records nothing");

        let out = admin(&["unban", "alice", "--database-url", db.url()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(users_json(&db).await[0]["banned_at"], Value::Null);
        let out = admin(&["unban", "alice", "--database-url", db.url()]);
        assert!(stdout(&out).contains("not banned"), "{}", stdout(&out));

        for cmd in ["ban", "unban"] {
            let out = admin(&[cmd, "Alice", "--database-url", db.url()]);
            assert_eq!(out.status.code(), Some(1), "{cmd}: names are exact");
            assert!(stderr(&out).contains("no account"), "{}", stderr(&out));
        }
    }

    /// `reset-password` reads the password from standard input: the new one
    /// works, the old one does not, the sessions are ended and a reset is
    /// recorded; a password the server would refuse is refused and nothing
    /// changes.
    async fn reset_password_from_standard_input(db: TestDatabase) {
        let ids = seed(&db, &["alice"]).await;
        let out = reset_password(&db, "alice", "a brand new secret\n");
        assert!(out.status.success(), "{}", stderr(&out));
        let accounts = db.accounts();
        assert!(accounts.authenticate("alice", "a brand new secret").await.unwrap().is_some());
        assert!(accounts.authenticate("alice", "secret123").await.unwrap().is_none());
        let recorded = events(&db).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!((recorded[0].action, recorded[0].user_id), (AdminAction::ResetPassword, Some(ids[0])));

        for (bad, says) in [("short\n", "refused"), ("\n", "empty"), ("", "empty")] {
            let out = reset_password(&db, "alice", bad);
            assert_eq!(out.status.code(), Some(1), "{bad:?}");
            assert!(stderr(&out).contains(says), "{}", stderr(&out));
        }
        assert!(accounts.authenticate("alice", "a brand new secret").await.unwrap().is_some());
        assert_eq!(reset_password(&db, "nobody", "whatever123\n").status.code(), Some(1));
        assert_eq!(events(&db).await.len(), 1);
    }

    /// `delete-message` deletes as an admin would: the content erased, the
    /// image file removed, recorded with the deleter's name; an unknown or
    /// already deleted message is an error, and so is no deleter.
    async fn delete_message_as_an_admin(db: TestDatabase) {
        let ids = seed(&db, &["alice", "root"]).await;
        let uploads = tempfile::tempdir().unwrap();
        std::fs::write(uploads.path().join("cat.png"), b"png").unwrap();
        let stored = db
            .database()
            .run(move |conn| {
                let now = chat_domain::timestamps::now();
                let new = |content: &str, kind| NewMessage {
                    user_id: ids[0],
                    username: "alice".into(),
                    content: content.into(),
                    message_type: kind,
                    timestamp: now,
                };
                chat_domain::messages::insert_batch(
                    conn,
                    &[
                        new("/uploads/cat.png", MessageType::Image),
                        new("hello", MessageType::Text),
                        new("/uploads/dog.png", MessageType::Image),
                    ],
                )
            })
            .await
            .unwrap();
        let (image, text, elsewhere) = (stored[0].id, stored[1].id, stored[2].id);
        let dir = uploads.path().to_str().unwrap();
        let out = admin(&["delete-message", &image.to_string(), "--database-url", db.url(), "--upload-dir", dir, "--admin-users", "root"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("cat.png removed"), "{}", stdout(&out));
        assert!(!uploads.path().join("cat.png").exists());
        let recorded = events(&db).await;
        assert_eq!(recorded.len(), 1);
        assert_eq!(
            (recorded[0].action, recorded[0].message_id, recorded[0].actor.as_str()),
            (AdminAction::DeleteMessage, Some(image), "root")
        );
        let deleted = db.database().run(|conn| chat_domain::deletion::deleted_since(conn, None, chrono::DateTime::UNIX_EPOCH.naive_utc())).await.unwrap();
        assert_eq!(deleted.len(), 1);
        assert_eq!((deleted[0].id, deleted[0].username.as_str()), (image, "root"));

        // An image whose file is not in the folder it was told of: deleted,
        // and it says where the file was not found.
        let out = admin(&["delete-message", &elsewhere.to_string(), "--database-url", db.url(), "--upload-dir", dir, "--by", "root"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("dog.png NOT found"), "{}", stdout(&out));
        assert_eq!(events(&db).await.len(), 2);

        let again = admin(&["delete-message", &image.to_string(), "--database-url", db.url(), "--by", "root"]);
        assert_eq!(again.status.code(), Some(1));
        assert!(stderr(&again).contains("不存在"), "{}", stderr(&again));
        let nobody = admin(&["delete-message", &text.to_string(), "--database-url", db.url()]);
        assert_eq!(nobody.status.code(), Some(1));
        assert!(stderr(&nobody).contains("--by"), "{}", stderr(&nobody));
        let unknown = admin(&["delete-message", &text.to_string(), "--database-url", db.url(), "--by", "ghost"]);
        assert_eq!(unknown.status.code(), Some(1));
        assert_eq!(events(&db).await.len(), 2, "refusals record nothing");
    }
}
