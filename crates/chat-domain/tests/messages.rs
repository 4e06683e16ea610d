//! Messages: storing, paging through history within the retention window,
//! and deleting by age with the images they reference (PROTOCOL.md §3, §5),
//! on SQLite and PostgreSQL.

mod common;

use chat_domain::messages::{self, DeletedBatch};
use chat_domain::{DbConnection, Message, MessageType, NewMessage, Page, User};
use chat_testkit::{on_both_backends, TestDatabase};
use chrono::{Duration, NaiveDateTime};

async fn user(db: &TestDatabase, name: &str) -> User {
    db.accounts().register(name, "password1").await.unwrap()
}

fn new_message(author: &User, content: &str, kind: MessageType, at: NaiveDateTime) -> NewMessage {
    NewMessage {
        user_id: author.id,
        username: author.username.clone(),
        content: content.to_owned(),
        message_type: kind,
        timestamp: at,
    }
}

fn text(author: &User, content: &str, at: NaiveDateTime) -> NewMessage {
    new_message(author, content, MessageType::Text, at)
}

fn image(author: &User, name: &str, at: NaiveDateTime) -> NewMessage {
    new_message(author, &format!("/uploads/{name}"), MessageType::Image, at)
}

/// Stores `n` recent text messages "m0", "m1", … one millisecond apart.
fn store_recent(conn: &mut DbConnection, author: &User, n: usize) -> Vec<Message> {
    let start = common::now() - Duration::hours(1);
    let batch: Vec<NewMessage> = (0..n)
        .map(|i| {
            text(
                author,
                &format!("m{i}"),
                start + Duration::milliseconds(i as i64),
            )
        })
        .collect();
    messages::insert_batch(conn, &batch).unwrap()
}

/// A row as the Flask app could write it, NULLs included.
fn insert_flask_row(
    conn: &mut DbConnection,
    user_id: i32,
    content: &str,
    kind: Option<&str>,
    at: Option<NaiveDateTime>,
) {
    use chat_domain::schema::messages::dsl as m;
    use diesel::prelude::*;
    diesel::insert_into(m::messages)
        .values((
            m::user_id.eq(user_id),
            m::content.eq(content),
            m::message_type.eq(kind),
            m::timestamp.eq(at),
        ))
        .execute(conn)
        .unwrap();
}

fn ids(page: &[Message]) -> Vec<i64> {
    page.iter().map(|m| m.id).collect()
}

fn contents(page: &[Message]) -> Vec<&str> {
    page.iter().map(|m| m.content.as_str()).collect()
}

