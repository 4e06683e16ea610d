//! Recalling and deleting messages (PROTOCOL.md §6) on SQLite and
//! PostgreSQL: who may delete what, what the row keeps, history, the list
//! of deletions, and the image a deleted message leaves unreferenced.

mod common;

use chat_domain::deletion::{self, DeleteError, Deleter};
use chat_domain::messages;
use chat_domain::schema::messages as m;
use chat_domain::{DbConnection, Message, MessageType, NewMessage, Page, User};
use chat_testkit::{on_both_backends, TestDatabase};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

async fn user(db: &TestDatabase, name: &str) -> User {
    db.accounts().register(name, "password1").await.unwrap()
}

fn store(
    conn: &mut DbConnection,
    author: &User,
    content: &str,
    kind: MessageType,
    at: NaiveDateTime,
) -> Message {
    messages::insert(
        conn,
        NewMessage {
            user_id: author.id,
            username: author.username.clone(),
            content: content.to_owned(),
            message_type: kind,
            timestamp: at,
        },
    )
    .unwrap()
}

fn author(u: &User) -> Deleter {
    Deleter {
        user_id: u.id,
        is_admin: false,
    }
}

/// A retention window that holds every message of these tests.
fn long_ago() -> NaiveDateTime {
    common::now() - Duration::days(30)
}

const RECALL: Duration = Duration::seconds(120);

fn shown(conn: &mut DbConnection) -> Vec<i64> {
    messages::page(conn, Page::Latest { limit: 200 }, long_ago())
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

on_both_backends! {
    /// The author within the window (inclusive), not after; nobody else but
    /// an admin; a deleted message cannot be deleted again.
    async fn who_may_delete_what(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let bob = user(&db, "bob").await;
        let mut conn = db.database().conn().unwrap();
        let t0 = common::now() - Duration::minutes(10);
        let a = store(&mut conn, &alice, "a", MessageType::Text, t0).id;
        let b = store(&mut conn, &alice, "b", MessageType::Text, t0).id;
        let c = store(&mut conn, &alice, "c", MessageType::Text, t0).id;

        assert!(matches!(
            deletion::delete(&mut conn, a, author(&bob), t0, RECALL),
            Err(DeleteError::NotYours)
        ));
        assert!(matches!(
            deletion::delete(&mut conn, a, author(&alice), t0 + Duration::seconds(121), RECALL),
            Err(DeleteError::TooLate(120))
        ));
        let d = deletion::delete(&mut conn, a, author(&alice), t0 + RECALL, RECALL).unwrap();
        assert_eq!((d.id, d.orphaned_image), (a, None));
        assert!(matches!(
            deletion::delete(&mut conn, a, author(&alice), t0, RECALL),
            Err(DeleteError::NotFound)
        ));
        assert!(matches!(
            deletion::delete(&mut conn, 999_999, author(&alice), t0, RECALL),
            Err(DeleteError::NotFound)
        ));
        let admin = Deleter { user_id: bob.id, is_admin: true };
        deletion::delete(&mut conn, b, admin, common::now(), RECALL).unwrap();

        assert_eq!(shown(&mut conn), vec![c]);
        let row: (String, Option<String>, Option<i32>) = m::table
            .find(b)
            .select((m::content, m::message_type, m::deleted_by))
            .first(&mut conn)
            .unwrap();
        assert_eq!(row, (String::new(), None, Some(bob.id)));

        let listed = deletion::deleted_since(&mut conn, None, long_ago()).unwrap();
        let who: Vec<(i64, &str)> = listed.iter().map(|d| (d.id, d.username.as_str())).collect();
        assert_eq!(who, vec![(a, "alice"), (b, "bob")]);
        let later = deletion::deleted_since(&mut conn, Some(t0 + Duration::seconds(1)), long_ago()).unwrap();
        assert_eq!(later.iter().map(|d| d.id).collect::<Vec<_>>(), vec![a, b]);
        let none = deletion::deleted_since(&mut conn, Some(common::now() + Duration::hours(1)), long_ago()).unwrap();
        assert!(none.is_empty());
        // Outside the retention window: not listed.
        let window = common::now();
        assert!(deletion::deleted_since(&mut conn, None, window).unwrap().is_empty());
    }
}

on_both_backends! {
    /// An image's URL is handed back only when no other (not deleted)
    /// message shows the same file; the cleanup later removes deleted rows
    /// with the rest of their age and finds no image in them.
    async fn images_and_the_cleanup(db: TestDatabase) {
        let alice = user(&db, "alice").await;
        let mut conn = db.database().conn().unwrap();
        let now = common::now();
        let admin = Deleter { user_id: alice.id, is_admin: true };
        let one = store(&mut conn, &alice, "/uploads/one.png", MessageType::Image, now).id;
        let d = deletion::delete(&mut conn, one, admin, now, RECALL).unwrap();
        assert_eq!(d.orphaned_image.as_deref(), Some("/uploads/one.png"));

        let first = store(&mut conn, &alice, "/uploads/two.png", MessageType::Image, now).id;
        let second = store(&mut conn, &alice, "/uploads/two.png", MessageType::Image, now).id;
        assert_eq!(deletion::delete(&mut conn, first, admin, now, RECALL).unwrap().orphaned_image, None);
        assert_eq!(
            deletion::delete(&mut conn, second, admin, now, RECALL).unwrap().orphaned_image.as_deref(),
            Some("/uploads/two.png")
        );

        let removed = messages::delete_older_than(&mut conn, now + Duration::seconds(1), 100).unwrap();
        assert_eq!(removed.deleted, 3);
        assert!(removed.image_urls.is_empty(), "{:?}", removed.image_urls);
        assert!(deletion::deleted_since(&mut conn, None, long_ago()).unwrap().is_empty());
    }
}
