//! PROTOCOL.md §6.9 `typing`: `user_typing` to every socket but the typing
//! user's own, one `true` per user per 2 seconds, a `false` only after a
//! `true` (from the client, a sent message or the last socket leaving), and
//! malformed payloads refused with nothing forwarded; on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// How long to listen for an event that must not come.
const QUIET: Duration = Duration::from_millis(600);

on_both_backends! {
    /// Alice (two tabs) types: Bob is told, her own tabs are not; a second
    /// `true` within 2 s is dropped, one after 2 s renews it; `false` goes
    /// once.
    async fn the_others_see_who_is_typing(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a1 = alice.socket().await;
        let mut a2 = alice.socket().await;
        let mut b = bob.socket().await;

        a1.emit("typing", &json!({"typing": true}));
        assert_eq!(b.event("user_typing").await, json!({"username": "alice", "typing": true}));
        a1.emit("typing", &json!({"typing": true}));
        b.assert_no_event("user_typing", QUIET).await;
        a2.assert_no_event("user_typing", Duration::ZERO).await;
        a1.assert_no_event("user_typing", Duration::ZERO).await;

        tokio::time::sleep(Duration::from_millis(1_500)).await;
        a2.emit("typing", &json!({"typing": true}));
        assert_eq!(b.event("user_typing").await, json!({"username": "alice", "typing": true}), "a renewal after 2 s, from any tab");

        a1.emit("typing", &json!({"typing": false}));
        assert_eq!(b.event("user_typing").await, json!({"username": "alice", "typing": false}));
        a1.emit("typing", &json!({"typing": false}));
        b.assert_no_event("user_typing", QUIET).await;
        for sock in [&mut a1, &mut a2] {
            sock.assert_no_event("user_typing", Duration::ZERO).await;
        }
    }
}

on_both_backends! {
    /// The server says `false` for a user who was shown typing and sends a
    /// message, or whose last socket leaves; never for one who was not.
    async fn a_message_or_leaving_ends_typing(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let carol = server.user("carol").await;
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        let mut c = carol.socket().await;

        a.emit("typing", &json!({"typing": true}));
        assert_eq!(b.event("user_typing").await["typing"], true);
        let ack = a.send_message(json!({"content": "hi"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_eq!(b.event("user_typing").await, json!({"username": "alice", "typing": false}));
        // Not shown typing: a message says nothing more.
        let ack = a.send_message(json!({"content": "again"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        b.assert_no_event("user_typing", QUIET).await;

        c.emit("typing", &json!({"typing": true}));
        assert_eq!(b.event("user_typing").await, json!({"username": "carol", "typing": true}));
        c.close().await;
        assert_eq!(b.event("user_typing").await, json!({"username": "carol", "typing": false}));
        b.assert_no_event("user_typing", QUIET).await;
    }
}

on_both_backends! {
    /// A malformed `typing` is refused like any refusal (the `error` event,
    /// or the ack when one was asked for) and forwards nothing.
    async fn malformed_typing_is_refused(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        for bad in [json!({"typing": "yes"}), json!({}), json!("typing"), json!(null)] {
            a.emit("typing", &bad);
            let e = a.event("error").await;
            assert!(e["message"].as_str().unwrap().contains("typing"), "{e}");
        }
        let ack = a.call("typing", &json!({"typing": 1})).await;
        assert_eq!(ack["success"], false, "{ack}");
        b.assert_no_event("user_typing", QUIET).await;
        assert!(metric(&server, "chat_typing_refused_total{reason=\"invalid\"}").await >= 5.0);
    }
}