on_both_backends! {
    worker_threads = 4;

    /// A stored message comes back with a new id and everything it was given.
    async fn a_stored_message_comes_back_as_it_was_written(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let at = common::at("2099-01-02 03:04:05.678901");
        let stored = messages::insert(&mut conn, text(&alice, "hello", at)).unwrap();
        assert!(stored.id > 0);
        assert_eq!(stored.user_id, alice.id);
        assert_eq!(stored.username, "alice");
        assert_eq!(stored.content, "hello");
        assert_eq!(stored.message_type, "text");
        assert_eq!(stored.timestamp, Some(at));

        let page = messages::page(&mut conn, Page::Latest { limit: 50 }, common::retention_start()).unwrap();
        assert_eq!(page, vec![stored.clone()], "read back exactly, microseconds included");

        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["timestamp"], "2099-01-02T03:04:05.678Z");
        assert_eq!(json["username"], "alice");
        assert_eq!(json["message_type"], "text");
    }

    /// A batch is stored in order, with increasing ids, in one go.
    async fn a_batch_is_stored_in_order(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let bob = user(&db, "bob").await;
        let mut conn = db.conn().unwrap();
        let now = common::now();
        let batch = vec![
            text(&alice, "first", now),
            new_message(&bob, "😀", MessageType::Emoji, now),
            image(&alice, "cat.png", now),
        ];
        let stored = messages::insert_batch(&mut conn, &batch).unwrap();
        assert_eq!(contents(&stored), ["first", "😀", "/uploads/cat.png"]);
        assert!(stored.windows(2).all(|w| w[0].id < w[1].id), "{:?}", ids(&stored));
        assert_eq!(
            stored.iter().map(|m| m.message_type.as_str()).collect::<Vec<_>>(),
            ["text", "emoji", "image"]
        );
        let page = messages::page(&mut conn, Page::Latest { limit: 50 }, common::retention_start()).unwrap();
        assert_eq!(page, stored);
        assert!(messages::insert_batch(&mut conn, &[]).unwrap().is_empty());
    }

    /// A message needs an existing author; a failed batch stores nothing.
    async fn a_batch_is_all_or_nothing(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let ghost = User { id: alice.id + 999, ..alice.clone() };
        let now = common::now();
        let result = messages::insert_batch(&mut conn, &[text(&alice, "kept?", now), text(&ghost, "boo", now)]);
        assert!(result.is_err(), "a message of an unknown user must be refused");
        assert_eq!(messages::max_id(&mut conn).unwrap(), 0, "nothing of the failed batch is stored");
    }

    /// A batch larger than one INSERT statement takes (the writer's largest
    /// is 256) is stored in order too, each message with its own content.
    async fn a_large_batch_is_stored_in_order(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let stored = store_recent(&mut conn, &alice, 450);
        assert_eq!(stored.len(), 450);
        assert!(stored.windows(2).all(|w| w[0].id < w[1].id), "{:?}", ids(&stored));
        assert!(stored.iter().enumerate().all(|(i, m)| m.content == format!("m{i}")));
        let page = messages::page(&mut conn, Page::Latest { limit: 500 }, common::retention_start()).unwrap();
        assert_eq!(page, stored, "what the database holds is what insert_batch returned");
    }

    /// A large batch that fails in its last statement stores nothing either.
    async fn a_large_batch_is_all_or_nothing(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let ghost = User { id: alice.id + 999, ..alice.clone() };
        let now = common::now();
        let mut batch: Vec<NewMessage> = (0..300).map(|i| text(&alice, &format!("m{i}"), now)).collect();
        batch.push(text(&ghost, "boo", now));
        assert!(messages::insert_batch(&mut conn, &batch).is_err());
        assert_eq!(messages::max_id(&mut conn).unwrap(), 0, "nothing of the failed batch is stored");
    }

    /// `Page::Latest` is the newest `limit` messages, oldest first.
    async fn the_latest_page_is_the_newest_messages_oldest_first(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let all = store_recent(&mut conn, &alice, 10);
        let since = common::retention_start();
        let page = messages::page(&mut conn, Page::Latest { limit: 3 }, since).unwrap();
        assert_eq!(contents(&page), ["m7", "m8", "m9"]);
        let page = messages::page(&mut conn, Page::Latest { limit: 50 }, since).unwrap();
        assert_eq!(page, all);
        let page = messages::page(&mut conn, Page::Latest { limit: 1 }, since).unwrap();
        assert_eq!(contents(&page), ["m9"]);
    }

    /// `Page::Before` is the newest `limit` messages with a smaller id, oldest first.
    async fn the_page_before_an_id_ends_just_before_it(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let all = store_recent(&mut conn, &alice, 10);
        let since = common::retention_start();
        let page = messages::page(&mut conn, Page::Before { id: all[5].id, limit: 3 }, since).unwrap();
        assert_eq!(contents(&page), ["m2", "m3", "m4"]);
        let page = messages::page(&mut conn, Page::Before { id: all[2].id, limit: 50 }, since).unwrap();
        assert_eq!(contents(&page), ["m0", "m1"]);
        let page = messages::page(&mut conn, Page::Before { id: all[0].id, limit: 50 }, since).unwrap();
        assert!(page.is_empty());
        // An id past the newest: the newest page.
        let page = messages::page(&mut conn, Page::Before { id: all[9].id + 100, limit: 2 }, since).unwrap();
        assert_eq!(contents(&page), ["m8", "m9"]);
    }

    /// `Page::After` is the oldest `limit` messages with a larger id, oldest
    /// first: how a reconnecting page catches up.
    async fn the_page_after_an_id_starts_just_after_it(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let all = store_recent(&mut conn, &alice, 10);
        let since = common::retention_start();
        let page = messages::page(&mut conn, Page::After { id: all[5].id, limit: 3 }, since).unwrap();
        assert_eq!(contents(&page), ["m6", "m7", "m8"]);
        let page = messages::page(&mut conn, Page::After { id: all[7].id, limit: 50 }, since).unwrap();
        assert_eq!(contents(&page), ["m8", "m9"]);
        let page = messages::page(&mut conn, Page::After { id: all[9].id, limit: 50 }, since).unwrap();
        assert!(page.is_empty());
        let page = messages::page(&mut conn, Page::After { id: 0, limit: 4 }, since).unwrap();
        assert_eq!(contents(&page), ["m0", "m1", "m2", "m3"]);
    }

    /// Following `Before` pages back from the latest one visits every message once.
    async fn paging_back_visits_every_message_once(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let all = store_recent(&mut conn, &alice, 23);
        let since = common::retention_start();
        let mut seen: Vec<Message> = Vec::new();
        let mut page = messages::page(&mut conn, Page::Latest { limit: 5 }, since).unwrap();
        while !page.is_empty() {
            assert!(page.len() <= 5);
            let oldest = page[0].id;
            page.extend(seen);
            seen = page;
            page = messages::page(&mut conn, Page::Before { id: oldest, limit: 5 }, since).unwrap();
        }
        assert_eq!(seen, all);
    }

    /// Only messages of the retention window are returned, whatever the page.
    async fn only_the_retention_window_is_returned(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let old = messages::insert_batch(&mut conn, &[
            text(&alice, "eight days old", common::days_ago(8)),
            image(&alice, "old.png", common::days_ago(7) - Duration::seconds(5)),
        ]).unwrap();
        let recent = messages::insert_batch(&mut conn, &[
            text(&alice, "six days old", common::days_ago(6)),
            text(&alice, "just now", common::now()),
        ]).unwrap();
        // A message written with an older timestamp after the recent ones
        // (e.g. a clock step back) is still judged by its time, not its id.
        let late_old = messages::insert(&mut conn, text(&alice, "late but old", common::days_ago(30))).unwrap();

        let since = common::retention_start();
        for page in [
            Page::Latest { limit: 50 },
            Page::Before { id: late_old.id + 1, limit: 50 },
            Page::After { id: 0, limit: 50 },
        ] {
            let got = messages::page(&mut conn, page, since).unwrap();
            assert_eq!(got, recent, "{page:?}");
        }
        // The boundary: exactly `since` is inside the window.
        let at_since = messages::page(&mut conn, Page::After { id: 0, limit: 50 }, old[1].timestamp.unwrap()).unwrap();
        assert_eq!(ids(&at_since), [old[1].id, recent[0].id, recent[1].id]);
        // An empty window.
        let none = messages::page(&mut conn, Page::Latest { limit: 50 }, common::now() + Duration::days(1)).unwrap();
        assert!(none.is_empty());
    }

    /// A limit of 0 is an empty page (the server refuses limits below 1 before asking).
    async fn a_zero_limit_is_an_empty_page(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        store_recent(&mut conn, &alice, 3);
        let since = common::retention_start();
        for page in [Page::Latest { limit: 0 }, Page::Before { id: 100, limit: 0 }, Page::After { id: 0, limit: 0 }] {
            assert!(messages::page(&mut conn, page, since).unwrap().is_empty(), "{page:?}");
        }
    }

    /// `max_id` is the newest id, 0 for an empty room.
    async fn max_id_is_the_newest_id(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        assert_eq!(messages::max_id(&mut conn).unwrap(), 0);
        // A message outside the retention window counts: max_id is about ids.
        let first = messages::insert(&mut conn, text(&alice, "a", common::days_ago(30))).unwrap();
        assert_eq!(messages::max_id(&mut conn).unwrap(), first.id);
        let stored = store_recent(&mut conn, &alice, 4);
        assert_eq!(messages::max_id(&mut conn).unwrap(), stored[3].id);
        // Deleting the oldest does not change it.
        messages::delete_older_than(&mut conn, common::retention_start(), 10).unwrap();
        assert_eq!(messages::max_id(&mut conn).unwrap(), stored[3].id);
    }

    /// Deleting old messages goes in batches of the oldest first, returns the
    /// image URLs of what it deleted, and never touches the retention window.
    async fn old_messages_are_deleted_in_batches_with_their_images(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let base = common::days_ago(10);
        let mut old = Vec::new();
        for i in 0..25i64 {
            let at = base + Duration::minutes(i);
            old.push(if i % 5 == 0 {
                image(&alice, &format!("old{i}.png"), at)
            } else {
                text(&alice, &format!("/uploads/not-an-image-{i}.png"), at)
            });
        }
        let old = messages::insert_batch(&mut conn, &old).unwrap();
        let recent = messages::insert_batch(&mut conn, &[
            image(&alice, "recent.png", common::days_ago(1)),
            text(&alice, "recent text", common::now()),
        ]).unwrap();
        let cutoff = common::retention_start();

        let expected_images: Vec<String> = (0..25).step_by(5).map(|i| format!("/uploads/old{i}.png")).collect();
        let preview = messages::older_than(&mut conn, cutoff).unwrap();
        assert_eq!(preview.deleted, 25);
        let mut preview_images = preview.image_urls.clone();
        preview_images.sort();
        let mut sorted_expected = expected_images.clone();
        sorted_expected.sort();
        assert_eq!(preview_images, sorted_expected, "older_than lists only image messages");
        assert_eq!(messages::older_than(&mut conn, cutoff).unwrap().deleted, 25, "older_than deletes nothing");

        let mut batches = Vec::new();
        loop {
            let batch = messages::delete_older_than(&mut conn, cutoff, 10).unwrap();
            if batch.deleted == 0 {
                assert!(batch.image_urls.is_empty());
                break;
            }
            batches.push(batch);
        }
        assert_eq!(batches.iter().map(|b| b.deleted).collect::<Vec<_>>(), [10, 10, 5]);
        // Oldest first: the first batch holds m0..m9, so old0 and old5.
        let mut first = batches[0].image_urls.clone();
        first.sort();
        assert_eq!(first, ["/uploads/old0.png", "/uploads/old5.png"]);
        let mut all_images: Vec<String> = batches.into_iter().flat_map(|b| b.image_urls).collect();
        all_images.sort();
        assert_eq!(all_images, sorted_expected);

        assert_eq!(messages::older_than(&mut conn, cutoff).unwrap(), DeletedBatch::default());
        let left = messages::page(&mut conn, Page::After { id: 0, limit: 200 }, common::days_ago(365)).unwrap();
        assert_eq!(left, recent);
        assert!(old.iter().all(|m| !left.iter().any(|l| l.id == m.id)));
    }

    /// A batch size below 1 still makes progress, one message at a time.
    async fn a_batch_size_below_one_deletes_one(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        messages::insert_batch(&mut conn, &[
            text(&alice, "a", common::days_ago(9)),
            text(&alice, "b", common::days_ago(8)),
        ]).unwrap();
        let cutoff = common::retention_start();
        assert_eq!(messages::delete_older_than(&mut conn, cutoff, 0).unwrap().deleted, 1);
        assert_eq!(messages::delete_older_than(&mut conn, cutoff, -5).unwrap().deleted, 1);
        assert_eq!(messages::delete_older_than(&mut conn, cutoff, 0).unwrap().deleted, 0);
    }

    /// Ids are never reused, not even after the cleanup emptied the room:
    /// a page catching up with `after_id` must see what comes next.
    async fn ids_are_never_reused_even_after_the_room_was_emptied(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let old = messages::insert_batch(&mut conn, &[
            text(&alice, "a", common::days_ago(9)),
            text(&alice, "b", common::days_ago(8)),
        ]).unwrap();
        let last_seen = old[1].id;
        messages::delete_older_than(&mut conn, common::retention_start(), 100).unwrap();
        assert_eq!(messages::max_id(&mut conn).unwrap(), 0);
        drop(conn);
        db.close();
        let db = db.reopen();
        let mut conn = db.conn().unwrap();
        let new = messages::insert(&mut conn, text(&alice, "c", common::now())).unwrap();
        assert!(new.id > last_seen, "id {} reused after {last_seen}", new.id);
        let caught_up = messages::page(&mut conn, Page::After { id: last_seen, limit: 50 }, common::retention_start()).unwrap();
        assert_eq!(caught_up, vec![new]);
    }

    /// Of some image URLs, the ones a stored image message still shows.
    async fn referenced_images_are_those_still_shown(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let now = common::now();
        messages::insert_batch(&mut conn, &[
            image(&alice, "kept.png", now),
            image(&alice, "kept.png", now),
            image(&alice, "also-kept.gif", common::days_ago(100)),
            // A text message quoting a URL does not keep the image.
            text(&alice, "/uploads/quoted.png", now),
        ]).unwrap();
        let ask: Vec<String> = ["kept.png", "also-kept.gif", "quoted.png", "gone.webp"]
            .iter().map(|n| format!("/uploads/{n}")).collect();
        let found = messages::referenced_images(&mut conn, &ask).unwrap();
        let mut found: Vec<String> = found.into_iter().collect();
        found.sort();
        assert_eq!(found, ["/uploads/also-kept.gif", "/uploads/kept.png"]);
        assert!(messages::referenced_images(&mut conn, &[]).unwrap().is_empty());
    }

    /// Of some image URLs, the ones a message that the cleanup with this
    /// cutoff would keep still shows (what a dry run must not report as freed).
    async fn referenced_images_kept_are_those_of_kept_messages(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let cutoff = common::retention_start();
        messages::insert_batch(&mut conn, &[
            image(&alice, "old-only.png", common::days_ago(9)),
            image(&alice, "old-and-new.png", common::days_ago(9)),
            image(&alice, "old-and-new.png", common::days_ago(1)),
            image(&alice, "new.png", common::now()),
            image(&alice, "at-cutoff.png", cutoff),
            text(&alice, "/uploads/quoted.png", common::now()),
        ]).unwrap();
        insert_flask_row(&mut conn, alice.id, "/uploads/no-time.png", Some("image"), None);
        let ask: Vec<String> = ["old-only.png", "old-and-new.png", "new.png", "at-cutoff.png", "quoted.png", "no-time.png", "never.png"]
            .iter().map(|n| format!("/uploads/{n}")).collect();
        let mut kept: Vec<String> = messages::referenced_images_kept(&mut conn, &ask, cutoff).unwrap().into_iter().collect();
        kept.sort();
        assert_eq!(kept, ["/uploads/at-cutoff.png", "/uploads/new.png", "/uploads/no-time.png", "/uploads/old-and-new.png"]);
        assert!(messages::referenced_images_kept(&mut conn, &[], cutoff).unwrap().is_empty());

        // And it agrees with what the cleanup then leaves behind.
        while messages::delete_older_than(&mut conn, cutoff, 100).unwrap().deleted > 0 {}
        let mut after: Vec<String> = messages::referenced_images(&mut conn, &ask).unwrap().into_iter().collect();
        after.sort();
        assert_eq!(after, kept);
    }

    /// Rows the Flask app may have written with NULL in its nullable columns:
    /// no type reads as "text"; no time is never shown, and never deleted by age.
    async fn flask_rows_with_null_columns_are_read_safely(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        insert_flask_row(&mut conn, alice.id, "typeless", None, Some(common::now()));
        insert_flask_row(&mut conn, alice.id, "timeless", Some("text"), None);
        let page = messages::page(&mut conn, Page::Latest { limit: 50 }, common::retention_start()).unwrap();
        assert_eq!(contents(&page), ["typeless"]);
        assert_eq!(page[0].message_type, "text");
        let removed = messages::delete_older_than(&mut conn, common::now() + Duration::days(1), 100).unwrap();
        assert_eq!(removed.deleted, 1, "only the message with a time is older than anything");
        assert_eq!(messages::older_than(&mut conn, common::now() + Duration::days(1)).unwrap().deleted, 0);
        assert!(messages::max_id(&mut conn).unwrap() > 0, "the timeless row is still there");
    }

    /// Long lists of URLs are asked in chunks (SQLite bounds parameters).
    async fn referenced_images_takes_long_lists(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let now = common::now();
        let batch: Vec<NewMessage> = (0..1200).step_by(100)
            .map(|i| image(&alice, &format!("img{i}.png"), now)).collect();
        messages::insert_batch(&mut conn, &batch).unwrap();
        let ask: Vec<String> = (0..40_000).map(|i| format!("/uploads/img{i}.png")).collect();
        let found = messages::referenced_images(&mut conn, &ask).unwrap();
        assert_eq!(found.len(), 12);
        assert!(found.contains("/uploads/img1100.png"));
    }

    /// Content is stored verbatim: quotes, SQL, wildcards, backslashes,
    /// every script, emoji, 2000 characters.
    async fn content_is_stored_verbatim(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.conn().unwrap();
        let now = common::now();
        let samples = [
            "Robert'); DROP TABLE messages;--".to_owned(),
            "\" OR 1=1 --".to_owned(),
            "100% _wild_ \\ back\\slash \\' \\\"".to_owned(),
            "$1 $$ :name ? ?1 @p".to_owned(),
            "多行\n文本\r\n\ttab".to_owned(),
            "👨‍👩‍👧‍👦 🇨🇳 ΣΊΣΥΦΟΣ العربية".to_owned(),
            "字".repeat(2000),
        ];
        let batch: Vec<NewMessage> = samples.iter().map(|s| text(&alice, s, now)).collect();
        let stored = messages::insert_batch(&mut conn, &batch).unwrap();
        let page = messages::page(&mut conn, Page::Latest { limit: 50 }, common::retention_start()).unwrap();
        assert_eq!(page, stored);
        assert_eq!(page.iter().map(|m| m.content.clone()).collect::<Vec<_>>(), samples);
        // The tables are all still there.
        assert_eq!(messages::max_id(&mut conn).unwrap(), stored.last().unwrap().id);
    }
}
