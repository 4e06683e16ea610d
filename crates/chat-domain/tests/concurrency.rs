//! Many writers at once: no message is lost, none fails with `database is
//! locked`, and races between registrations are settled by the database.
//! On SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use chat_domain::messages;
use chat_domain::{Backend, Database, DomainError, MessageType, NewMessage, Page, User};
use chat_testkit::{on_both_backends, TestDatabase};
use chrono::Duration;

const WRITERS: usize = 8;
const MESSAGES_PER_WRITER: usize = 40;

fn message(author: &User, content: String) -> NewMessage {
    NewMessage {
        user_id: author.id,
        username: author.username.clone(),
        content,
        message_type: MessageType::Text,
        timestamp: common::now(),
    }
}

/// Runs `work(i)` on `n` threads released at the same moment; panics with
/// every error seen.
fn all_at_once<T: Send + 'static>(
    n: usize,
    work: impl Fn(usize) -> chat_domain::error::Result<T> + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (work, start) = (work.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(i)
            })
        })
        .collect();
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for h in handles {
        match h.join().expect("writer thread panicked") {
            Ok(v) => out.push(v),
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {n} writers failed: {errors:#?}",
        errors.len()
    );
    out
}

fn all_messages(db: &Database) -> Vec<chat_domain::Message> {
    let mut conn = db.conn().unwrap();
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = messages::page(
            &mut conn,
            Page::After {
                id: after,
                limit: 200,
            },
            common::days_ago(365),
        )
        .unwrap();
        match page.last() {
            Some(last) => after = last.id,
            None => return all,
        }
        all.extend(page);
    }
}

on_both_backends! {
    worker_threads = 4;

    /// Eight writers, each storing its messages one by one on its own
    /// connection: every message is stored once, with its own id.
    async fn eight_concurrent_writers_lose_no_message(db: TestDatabase) {
        let accounts = db.accounts();
        let mut authors = Vec::new();
        for i in 0..WRITERS {
            authors.push(accounts.register(&format!("writer{i}"), "password1").await.unwrap());
        }
        let authors = Arc::new(authors);
        let database = db.database();
        let stored = tokio::task::spawn_blocking(move || {
            all_at_once(WRITERS, move |w| {
                let mut conn = database.conn()?;
                let mut ids = Vec::new();
                for n in 0..MESSAGES_PER_WRITER {
                    let m = messages::insert(&mut conn, message(&authors[w], format!("w{w}-{n}")))?;
                    ids.push(m.id);
                }
                Ok(ids)
            })
        }).await.unwrap();

        let returned: Vec<i64> = stored.iter().flatten().copied().collect();
        let unique: HashSet<i64> = returned.iter().copied().collect();
        assert_eq!(unique.len(), WRITERS * MESSAGES_PER_WRITER, "every insert got its own id");
        for ids in &stored {
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "one writer's ids increase");
        }

        let all = all_messages(&db);
        assert_eq!(all.len(), WRITERS * MESSAGES_PER_WRITER, "no message lost");
        let contents: HashSet<&str> = all.iter().map(|m| m.content.as_str()).collect();
        for w in 0..WRITERS {
            for n in 0..MESSAGES_PER_WRITER {
                assert!(contents.contains(format!("w{w}-{n}").as_str()), "w{w}-{n} is missing");
            }
        }
        assert_eq!(unique, all.iter().map(|m| m.id).collect::<HashSet<_>>());
    }

    /// The same through the async path the server uses (`Database::run`),
    /// with batches, readers and the cleanup running at the same time.
    async fn writers_readers_and_cleanup_run_together(db: TestDatabase) {
        let accounts = db.accounts();
        let author = accounts.register("busy", "password1").await.unwrap();
        // Old messages for the cleanup to delete meanwhile.
        {
            let mut conn = db.conn().unwrap();
            let old: Vec<NewMessage> = (0..300)
                .map(|i| NewMessage { timestamp: common::days_ago(8) + Duration::seconds(i), ..message(&author, format!("old{i}")) })
                .collect();
            messages::insert_batch(&mut conn, &old).unwrap();
        }
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..WRITERS {
            let (database, author) = (db.database(), author.clone());
            tasks.spawn(async move {
                for n in 0..10 {
                    let batch: Vec<NewMessage> = (0..3).map(|k| message(&author, format!("w{w}-{n}-{k}"))).collect();
                    let stored = database.run(move |c| messages::insert_batch(c, &batch)).await?;
                    assert_eq!(stored.len(), 3);
                }
                Ok::<usize, DomainError>(0)
            });
        }
        for _ in 0..2 {
            let database = db.database();
            tasks.spawn(async move {
                for _ in 0..20 {
                    database.run(|c| messages::page(c, Page::Latest { limit: 50 }, common::retention_start())).await?;
                }
                Ok(0)
            });
        }
        let database = db.database();
        tasks.spawn(async move {
            let mut deleted = 0;
            loop {
                let batch = database.run(|c| messages::delete_older_than(c, common::retention_start(), 25)).await?;
                if batch.deleted == 0 {
                    return Ok(deleted);
                }
                deleted += batch.deleted;
            }
        });
        let mut deleted = 0;
        let mut errors = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                Ok(n) => deleted += n,
                Err(e) => errors.push(e.to_string()),
            }
        }
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(deleted, 300, "the cleanup deleted every old message");
        let all = all_messages(&db);
        assert_eq!(all.len(), WRITERS * 10 * 3, "every new message is there, no old one");
        assert!(all.iter().all(|m| m.content.starts_with('w')));
    }

    /// Eight people register the same name in different cases at the same
    /// moment: exactly one gets it, the others are told it is taken.
    async fn racing_registrations_of_one_name_let_exactly_one_win(db: TestDatabase) {
        let accounts = db.accounts();
        let names = ["racer", "Racer", "RACER", "rAcEr", "RaCeR", "raceR", "RACEr", "rACER"];
        let mut tasks = tokio::task::JoinSet::new();
        for name in names {
            let accounts = accounts.clone();
            tasks.spawn(async move { (name, accounts.register(name, "password1").await) });
        }
        let mut winners = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done.unwrap() {
                (name, Ok(_)) => winners.push(name),
                (_, Err(DomainError::UsernameTaken)) => {}
                (name, Err(e)) => panic!("{name}: expected success or UsernameTaken, got {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "{winners:?}");
        assert!(accounts.authenticate(winners[0], "password1").await.unwrap().is_some());
    }
}

on_both_backends! {
    /// Programs starting at the same moment on a database nothing has opened yet
    /// (the server and the cleanup, or several server nodes) all get a working,
    /// migrated database: the migrations run once, not once per program.
    fn simultaneous_opens_of_a_new_database_all_succeed(backend: Backend) {
        let place = TestDatabase::unopened(backend);
        let url = place.url().to_owned();
        let opened = all_at_once(4, move |_| Database::open(&url, &common::test_options()));
        for db in opened {
            let mut conn = db.conn().unwrap();
            assert_eq!(messages::max_id(&mut conn).unwrap(), 0);
        }
        drop(place);
    }
}
