//! Accounts: registering, logging in, and the rules on names and passwords
//! (PROTOCOL.md §3), on SQLite and PostgreSQL.

mod common;

use std::time::{Duration, Instant};

use chat_domain::users::{self, PublicUser};
use chat_domain::{Accounts, DomainError, Passwords};
use chat_testkit::{on_both_backends, TestDatabase};

fn assert_taken(result: chat_domain::error::Result<chat_domain::User>, name: &str) {
    match result {
        Err(DomainError::UsernameTaken) => {}
        other => panic!("registering {name:?} should be refused as taken, got {other:?}"),
    }
}

on_both_backends! {
    worker_threads = 4;

    /// A registration stores the trimmed name, a bcrypt `$2b$` hash at the
    /// configured cost (never the password) and the creation time.
    async fn registration_stores_a_bcrypt_hash_and_the_creation_time(db: TestDatabase) {
        let accounts = db.accounts();
        let before = common::now();
        let user = accounts.register("  alice ", "correct horse").await.unwrap();
        let after = common::now();

        assert_eq!(user.username, "alice");
        assert!(user.password_hash.starts_with("$2b$04$"), "{}", user.password_hash);
        assert!(!user.password_hash.contains("correct horse"));
        let created = user.created_at.expect("created_at is set");
        assert!(before <= created && created <= after, "{created} not in [{before}, {after}]");

        let mut conn = db.conn().unwrap();
        let stored = users::find_by_username(&mut conn, "alice").unwrap().expect("stored");
        assert_eq!(stored.id, user.id);
        assert_eq!(stored.password_hash, user.password_hash);
        assert_eq!(stored.created_at, user.created_at, "the time read back is the time written");
        let by_id = users::find_by_id(&mut conn, user.id).unwrap().expect("found by id");
        assert_eq!(by_id.username, "alice");
        assert!(users::find_by_id(&mut conn, user.id + 1000).unwrap().is_none());
        assert!(users::find_by_username(&mut conn, "nobody").unwrap().is_none());
        assert_eq!(accounts.find(user.id).await.unwrap().unwrap().username, "alice");
        assert!(accounts.find(-1).await.unwrap().is_none());
    }

    /// The bcrypt cost is what `Passwords::new` was given.
    async fn the_bcrypt_cost_is_configurable(db: TestDatabase) {
        let accounts = Accounts::new(db.database(), Passwords::new(5).unwrap());
        let user = accounts.register("carol", "secret-5").await.unwrap();
        assert!(user.password_hash.starts_with("$2b$05$"), "{}", user.password_hash);
        assert!(accounts.authenticate("carol", "secret-5").await.unwrap().is_some());
    }

    /// The right password logs in; a wrong one, or an unknown name, does not.
    async fn login_needs_the_right_password(db: TestDatabase) {
        let accounts = db.accounts();
        let alice = accounts.register("alice", "s3cret!!").await.unwrap();
        let ok = accounts.authenticate("alice", "s3cret!!").await.unwrap().expect("logs in");
        assert_eq!(ok.id, alice.id);
        assert!(accounts.authenticate("alice", "s3cret!").await.unwrap().is_none());
        assert!(accounts.authenticate("alice", "S3CRET!!").await.unwrap().is_none());
        assert!(accounts.authenticate("alice", "").await.unwrap().is_none());
        assert!(accounts.authenticate("mallory", "s3cret!!").await.unwrap().is_none());
    }

    /// New names must differ case-insensitively: "Alice" blocks "alice" and "ALICE".
    async fn usernames_are_unique_case_insensitively(db: TestDatabase) {
        let accounts = db.accounts();
        accounts.register("Alice", "password1").await.unwrap();
        assert_taken(accounts.register("alice", "password2").await, "alice");
        assert_taken(accounts.register("ALICE", "password2").await, "ALICE");
        assert_taken(accounts.register(" aLiCe ", "password2").await, " aLiCe ");
        assert_taken(accounts.register("Alice", "password2").await, "Alice");
        // The refused attempts changed nothing.
        assert!(accounts.authenticate("Alice", "password1").await.unwrap().is_some());
        assert!(accounts.authenticate("alice", "password2").await.unwrap().is_none());
    }

    /// Case-insensitivity holds in any script: Greek with its final sigma,
    /// Cyrillic, accented Latin, full-width Latin.
    async fn usernames_are_unique_case_insensitively_in_any_script(db: TestDatabase) {
        let accounts = db.accounts();
        for (first, second) in [
            ("ΣΊΣΥΦΟΣ", "σίσυφος"),
            ("Дмитрий", "дМИТРИЙ"),
            ("ÉLODIE", "élodie"),
            ("ＡＢＣ", "ａｂｃ"),
        ] {
            accounts.register(first, "password1").await.unwrap();
            assert_taken(accounts.register(second, "password2").await, second);
            assert!(accounts.authenticate(first, "password1").await.unwrap().is_some());
        }
        // And the other way round: the lower-case name first.
        accounts.register("ωμέγα", "password1").await.unwrap();
        assert_taken(accounts.register("ΩΜΈΓΑ", "password2").await, "ΩΜΈΓΑ");
    }

    /// Names that merely look alike are different names.
    async fn distinct_names_are_not_confused(db: TestDatabase) {
        let accounts = db.accounts();
        for name in ["abc", "a_c", "a-c", "abcd", "ab", "张三", "张三丰", "李四"] {
            accounts.register(name, &format!("password-{name}")).await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for name in ["abc", "a_c", "a-c", "abcd", "ab", "张三", "张三丰", "李四"] {
            let user = accounts.authenticate(name, &format!("password-{name}")).await.unwrap()
                .unwrap_or_else(|| panic!("{name} logs in"));
            assert_eq!(user.username, name);
        }
        // `_` is not a wildcard: "a_c"'s password does not open "abc".
        assert!(accounts.authenticate("abc", "password-a_c").await.unwrap().is_none());
        assert!(accounts.authenticate("a%", "password-abc").await.unwrap().is_none());
    }

    /// Login matches the exact stored name, not another case of it.
    async fn login_matches_the_exact_stored_name(db: TestDatabase) {
        let accounts = db.accounts();
        accounts.register("Alice", "password1").await.unwrap();
        accounts.register("σίσυφος", "password2").await.unwrap();
        assert!(accounts.authenticate("Alice", "password1").await.unwrap().is_some());
        assert!(accounts.authenticate("alice", "password1").await.unwrap().is_none());
        assert!(accounts.authenticate("ALICE", "password1").await.unwrap().is_none());
        assert!(accounts.authenticate("σίσυφος", "password2").await.unwrap().is_some());
        assert!(accounts.authenticate("ΣΊΣΥΦΟΣ", "password2").await.unwrap().is_none());
        // Surrounding white space is trimmed, as at registration.
        assert!(accounts.authenticate("  Alice\t", "password1").await.unwrap().is_some());
    }

    /// Passwords are compared in full, up to bcrypt's 72 bytes: a 72-byte
    /// password works, and the 73-byte one that starts with it does not.
    async fn passwords_are_never_truncated(db: TestDatabase) {
        let accounts = db.accounts();
        let p72 = "p".repeat(72);
        accounts.register("max72", &p72).await.unwrap();
        assert!(accounts.authenticate("max72", &p72).await.unwrap().is_some());
        let p73 = format!("{p72}q");
        assert!(accounts.authenticate("max72", &p73).await.unwrap().is_none(),
            "a 73-byte password must not match its first 72 bytes");

        // Multi-byte: 24 × "密" is 72 bytes, one more character is 75.
        let cjk = "密".repeat(24);
        accounts.register("cjk72", &cjk).await.unwrap();
        assert!(accounts.authenticate("cjk72", &cjk).await.unwrap().is_some());
        assert!(accounts.authenticate("cjk72", &format!("{cjk}密")).await.unwrap().is_none());
    }

    /// What another user may see of an account: id, name, creation time; no hash.
    async fn the_public_user_hides_the_hash(db: TestDatabase) {
        let user = db.accounts().register("dave", "password1").await.unwrap();
        let json = serde_json::to_value(PublicUser::from(&user)).unwrap();
        let obj = json.as_object().unwrap();
        assert_eq!(obj.len(), 3, "{json}");
        assert_eq!(obj["id"], user.id);
        assert_eq!(obj["username"], "dave");
        let created = obj["created_at"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.contains('T'), "{created}");
        assert_eq!(
            chrono::DateTime::parse_from_rfc3339(created).unwrap().naive_utc(),
            chrono::SubsecRound::trunc_subsecs(user.created_at.unwrap(), 3)
        );
    }
}

/// Hashes made by the Python `bcrypt` package that Flask-Bcrypt uses (`$2b$`)
/// and by older tools (`$2a$`, `$2y$`) verify unchanged.
#[tokio::test]
async fn hashes_written_by_other_bcrypt_implementations_verify() {
    let passwords = common::passwords();
    // python3 -c "import bcrypt; print(bcrypt.hashpw(b'flask-pass', bcrypt.gensalt(4)))"
    let b = "$2b$04$bBIg0YrsBlxA9GZcdLzQR.8OVWFXDJwR3SOma1Y1Q/QqLWD/LJJLa";
    let hash_of = |prefix: &str| format!("{prefix}{}", &b[3..]);
    for prefix in ["$2b", "$2a", "$2y"] {
        let hash = hash_of(prefix);
        assert!(
            passwords
                .verify("flask-pass".into(), Some(hash.clone()))
                .await
                .unwrap(),
            "{hash}"
        );
        assert!(!passwords
            .verify("flask-pasS".into(), Some(hash))
            .await
            .unwrap());
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// An unknown name costs about as much time as a wrong password, so the
/// answer time does not tell which names exist. (Without the decoy
/// verification an unknown name would answer in a database round trip,
/// hundreds of times faster than bcrypt at cost 8.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_name_takes_as_long_as_a_wrong_password() {
    let db = TestDatabase::sqlite();
    let accounts = Accounts::new(db.database(), Passwords::new(8).unwrap());
    accounts.register("known", "the password").await.unwrap();

    let mut known = Vec::new();
    let mut unknown = Vec::new();
    // Warm up the pool and the blocking threads.
    accounts.authenticate("known", "warm up").await.unwrap();
    accounts.authenticate("unknown", "warm up").await.unwrap();
    for _ in 0..7 {
        let t = Instant::now();
        assert!(accounts
            .authenticate("known", "wrong password")
            .await
            .unwrap()
            .is_none());
        known.push(t.elapsed());
        let t = Instant::now();
        assert!(accounts
            .authenticate("unknown", "wrong password")
            .await
            .unwrap()
            .is_none());
        unknown.push(t.elapsed());
    }
    let (known, unknown) = (median(known), median(unknown));
    eprintln!("median wrong password {known:?}, unknown name {unknown:?}");
    assert!(
        unknown * 2 >= known,
        "an unknown name answered in {unknown:?}, a wrong password in {known:?}: \
         the unknown name must cost a bcrypt verification too"
    );
    assert!(
        unknown <= known * 3,
        "unknown {unknown:?} vs known {known:?}"
    );
}
