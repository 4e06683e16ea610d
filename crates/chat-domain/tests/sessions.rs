//! The session store behind the `session` cookie: sessions are kept in the
//! chat database, so a login survives a server restart (PROTOCOL.md §3), on
//! SQLite and PostgreSQL.

mod common;

use chat_domain::schema::sessions;
use chat_domain::{Accounts, DbSessionStore};
use chat_testkit::{on_both_backends, TestDatabase};
use diesel::prelude::*;
use time::{Duration, OffsetDateTime};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

fn record(expires_in: Duration, user: &str) -> Record {
    record_of(7, expires_in, user)
}

fn record_of(user_id: i32, expires_in: Duration, user: &str) -> Record {
    let mut data = std::collections::HashMap::new();
    data.insert("user_id".to_owned(), serde_json::json!(user_id));
    data.insert("username".to_owned(), serde_json::json!(user));
    Record {
        id: Id::default(),
        data,
        expiry_date: OffsetDateTime::now_utc() + expires_in,
    }
}

fn stored_ids(db: &TestDatabase) -> Vec<String> {
    let mut conn = db.conn().unwrap();
    let mut ids: Vec<String> = sessions::table
        .select(sessions::id)
        .load(&mut *conn)
        .unwrap();
    ids.sort();
    ids
}

on_both_backends! {
    worker_threads = 4;

    /// A created session loads back as it was, and a deleted one is gone.
    async fn a_session_is_created_loaded_and_deleted(db: TestDatabase) {
        let store = DbSessionStore::new(db.database());
        let mut rec = record(Duration::days(7), "alice");
        store.create(&mut rec).await.unwrap();
        let loaded = store.load(&rec.id).await.unwrap().expect("the session loads");
        assert_eq!(loaded, rec);
        assert_eq!(stored_ids(&db), [rec.id.to_string()]);

        store.delete(&rec.id).await.unwrap();
        assert!(store.load(&rec.id).await.unwrap().is_none());
        assert!(stored_ids(&db).is_empty());
        // Deleting what is not there is fine.
        store.delete(&rec.id).await.unwrap();
        assert!(store.load(&Id::default()).await.unwrap().is_none());
    }

    /// Saving replaces the data and the expiry; saving an unknown id stores it.
    async fn saving_updates_or_inserts(db: TestDatabase) {
        let store = DbSessionStore::new(db.database());
        let mut rec = record(Duration::hours(1), "alice");
        store.create(&mut rec).await.unwrap();
        rec.data.insert("username".to_owned(), serde_json::json!("alice'); DROP TABLE sessions;--"));
        rec.expiry_date += Duration::days(6);
        store.save(&rec).await.unwrap();
        assert_eq!(store.load(&rec.id).await.unwrap(), Some(rec.clone()));
        assert_eq!(stored_ids(&db).len(), 1, "saved in place, not duplicated");

        let fresh = record(Duration::days(1), "bob");
        store.save(&fresh).await.unwrap();
        assert_eq!(store.load(&fresh.id).await.unwrap(), Some(fresh.clone()));
        assert_eq!(stored_ids(&db).len(), 2);
    }

    /// Creating never overwrites another session: a taken id is replaced by a new one.
    async fn creating_never_overwrites_another_session(db: TestDatabase) {
        let store = DbSessionStore::new(db.database());
        let mut first = record(Duration::days(1), "alice");
        store.create(&mut first).await.unwrap();
        let mut second = record(Duration::days(1), "mallory");
        second.id = first.id;
        store.create(&mut second).await.unwrap();
        assert_ne!(second.id, first.id, "a clashing id is replaced");
        assert_eq!(store.load(&first.id).await.unwrap(), Some(first.clone()));
        assert_eq!(store.load(&second.id).await.unwrap(), Some(second.clone()));
    }

    /// An expired session is not loaded, even while its row is still there.
    async fn an_expired_session_is_not_loaded(db: TestDatabase) {
        let store = DbSessionStore::new(db.database());
        let expired = record(Duration::seconds(-1), "alice");
        store.save(&expired).await.unwrap();
        assert!(store.load(&expired.id).await.unwrap().is_none());
        assert_eq!(stored_ids(&db), [expired.id.to_string()]);

        let long_gone = record(Duration::days(-30), "alice");
        store.save(&long_gone).await.unwrap();
        assert!(store.load(&long_gone.id).await.unwrap().is_none());
    }

    /// `delete_expired` removes the expired rows and only those.
    async fn delete_expired_removes_only_expired_sessions(db: TestDatabase) {
        let store = DbSessionStore::new(db.database());
        let mut live = Vec::new();
        let mut dead = Vec::new();
        for i in 0..5 {
            let r = record(Duration::minutes(10 + i), "live");
            store.save(&r).await.unwrap();
            live.push(r);
            let r = record(Duration::minutes(-10 - i), "dead");
            store.save(&r).await.unwrap();
            dead.push(r);
        }
        store.delete_expired().await.unwrap();
        let mut expected: Vec<String> = live.iter().map(|r| r.id.to_string()).collect();
        expected.sort();
        assert_eq!(stored_ids(&db), expected);
        for r in &live {
            assert_eq!(store.load(&r.id).await.unwrap().as_ref(), Some(r));
        }
        store.delete_expired().await.unwrap();
        assert_eq!(stored_ids(&db).len(), 5, "running it again removes nothing more");
    }

    /// A session outlives the server: a new pool on the same database (what a
    /// restart makes) loads it.
    async fn a_session_survives_a_restart(db: TestDatabase) {
        let mut rec = record(Duration::days(7), "alice");
        {
            let store = DbSessionStore::new(db.database());
            store.create(&mut rec).await.unwrap();
        }
        db.close();
        let reopened = db.reopen();
        let store = DbSessionStore::new(reopened);
        assert_eq!(store.load(&rec.id).await.unwrap(), Some(rec.clone()));
        store.delete(&rec.id).await.unwrap();
        assert!(store.load(&rec.id).await.unwrap().is_none());
    }

    /// The socket handshake's lookup: the account logged in on a live
    /// session; nobody for an expired, anonymous or unknown one.
    async fn a_session_names_its_account(db: TestDatabase) {
        let accounts = Accounts::new(db.database(), common::passwords());
        let alice = accounts.register("alice", "secret1").await.unwrap();
        let bob = accounts.register("bob", "secret2").await.unwrap();
        let store = DbSessionStore::new(db.database());
        let mut of_alice = record_of(alice.id, Duration::days(7), "alice");
        store.create(&mut of_alice).await.unwrap();
        let mut of_bob = record_of(bob.id, Duration::days(7), "bob");
        store.create(&mut of_bob).await.unwrap();
        let found = store.user(&of_alice.id).await.unwrap().expect("alice's session");
        assert_eq!((found.id, found.username.as_str()), (alice.id, "alice"));
        let found = store.user(&of_bob.id).await.unwrap().expect("bob's session");
        assert_eq!(found.id, bob.id);

        let expired = record_of(alice.id, Duration::seconds(-1), "alice");
        store.save(&expired).await.unwrap();
        assert!(store.user(&expired.id).await.unwrap().is_none(), "expired");
        let mut anonymous = record(Duration::days(7), "nobody");
        anonymous.data.clear();
        store.create(&mut anonymous).await.unwrap();
        assert!(store.user(&anonymous.id).await.unwrap().is_none(), "not logged in");
        assert!(store.user(&Id::default()).await.unwrap().is_none(), "unknown id");
    }
}
