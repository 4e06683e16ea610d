//! PROTOCOL.md §6: admins named by the operator, `delete_message` (recall
//! and admin deletion), `message_deleted`, `GET /api/messages/deleted`, the
//! image file of a deleted message, and the limit on deletions; against the
//! real app on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// How long to listen for an event that must not come.
const QUIET: Duration = Duration::from_millis(600);

async fn history_ids(client: &Client) -> Vec<i64> {
    let r = client.get("/api/messages?limit=200").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

async fn deleted_list(client: &Client, query: &str) -> Vec<Value> {
    let r = client.get(&format!("/api/messages/deleted{query}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["success"], true, "{}", r.text);
    r.json["deleted"].as_array().unwrap().clone()
}

/// Sends a text message and returns its id.
async fn say(sock: &mut Sock, content: &str) -> i64 {
    let ack = sock.send_message(json!({"content": content})).await;
    assert_eq!(ack["success"], true, "{ack}");
    ack["message"]["id"].as_i64().unwrap()
}

fn refused(ack: &Value) -> &str {
    assert_eq!(ack["success"], false, "{ack}");
    ack["error"].as_str().expect("a sentence")
}

on_both_backends! {
    /// `is_admin` in the user of register, login and current_user: true for
    /// an exact name of `--admin-users`, false for everyone else.
    async fn is_admin_follows_the_admin_users_flag(backend: Backend) {
        let server = TestServer::start_with(backend, &["--admin-users", "root,boss"]).await;
        let root = server.client();
        let r = root.try_register("root", PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.json["user"]["is_admin"], true, "{}", r.text);
        assert_user(&r.json["user"], "root");
        assert_eq!(root.get("/api/current_user").await.json["user"]["is_admin"], true);
        assert_eq!(server.client().login("root", PASSWORD).await["is_admin"], true);

        // Exact names: "Boss" is not "boss".
        let other = server.client();
        let r = other.try_register("Boss", PASSWORD).await;
        assert_eq!(r.json["user"]["is_admin"], false, "{}", r.text);
        assert_eq!(other.get("/api/current_user").await.json["user"]["is_admin"], false);
    }
}

on_both_backends! {
    /// The author recalls within the window: `{"success": true}`, everyone
    /// (the author's own sockets too) gets `message_deleted`, the message
    /// leaves every form of history, its row keeps no content, and
    /// `GET /api/messages/deleted` lists it.
    async fn author_recalls_within_the_window(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        let kept = say(&mut a, "kept").await;
        let id = say(&mut a, "oops, wrong room").await;
        b.event_where("new_message", |m| m["id"] == id).await;
        assert_eq!(history_ids(&bob).await, vec![kept, id]);

        let ack = a.call("delete_message", &json!({"id": id})).await;
        assert_eq!(ack, json!({"success": true}));
        for sock in [&mut a, &mut b] {
            let notice = sock.event("message_deleted").await;
            assert_eq!(notice["id"], id, "{notice}");
            assert_eq!(notice["username"], "alice", "{notice}");
            assert_utc_time(&notice["timestamp"]);
        }

        assert_eq!(history_ids(&bob).await, vec![kept]);
        for query in [format!("?after_id={}", kept - 1), format!("?before_id={}", id + 1), "?limit=1".to_owned()] {
            let r = bob.get(&format!("/api/messages{query}")).await;
            let ids: Vec<i64> = r.json["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
            assert_eq!(ids, vec![kept], "{query}");
        }

        // The row keeps only id, author and times.
        let db = server.database().await;
        let row: (String, Option<String>, bool) = db
            .run(move |conn| {
                use chat_domain::schema::messages;
                use diesel::prelude::*;
                Ok(messages::table
                    .find(id)
                    .select((messages::content, messages::message_type, messages::deleted_at.is_not_null()))
                    .first(conn)?)
            })
            .await
            .unwrap();
        assert_eq!(row, (String::new(), None, true));

        let list = deleted_list(&bob, "").await;
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["username"], "alice");
        assert_utc_time(&list[0]["timestamp"]);
        // `since`: deletions at or after it.
        let at = list[0]["timestamp"].as_str().unwrap().to_owned();
        assert_eq!(deleted_list(&bob, &format!("?since={}", at.replace('+', "%2B"))).await.len(), 1);
        assert!(deleted_list(&bob, "?since=2999-01-01T00:00:00Z").await.is_empty());
        assert_eq!(deleted_list(&bob, "?since=2000-01-01T00:00:00%2B08:00").await.len(), 1);
        assert_eq!(bob.get("/api/messages/deleted?since=yesterday").await.status, StatusCode::BAD_REQUEST);
        assert_eq!(server.client().get("/api/messages/deleted").await.status, StatusCode::UNAUTHORIZED);

        // Deleted already: refused, nothing broadcast.
        let ack = a.call("delete_message", &json!({"id": id})).await;
        refused(&ack);
        b.assert_no_event("message_deleted", QUIET).await;
    }
}

on_both_backends! {
    /// After `--recall-seconds` the author is refused; nothing changes.
    async fn recall_after_the_window_is_refused(backend: Backend) {
        let server = TestServer::start_with(backend, &["--recall-seconds", "1"]).await;
        let alice = server.user("alice").await;
        let mut a = alice.socket().await;
        let id = say(&mut a, "too late to take back").await;
        tokio::time::sleep(Duration::from_millis(2200)).await;
        let ack = a.call("delete_message", &json!({"id": id})).await;
        assert!(refused(&ack).contains("1 秒"), "{ack}");
        a.assert_no_event("message_deleted", QUIET).await;
        assert_eq!(history_ids(&alice).await, vec![id]);
        assert!(deleted_list(&alice, "").await.is_empty());
    }
}

on_both_backends! {
    /// Someone else's message: refused to a non-admin; malformed payloads and
    /// unknown ids are refused too (the `error` event without a callback).
    async fn a_non_author_non_admin_cannot_delete(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        let id = say(&mut a, "mine").await;

        let ack = b.call("delete_message", &json!({"id": id})).await;
        refused(&ack);
        for bad in [json!({"id": id.to_string()}), json!({"id": null}), json!({}), json!([id]), json!(id), json!({"id": 1.5})] {
            let ack = b.call("delete_message", &bad).await;
            refused(&ack);
        }
        let ack = b.call("delete_message", &json!({"id": id + 1000})).await;
        refused(&ack);
        b.emit("delete_message", &json!({"id": id}));
        let error = b.event("error").await;
        assert!(error["message"].is_string(), "{error}");
        a.assert_no_event("message_deleted", QUIET).await;
        assert_eq!(history_ids(&alice).await, vec![id]);
    }
}

on_both_backends! {
    /// An admin deletes anyone's message, at any time (past the author's
    /// window too); `username` of `message_deleted` is the admin.
    async fn an_admin_deletes_any_message(backend: Backend) {
        let server = TestServer::start_with(backend, &["--admin-users", "root", "--recall-seconds", "1"]).await;
        let alice = server.user("alice").await;
        let root = server.user("root").await;
        let mut a = alice.socket().await;
        let mut r = root.socket().await;
        let id = say(&mut a, "spam spam spam").await;
        let other = say(&mut a, "fine").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;

        let ack = r.call("delete_message", &json!({"id": id})).await;
        assert_eq!(ack, json!({"success": true}));
        let notice = a.event("message_deleted").await;
        assert_eq!(notice["id"], id);
        assert_eq!(notice["username"], "root");
        assert_eq!(history_ids(&alice).await, vec![other]);
        let list = deleted_list(&alice, "").await;
        assert_eq!(list.len(), 1);
        assert_eq!((&list[0]["id"], &list[0]["username"]), (&json!(id), &json!("root")));
    }
}

on_both_backends! {
    /// A recalled image's file is removed (the URL answers 404), unless
    /// another message still shows the same file.
    async fn a_recalled_image_file_is_removed_unless_shown_elsewhere(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut a = alice.socket().await;

        // Shown once: gone with its message.
        let url = alice.upload_png().await;
        let ack = a.send_message(json!({"content": url, "message_type": "image"})).await;
        let id = ack["message"]["id"].as_i64().unwrap();
        assert_eq!(alice.get(&url).await.status, StatusCode::OK);
        let ack = a.call("delete_message", &json!({"id": id})).await;
        assert_eq!(ack, json!({"success": true}));
        a.event("message_deleted").await;
        assert_eq!(alice.get(&url).await.status, StatusCode::NOT_FOUND);
        let name = url.trim_start_matches("/uploads/");
        assert!(!server.upload_dir().join(name).exists());

        // Shown twice: kept until the last one goes.
        let url = alice.upload_png().await;
        let first = a.send_message(json!({"content": url, "message_type": "image"})).await["message"]["id"].as_i64().unwrap();
        let second = a.send_message(json!({"content": url, "message_type": "image"})).await["message"]["id"].as_i64().unwrap();
        assert_eq!(a.call("delete_message", &json!({"id": first})).await["success"], true);
        assert_eq!(alice.get(&url).await.status, StatusCode::OK, "the other message still shows it");
        assert_eq!(a.call("delete_message", &json!({"id": second})).await["success"], true);
        assert_eq!(alice.get(&url).await.status, StatusCode::NOT_FOUND);
    }
}

on_both_backends! {
    /// `delete_message` has a budget of its own: an admin may delete more
    /// than the send limit allows sending, and past the delete budget the
    /// ack is a clear refusal.
    async fn deletions_are_limited_by_a_counter_of_their_own(backend: Backend) {
        let server = TestServer::start_with(backend, &["--admin-users", "root"]).await;
        let root = server.user("root").await;
        let mut r = root.socket().await;
        // The send limit (20 in 10 s) spent first: deleting is still allowed.
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(say(&mut r, &format!("spam {i}")).await);
        }
        let over = r.send_message(json!({"content": "one too many"})).await;
        refused(&over);
        for id in &ids {
            let ack = r.call("delete_message", &json!({"id": id})).await;
            assert_eq!(ack, json!({"success": true}), "{id}");
        }
        assert!(history_ids(&root).await.is_empty());
        // Every well-formed attempt counts, unknown ids too.
        let budget = chat_server::limits::DELETE_LIMIT as usize;
        for _ in ids.len()..budget {
            let ack = r.call("delete_message", &json!({"id": 999_999})).await;
            assert!(!refused(&ack).contains("频繁"), "{ack}");
        }
        let ack = r.call("delete_message", &json!({"id": 999_999})).await;
        assert_eq!(refused(&ack), "删除太频繁，请稍后再试");
        assert!(refusals(&server, "deletes").await >= 1);
    }
}
