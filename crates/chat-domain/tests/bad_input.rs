//! Bad input is refused with the right reason, stores nothing, and never
//! reaches the database as SQL: overlong names, 73-byte passwords, SQL
//! metacharacters, empty and whitespace-only strings. On SQLite and PostgreSQL.

mod common;

use chat_domain::messages;
use chat_domain::schema::users;
use chat_domain::{DomainError, MessageType, NewMessage, Page, ValidationError};
use chat_testkit::{on_both_backends, TestDatabase};
use diesel::prelude::*;

fn user_count(db: &TestDatabase) -> i64 {
    let mut conn = db.conn().unwrap();
    users::table.count().get_result(&mut *conn).unwrap()
}

#[track_caller]
fn assert_refused(
    result: chat_domain::error::Result<chat_domain::User>,
    reason: ValidationError,
    what: &str,
) {
    match result {
        Err(DomainError::Invalid(got)) => assert_eq!(got, reason, "{what}"),
        other => panic!("{what}: expected {reason:?}, got {other:?}"),
    }
}

on_both_backends! {
    worker_threads = 4;

    /// Names are 2 to 20 characters after trimming; longer ones (even past
    /// the column's 80) are refused, not cut.
    async fn overlong_and_too_short_names_are_refused(db: TestDatabase) {
        let accounts = db.accounts();
        for name in [
            "x".repeat(21),
            "字".repeat(21),
            "y".repeat(81),
            "z".repeat(10_000),
            "a".to_owned(),
            "字".to_owned(),
            " b ".to_owned(),
        ] {
            let what = format!("a name of {} characters", name.trim().chars().count());
            assert_refused(accounts.register(&name, "password1").await, ValidationError::UsernameLength, &what);
        }
        assert_eq!(user_count(&db), 0, "nothing stored");
        // The bounds themselves are fine, and so is padding around them.
        accounts.register(&"x".repeat(20), "password1").await.unwrap();
        accounts.register(&"字".repeat(20), "password1").await.unwrap();
        accounts.register(&format!("  {}  ", "w".repeat(20)), "password1").await.unwrap();
        accounts.register("ab", "password1").await.unwrap();
        assert_eq!(user_count(&db), 4);
    }

    /// Passwords are 6 to 72 bytes: 73 bytes is refused, not truncated,
    /// counting bytes rather than characters.
    async fn passwords_past_72_bytes_or_under_6_are_refused(db: TestDatabase) {
        let accounts = db.accounts();
        for (password, what) in [
            ("a".repeat(73), "73 ASCII bytes"),
            (format!("{}é", "a".repeat(71)), "72 characters, 73 bytes"),
            ("密".repeat(25), "25 CJK characters, 75 bytes"),
            ("🔑".repeat(19), "19 emoji, 76 bytes"),
            ("b".repeat(100_000), "100 000 bytes"),
            ("12345".to_owned(), "5 bytes"),
        ] {
            assert_refused(accounts.register("alice", &password).await, ValidationError::PasswordLength, what);
        }
        assert_eq!(user_count(&db), 0, "nothing stored");
        accounts.register("alice", &"a".repeat(72)).await.unwrap();
        accounts.register("bob", &"🔑".repeat(18)).await.unwrap(); // 72 bytes
        accounts.register("carol", "密码").await.unwrap(); // 2 characters, 6 bytes
        assert!(accounts.authenticate("carol", "密码").await.unwrap().is_some());
    }

    /// Empty and white-space-only names and passwords are refused with the
    /// reason the page shows; at login they are simply wrong.
    async fn empty_and_blank_strings_are_refused(db: TestDatabase) {
        let accounts = db.accounts();
        for name in ["", " ", "   ", "\t\n", "\u{3000}\u{3000}", "\u{a0}\u{a0}\u{a0}"] {
            assert_refused(accounts.register(name, "password1").await, ValidationError::Missing, &format!("name {name:?}"));
        }
        assert_refused(accounts.register("alice", "").await, ValidationError::Missing, "empty password");
        for password in ["      ", "\t\t\t\t\t\t", "\u{3000}\u{3000}", " \n \r\n \t "] {
            assert_refused(
                accounts.register("alice", password).await,
                ValidationError::PasswordBlank,
                &format!("password {password:?}"),
            );
        }
        assert_eq!(user_count(&db), 0, "nothing stored");

        accounts.register("alice", "  pass with spaces  ").await.unwrap();
        for (name, password) in [("", "password1"), ("   ", "password1"), ("alice", ""), ("alice", "      ")] {
            let got = accounts.authenticate(name, password).await.unwrap();
            assert!(got.is_none(), "login {name:?}/{password:?}");
        }
        // A password is not trimmed: its spaces are part of it.
        assert!(accounts.authenticate("alice", "  pass with spaces  ").await.unwrap().is_some());
        assert!(accounts.authenticate("alice", "pass with spaces").await.unwrap().is_none());
    }

    /// Names are letters, digits, `_` and `-`: quotes, semicolons, spaces,
    /// control and invisible characters are refused.
    async fn names_with_sql_or_invisible_characters_are_refused(db: TestDatabase) {
        let accounts = db.accounts();
        for name in [
            "alice'--", "a';DROP TABLE--", "x\"y", "a%", "a b", "a\0b", "<script>",
            "ali\u{200B}ce", "bob\u{202E}", "a\\b", "a/b", "😀😀", "a.b", "a,b", "a\tb",
        ] {
            assert_refused(
                accounts.register(name, "password1").await,
                ValidationError::UsernameCharacters,
                &format!("name {name:?}"),
            );
        }
        assert_eq!(user_count(&db), 0, "nothing stored");
    }

    /// SQL in what may contain it (passwords, and names at login) is data:
    /// it logs in only as itself and breaks nothing.
    async fn sql_metacharacters_are_only_data(db: TestDatabase) {
        let accounts = db.accounts();
        let passwords = [
            "'; DROP TABLE users; --",
            "\" OR \"\"=\"",
            "' OR '1'='1",
            "%_\\%\\_",
            "$1; SELECT pg_sleep(10)",
        ];
        for (i, password) in passwords.iter().enumerate() {
            accounts.register(&format!("user{i}"), password).await.unwrap();
        }
        for (i, password) in passwords.iter().enumerate() {
            assert!(accounts.authenticate(&format!("user{i}"), password).await.unwrap().is_some());
            assert!(accounts
                .authenticate(&format!("user{i}"), "' OR ''='")
                .await
                .unwrap()
                .is_none());
        }
        for name in ["user0' --", "' OR '1'='1", "user%", "user_", "\" OR 1=1 --", "user0\0"] {
            assert!(accounts.authenticate(name, passwords[0]).await.unwrap().is_none(), "login as {name:?}");
        }
        assert_eq!(user_count(&db), passwords.len() as i64, "the users table is intact");
    }

    /// A message whose content holds a NUL character (valid in JSON) is
    /// stored verbatim or refused with an error, never half-stored.
    async fn a_nul_character_in_content_is_stored_or_refused_cleanly(db: TestDatabase) {
        let alice = db.accounts().register("alice", "password1").await.unwrap();
        let mut conn = db.conn().unwrap();
        let before = messages::max_id(&mut conn).unwrap();
        let result = messages::insert(&mut conn, NewMessage {
            user_id: alice.id,
            username: alice.username.clone(),
            content: "before\0after".into(),
            message_type: MessageType::Text,
            timestamp: common::now(),
        });
        let page = messages::page(&mut conn, Page::Latest { limit: 10 }, common::retention_start()).unwrap();
        match result {
            Ok(stored) => {
                eprintln!("{:?}: NUL stored", db.backend());
                assert_eq!(page, vec![stored]);
                assert_eq!(page[0].content, "before\0after");
            }
            Err(e) => {
                eprintln!("{:?}: NUL refused: {e}", db.backend());
                assert!(page.is_empty());
                assert_eq!(messages::max_id(&mut conn).unwrap(), before);
            }
        }
        // The connection still works afterwards.
        messages::insert(&mut conn, NewMessage {
            user_id: alice.id,
            username: alice.username.clone(),
            content: "fine".into(),
            message_type: MessageType::Text,
            timestamp: common::now(),
        }).unwrap();
    }

    /// Paging with ids far out of range answers, empty or full, without error.
    async fn out_of_range_page_ids_are_harmless(db: TestDatabase) {
        let alice = db.accounts().register("alice", "password1").await.unwrap();
        let mut conn = db.conn().unwrap();
        messages::insert(&mut conn, NewMessage {
            user_id: alice.id,
            username: alice.username.clone(),
            content: "only".into(),
            message_type: MessageType::Text,
            timestamp: common::now(),
        }).unwrap();
        let since = common::retention_start();
        for (page, expected) in [
            (Page::Before { id: i64::MAX, limit: 50 }, 1),
            (Page::Before { id: i64::MIN, limit: 50 }, 0),
            (Page::Before { id: 0, limit: 50 }, 0),
            (Page::After { id: i64::MIN, limit: 50 }, 1),
            (Page::After { id: i64::MAX, limit: 50 }, 0),
            (Page::After { id: -1, limit: 50 }, 1),
            (Page::Latest { limit: i64::MAX }, 1),
        ] {
            let got = messages::page(&mut conn, page, since).unwrap_or_else(|e| panic!("{page:?}: {e}"));
            assert_eq!(got.len(), expected, "{page:?}");
        }
    }
}
