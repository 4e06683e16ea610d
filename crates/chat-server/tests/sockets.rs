//! PROTOCOL.md §4, the Socket.IO events, against the real app on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use chat_testkit::socketio::ConnectOutcome;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// How long to listen for an event that must not come.
const QUIET: Duration = Duration::from_millis(600);

fn online(count: usize, users: &[&str]) -> Value {
    json!({"count": count, "users": users})
}

async fn history(client: &Client) -> Vec<Value> {
    let r = client.get("/api/messages?limit=200").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["messages"].as_array().unwrap().clone()
}

// ---------------------------------------------------------------- connecting

on_both_backends! {
    /// `/metrics` (§6.3) times every handshake, and the waits of the
    /// database work it does: for a blocking thread, a connection, the query.
    async fn a_handshake_and_its_database_reads_are_timed_in_the_metrics(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let timed = [
            "chat_handshake_seconds_count",
            "chat_db_queue_wait_seconds_count",
            "chat_db_pool_wait_seconds_count",
            "chat_db_query_seconds_count",
        ];
        let mut before = Vec::new();
        for name in timed {
            before.push(metric(&server, name).await);
        }
        let _socket = alice.socket().await;
        for (name, before) in timed.into_iter().zip(before) {
            let now = metric(&server, name).await;
            // The session and its account are one database call.
            assert!(now >= before + 1.0, "{name}: {before} before, {now} after");
        }
    }
}

on_both_backends! {
    /// A socket without a logged-in session gets `connect_error`
    /// `{"message": "unauthorized"}`: no cookie, an unknown id, a logged-out one.
    async fn handshake_without_a_logged_in_session_is_refused_as_unauthorized(backend: Backend) {
        let server = TestServer::start(backend).await;
        let unauthorized = json!({"message": "unauthorized"});

        let refused = Sock::connect(server.addr, None, None).await.refused();
        assert_eq!(refused, unauthorized);
        let refused = Sock::connect(server.addr, Some("session=not-a-session"), None).await.refused();
        assert_eq!(refused, unauthorized);
        let refused = Sock::connect(server.addr, Some("other=1"), None).await.refused();
        assert_eq!(refused, unauthorized);

        let alice = server.user("alice").await;
        let cookie = alice.cookie_header().unwrap();
        alice.logout().await;
        let refused = Sock::connect(server.addr, Some(&cookie), None).await.refused();
        assert_eq!(refused, unauthorized, "a logged-out session opens no socket");

        // Nobody was announced.
        let mut bob = server.user("bob").await.socket().await;
        assert_eq!(bob.event("online_users").await, online(1, &["bob"]));
    }
}

on_both_backends! {
    /// The same refusal over the polling transport.
    async fn polling_handshake_without_a_session_is_refused_as_unauthorized(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        let open = c.get("/socket.io/?EIO=4&transport=polling").await;
        assert_eq!(open.status, StatusCode::OK, "{}", open.text);
        assert!(open.text.starts_with('0'), "{}", open.text);
        let handshake: Value = serde_json::from_str(&open.text[1..]).unwrap();
        let sid = handshake["sid"].as_str().unwrap();
        assert!(handshake["upgrades"].as_array().unwrap().contains(&json!("websocket")));
        let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let r = c.post_raw(&url, Some("text/plain;charset=UTF-8"), b"40".to_vec()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mut packets = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while packets.is_empty() && tokio::time::Instant::now() < deadline {
            let r = c.get(&url).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            // Engine.IO pings ("2") may come first; they are not the answer.
            packets.extend(r.text.split('\u{1e}').filter(|p| *p != "2").map(str::to_owned));
        }
        assert_eq!(packets.first().map(String::as_str), Some(r#"44{"message":"unauthorized"}"#), "{packets:?}");
    }
}

on_both_backends! {
    /// A logged-in page may connect over polling and gets `online_users` at once.
    async fn polling_handshake_with_the_session_cookie_connects(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let open = alice.get("/socket.io/?EIO=4&transport=polling").await;
        let handshake: Value = serde_json::from_str(&open.text[1..]).unwrap();
        let sid = handshake["sid"].as_str().unwrap();
        let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        alice.post_raw(&url, Some("text/plain;charset=UTF-8"), b"40".to_vec()).await;
        let mut received = String::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while !received.contains("online_users") && tokio::time::Instant::now() < deadline {
            let r = alice.get(&url).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            received.push_str(&r.text);
            received.push('\u{1e}');
        }
        // Engine.IO pings ("2") may come among the packets.
        let packets: Vec<&str> = received.split('\u{1e}').filter(|p| !p.is_empty() && *p != "2").collect();
        assert!(packets[0].starts_with("40{"), "connected: {received}");
        let online_users = packets
            .iter()
            .find(|p| p.starts_with(r#"42["online_users""#))
            .unwrap_or_else(|| panic!("online_users over polling: {received}"));
        let event: Value = serde_json::from_str(&online_users[2..]).unwrap();
        assert_eq!(event[1], online(1, &["alice"]));
    }
}

on_both_backends! {
    /// The usual upgrade from polling to websocket: `2probe`/`3probe`, `5`,
    /// then the socket carries on over the websocket.
    async fn polling_upgrades_to_websocket(backend: Backend) {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let open = alice.get("/socket.io/?EIO=4&transport=polling").await;
        let handshake: Value = serde_json::from_str(&open.text[1..]).unwrap();
        let sid = handshake["sid"].as_str().unwrap().to_owned();
        let url = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        alice.post_raw(&url, Some("text/plain;charset=UTF-8"), b"40".to_vec()).await;
        let mut received = String::new();
        while !received.contains("40{") {
            received.push_str(&alice.get(&url).await.text);
        }

        let mut request = format!("ws://{}/socket.io/?EIO=4&transport=websocket&sid={sid}", server.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert("cookie", alice.cookie_header().unwrap().parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("websocket upgrade");
        ws.send(Message::Text("2probe".into())).await.unwrap();
        let mut next_text = async || loop {
            match tokio::time::timeout(WAIT, ws.next()).await.expect("a frame within 5 s") {
                Some(Ok(Message::Text(t))) if t.as_str() != "2" => return t.as_str().to_owned(),
                Some(Ok(_)) => continue,
                other => panic!("websocket ended: {other:?}"),
            }
        };
        assert_eq!(next_text().await, "3probe");
        ws.send(Message::Text("5".into())).await.unwrap();
        ws.send(Message::Text(r#"420["send_message",{"content":"over the upgraded transport"}]"#.into())).await.unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let frame = tokio::time::timeout_at(deadline, ws.next()).await.expect("the ack within 5 s");
            match frame {
                Some(Ok(Message::Text(t))) if t.as_str().starts_with("430") => {
                    let ack: Value = serde_json::from_str(&t.as_str()[3..]).unwrap();
                    assert_eq!(ack[0]["success"], true, "{ack}");
                    assert_eq!(ack[0]["message"]["content"], "over the upgraded transport");
                    break;
                }
                Some(Ok(_)) => continue,
                other => panic!("websocket ended: {other:?}"),
            }
        }
    }
}

on_both_backends! {
    /// A handshake whose Origin is neither the server's own host nor an
    /// allowed origin is refused with 400 or 403; a handshake with no Origin is
    /// judged by its cookie alone.
    async fn handshake_from_a_foreign_origin_is_refused(backend: Backend) {
        let server = TestServer::start_with(backend, &["--allowed-origins", "https://chat.example.com"]).await;
        let alice = server.user("alice").await;
        let cookie = alice.cookie_header().unwrap();
        for foreign in ["http://evil.example", "null", "http://127.0.0.1:1", "https://chat.example.com.evil.example"] {
            match Sock::connect(server.addr, Some(&cookie), Some(foreign)).await {
                ConnectOutcome::HttpStatus(s) => assert!(s == 400 || s == 403, "{foreign}: HTTP {s}"),
                other => panic!("{foreign}: the handshake must be refused, got {other:?}"),
            }
            let r = alice
                .http
                .get(alice.url("/socket.io/?EIO=4&transport=polling"))
                .header("origin", foreign)
                .send()
                .await
                .unwrap();
            assert!(r.status() == 400 || r.status() == 403, "{foreign} over polling: {}", r.status());
        }
        let own = format!("http://{}", server.addr);
        for allowed in [own.as_str(), "https://chat.example.com"] {
            match Sock::connect(server.addr, Some(&cookie), Some(allowed)).await {
                ConnectOutcome::Connected(s) => s.close().await,
                other => panic!("{allowed} is allowed, got {other:?}"),
            }
        }
        // No Origin: the cookie decides.
        assert!(matches!(Sock::connect(server.addr, Some(&cookie), None).await, ConnectOutcome::Connected(_)));
        // A permitted origin does not excuse a missing session.
        let refused = Sock::connect(server.addr, None, Some(&own)).await.refused();
        assert_eq!(refused, json!({"message": "unauthorized"}));
    }
}

on_both_backends! {
    /// Once the client has the connect packet, the socket is fully connected:
    /// an event sent at once (as the socket.io client flushes the emits it
    /// buffered while reconnecting) is handled, never silently dropped.
    async fn event_sent_right_after_the_connect_packet_is_handled(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut lost = 0;
        for _ in 0..60 {
            let mut s = alice.raw_socket().await;
            // A refused message: answered, but not counted by the flood limit.
            let id = s.emit_with_ack("send_message", &json!({"content": " "}));
            match tokio::time::timeout(Duration::from_secs(3), s.ack(id)).await {
                Ok(ack) => assert_error_shape(&ack),
                Err(_) => lost += 1,
            }
        }
        assert_eq!(lost, 0, "send_message events sent right after connecting were never answered");
    }
}

// ---------------------------------------------------------------- presence

on_both_backends! {
    /// A user's first socket makes the server broadcast `user_joined` and
    /// `online_users` (sorted) to all sockets; the new socket gets `online_users`.
    async fn first_socket_of_a_user_broadcasts_user_joined_and_online_users(backend: Backend) {
        let server = TestServer::start(backend).await;
        let carol = server.user("carol").await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;

        let mut c1 = carol.socket().await;
        assert_eq!(c1.event_where("online_users", |v| v["count"] == 1).await, online(1, &["carol"]));
        let joined = c1.event("user_joined").await;
        assert_eq!(joined["username"], "carol");
        assert_eq!(joined["online_count"], 1);
        assert_utc_time(&joined["timestamp"]);

        let mut a1 = alice.socket().await;
        assert_eq!(a1.event_where("online_users", |v| v["count"] == 2).await, online(2, &["alice", "carol"]));
        let joined = c1.event("user_joined").await;
        assert_eq!(joined["username"], "alice");
        assert_eq!(joined["online_count"], 2);
        assert_utc_time(&joined["timestamp"]);
        assert_eq!(joined.as_object().unwrap().len(), 3, "{joined}");
        assert_eq!(c1.event_where("online_users", |v| v["count"] == 2).await, online(2, &["alice", "carol"]));

        let mut b1 = bob.socket().await;
        let everyone = online(3, &["alice", "bob", "carol"]);
        assert_eq!(b1.event_where("online_users", |v| v["count"] == 3).await, everyone);
        for s in [&mut c1, &mut a1] {
            let joined = s.event_where("user_joined", |v| v["username"] == "bob").await;
            assert_eq!(joined["online_count"], 3);
            assert_eq!(s.event_where("online_users", |v| v["count"] == 3).await, everyone);
        }
    }
}

on_both_backends! {
    /// A second tab announces nothing to the others, counts once, and still
    /// receives `online_users` itself.
    async fn second_tab_announces_nothing_and_online_count_counts_users_not_sockets(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a1 = alice.socket().await;
        a1.event_where("online_users", |v| v["count"] == 1).await;
        let mut b1 = bob.socket().await;
        b1.event_where("online_users", |v| v["count"] == 2).await;
        a1.event_where("user_joined", |v| v["username"] == "bob").await;
        a1.forget().await;
        b1.forget().await;

        let mut a2 = alice.socket().await;
        assert_eq!(a2.event("online_users").await, online(2, &["alice", "bob"]), "the second tab learns the room");
        b1.assert_no_event("user_joined", QUIET).await;
        a1.assert_no_event("user_joined", Duration::ZERO).await;

        // A second session of the same user (another browser) counts once too.
        let alice_elsewhere = server.client();
        alice_elsewhere.login("alice", PASSWORD).await;
        let mut a3 = alice_elsewhere.socket().await;
        assert_eq!(a3.event("online_users").await, online(2, &["alice", "bob"]));
        b1.assert_no_event("user_joined", QUIET).await;

        // Closing two of three tabs announces nothing either.
        a2.close().await;
        a3.close().await;
        b1.assert_no_event("user_left", QUIET).await;
        let sent = a1.send_message(json!({"content": "still here"})).await;
        assert_eq!(sent["success"], true);
    }
}

on_both_backends! {
    /// When a user's last socket disconnects, the server broadcasts
    /// `user_left` and `online_users`.
    async fn last_socket_leaving_broadcasts_user_left_and_online_users(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let a1 = alice.socket().await;
        let a2 = alice.socket().await;
        let mut b1 = bob.socket().await;
        b1.event_where("online_users", |v| v["count"] == 2).await;

        a1.close().await;
        b1.assert_no_event("user_left", QUIET).await;
        a2.close().await;
        let left = b1.event("user_left").await;
        assert_eq!(left["username"], "alice");
        assert_eq!(left["online_count"], 1);
        assert_utc_time(&left["timestamp"]);
        assert_eq!(left.as_object().unwrap().len(), 3, "{left}");
        assert_eq!(b1.event_where("online_users", |v| v["count"] == 1).await, online(1, &["bob"]));

        // Back again: joined once more.
        b1.forget().await;
        let _a3 = alice.socket().await;
        let joined = b1.event("user_joined").await;
        assert_eq!(joined["username"], "alice");
        assert_eq!(joined["online_count"], 2);
    }
}

// ---------------------------------------------------------------- send_message

on_both_backends! {
    /// The message is stored, then `new_message` goes to every socket, the
    /// sender's included, and the callback gets `{"success": true, "message"}`.
    async fn send_message_stores_broadcasts_to_every_socket_and_acknowledges(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let alice_id = alice.get("/api/current_user").await.json["user"]["id"].clone();
        let mut a1 = alice.socket().await;
        let mut a2 = alice.socket().await;
        let mut b1 = bob.socket().await;

        let ack = a1.send_message(json!({"content": "hello", "message_type": "text"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_eq!(ack.as_object().unwrap().len(), 2, "{ack}");
        let message = ack["message"].clone();
        assert_message(&message, "alice", "hello", "text");
        assert_eq!(message["user_id"], alice_id);
        for s in [&mut a1, &mut a2, &mut b1] {
            assert_eq!(s.event("new_message").await, message);
        }
        assert_eq!(history(&bob).await, vec![message.clone()], "stored as broadcast");

        // Without a callback it is broadcast all the same.
        b1.emit("send_message", &json!({"content": "hi alice", "message_type": "emoji"}));
        let from_bob = a1.event("new_message").await;
        assert_message(&from_bob, "bob", "hi alice", "emoji");
        assert!(from_bob["id"].as_i64() > message["id"].as_i64());
        assert_eq!(b1.event("new_message").await, from_bob);
    }
}

on_both_backends! {
    /// `content` is trimmed and the trimmed text is stored and broadcast;
    /// `message_type` defaults to `text`.
    async fn send_message_trims_content_and_defaults_to_text(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut s = alice.socket().await;
        let ack = s.send_message(json!({"content": "  \n\t hi there \r\n "})).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_message(&ack["message"], "alice", "hi there", "text");
        assert_eq!(s.event("new_message").await["content"], "hi there");
        let ack = s.send_message(json!({"content": " 😀 ", "message_type": "emoji"})).await;
        assert_message(&ack["message"], "alice", "😀", "emoji");
        let stored: Vec<Value> = history(&alice).await.iter().map(|m| m["content"].clone()).collect();
        assert_eq!(stored, vec![json!("hi there"), json!("😀")]);
    }
}

/// Payloads `send_message` must refuse.
fn bad_payloads() -> Vec<Value> {
    vec![
        json!("just a string"),
        json!(42),
        json!(null),
        json!(["content", "hi"]),
        json!({}),
        json!({"content": 5}),
        json!({"content": null}),
        json!({"content": ["hi"]}),
        json!({"content": {"text": "hi"}}),
        json!({"content": ""}),
        json!({"content": "   \n\t  "}),
        json!({"content": "hi", "message_type": null}),
        json!({"content": "hi", "message_type": "video"}),
        json!({"content": "hi", "message_type": "TEXT"}),
        json!({"content": "hi", "message_type": 1}),
        json!({"content": "hi", "message_type": ["text"]}),
        json!({"content": "字".repeat(2001)}),
        json!({"content": "/uploads/none.png", "message_type": "image"}),
    ]
}

on_both_backends! {
    /// A refusal answers the callback with `{"success": false, "error": str}`;
    /// nothing is stored or broadcast and the connection stays open.
    async fn send_message_refusals_answer_the_callback_and_store_nothing(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        for payload in bad_payloads() {
            let ack = a.send_message(payload.clone()).await;
            assert_error_shape(&ack);
            let _ = payload;
        }
        // No data at all.
        let id = a.emit_with_ack("send_message", &Value::Null);
        assert_error_shape(&a.ack(id).await);
        a.send_text(&format!("42{}[\"send_message\"]", 900));
        assert_error_shape(&a.ack(900).await);

        b.assert_no_event("new_message", QUIET).await;
        a.assert_no_event("error", Duration::ZERO).await;
        let stored = history(&alice).await;
        assert!(stored.is_empty(), "nothing refused was stored: {stored:?}");
        // Still connected, still able to send.
        let ack = a.send_message(json!({"content": "after all that"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        b.event_where("new_message", |m| m["content"] == "after all that").await;
    }
}

on_both_backends! {
    /// Without a callback, a refusal emits `error` `{"message": str}` to the
    /// sender alone.
    async fn send_message_refusal_without_callback_emits_error_to_the_sender_alone(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a1 = alice.socket().await;
        let mut a2 = alice.socket().await;
        let mut b = bob.socket().await;
        for payload in bad_payloads() {
            a1.emit("send_message", &payload);
            let error = a1.event("error").await;
            let text = error["message"].as_str().unwrap_or_else(|| panic!("{payload}: {error}"));
            assert!(!text.is_empty());
            assert_eq!(error.as_object().unwrap().len(), 1, "{error}");
        }
        a1.send_text("42[\"send_message\"]");
        a1.event("error").await;
        a1.assert_no_event("error", QUIET).await;
        for s in [&mut a2, &mut b] {
            s.assert_no_event("error", Duration::ZERO).await;
            s.assert_no_event("new_message", Duration::ZERO).await;
        }
        let acks: Vec<_> = a1.drain(Duration::ZERO).await.into_iter().filter(|p| matches!(p, Incoming::Ack { .. })).collect();
        assert!(acks.is_empty(), "no acknowledgement was asked for: {acks:?}");
        assert!(history(&alice).await.is_empty());
        a1.emit("send_message", &json!({"content": "fine"}));
        assert_eq!(b.event("new_message").await["content"], "fine");
    }
}

on_both_backends! {
    /// Content is at most 2000 characters (Unicode code points) after trimming.
    async fn send_message_content_is_limited_to_2000_code_points(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut s = alice.socket().await;
        for ok in ["x".repeat(2000), "字".repeat(2000), "😀".repeat(2000), format!("  {}  \n", "y".repeat(2000))] {
            let ack = s.send_message(json!({"content": ok})).await;
            assert_eq!(ack["success"], true, "{} code points: {}", ok.trim().chars().count(), ack["error"]);
            assert_eq!(ack["message"]["content"], ok.trim());
        }
        for too_long in ["x".repeat(2001), "字".repeat(2001), "😀".repeat(2001)] {
            let ack = s.send_message(json!({"content": too_long})).await;
            assert_error_shape(&ack);
        }
        assert_eq!(history(&alice).await.len(), 4);
    }
}

on_both_backends! {
    /// An `image` must name a `/uploads/<name>` this server issued.
    async fn image_message_must_name_an_upload_this_server_issued(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let url = alice.upload_png().await;
        let mut s = alice.socket().await;
        for bad in [
            "/uploads/missing.png".to_owned(),
            "http://evil.example/cat.png".to_owned(),
            format!("http://{}{url}", server.addr),
            "/uploads/../secret.txt".to_owned(),
            "/uploads/".to_owned(),
            "/uploads".to_owned(),
            format!("{url}?x=1"),
            format!("{url}/"),
            url.replace("/uploads/", "/uploads//"),
            "javascript:alert(1)".to_owned(),
            "/web/hello.txt".to_owned(),
        ] {
            let ack = s.send_message(json!({"content": bad, "message_type": "image"})).await;
            assert_error_shape(&ack);
        }
        let ack = s.send_message(json!({"content": url, "message_type": "image"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_message(&ack["message"], "alice", &url, "image");
        let ack = s.send_message(json!({"content": format!("  {url} "), "message_type": "image"})).await;
        assert_eq!(ack["message"]["content"], url, "trimmed before it is checked: {ack}");
        // A text message may mention any URL; only images are checked.
        let ack = s.send_message(json!({"content": "/uploads/missing.png"})).await;
        assert_eq!(ack["success"], true);
        assert_eq!(history(&alice).await.len(), 3);
    }
}

on_both_backends! {
    /// `new_message` reaches every socket in the order of the ids, also when
    /// several users send at once.
    async fn new_message_reaches_every_socket_in_id_order(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let carol = server.user("carol").await;
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        let mut c = carol.socket().await;
        let mut a_acks = Vec::new();
        let mut b_acks = Vec::new();
        for i in 0..15 {
            a_acks.push(a.emit_with_ack("send_message", &json!({"content": format!("a{i}")})));
            b_acks.push(b.emit_with_ack("send_message", &json!({"content": format!("b{i}")})));
        }
        let mut acked = Vec::new();
        for id in a_acks {
            let ack = a.ack(id).await;
            assert_eq!(ack["success"], true, "{ack}");
            acked.push(ack["message"].clone());
        }
        for id in b_acks {
            acked.push(b.ack(id).await["message"].clone());
        }
        acked.sort_by_key(|m| m["id"].as_i64());
        for s in [&mut a, &mut b, &mut c] {
            let mut seen = Vec::new();
            for _ in 0..30 {
                seen.push(s.event("new_message").await);
            }
            let ids: Vec<i64> = seen.iter().map(|m| m["id"].as_i64().unwrap()).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
            assert_eq!(seen, acked, "every socket sees every message once, as acknowledged");
            s.assert_no_event("new_message", Duration::from_millis(200)).await;
        }
        assert_eq!(history(&alice).await, acked);
    }
}

on_both_backends! {
    /// 20 accepted messages in 10 seconds per user, counted across all of the
    /// user's sockets; the 21st is refused and nothing of it is stored; other
    /// users are unaffected; refused messages do not count.
    async fn flood_limit_is_20_messages_per_10_seconds_per_user_across_sockets(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut a1 = alice.socket().await;
        let mut a2 = alice.socket().await;
        let mut b = bob.socket().await;

        // Refusals do not count towards the limit.
        for _ in 0..5 {
            assert_error_shape(&a1.send_message(json!({"content": " "})).await);
        }
        let started = std::time::Instant::now();
        for i in 0..20 {
            let s = if i % 2 == 0 { &mut a1 } else { &mut a2 };
            let ack = s.send_message(json!({"content": format!("m{i}")})).await;
            assert_eq!(ack["success"], true, "message {i}: {ack}");
        }
        for s in [&mut a1, &mut a2] {
            let ack = s.send_message(json!({"content": "one too many"})).await;
            assert_error_shape(&ack);
        }
        a2.emit("send_message", &json!({"content": "one too many, no callback"}));
        assert!(a2.event("error").await["message"].is_string());

        let ack = b.send_message(json!({"content": "bob is not limited by alice"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        let stored = history(&bob).await;
        assert_eq!(stored.len(), 21);
        assert!(stored.iter().all(|m| !m["content"].as_str().unwrap().starts_with("one too many")));
        assert!(started.elapsed() < Duration::from_secs(9), "the test sent within the window");

        // Ten seconds after the first, the window has room again.
        tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed()) + Duration::from_millis(300)).await;
        let ack = a1.send_message(json!({"content": "later"})).await;
        assert_eq!(ack["success"], true, "{ack}");
    }
}

// ---------------------------------------------------------------- logout

on_both_backends! {
    /// Logout disconnects that session's open sockets, and only those: the
    /// same user's other session keeps its socket and stays online.
    async fn logout_disconnects_only_that_sessions_sockets(backend: Backend) {
        let server = TestServer::start(backend).await;
        let here = server.user("alice").await;
        let there = server.client();
        there.login("alice", PASSWORD).await;
        let bob = server.user("bob").await;
        let mut here1 = here.socket().await;
        let mut here2 = here.socket().await;
        let mut there1 = there.socket().await;
        let mut b = bob.socket().await;
        b.event_where("online_users", |v| v["count"] == 2).await;

        let r = here.logout().await;
        assert_eq!(r.status, StatusCode::OK);
        here1.disconnected().await;
        here2.disconnected().await;
        assert!(there1.wait_until_disconnected(QUIET).await.is_none(), "the other session's socket stays");
        b.assert_no_event("user_left", Duration::ZERO).await;
        let ack = there1.send_message(json!({"content": "still online elsewhere"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        b.event_where("new_message", |m| m["content"] == "still online elsewhere").await;
        let refused = here.try_socket().await.refused();
        assert_eq!(refused, json!({"message": "unauthorized"}));

        there.logout().await;
        there1.disconnected().await;
        let left = b.event("user_left").await;
        assert_eq!(left["username"], "alice");
        assert_eq!(left["online_count"], 1);
        assert_eq!(b.event_where("online_users", |v| v["count"] == 1).await, online(1, &["bob"]));
    }
}

// ---------------------------------------------------------------- robustness

/// Frames no well-behaved client sends.
fn garbage_frames() -> Vec<String> {
    vec![
        "hello".into(),
        "".into(),
        "4".into(),
        "42".into(),
        "42[".into(),
        "42{}".into(),
        "42[1,2]".into(),
        "42[]".into(),
        "42[\"send_message\"".into(),
        "42[\"send_message\",{\"content\":".into(),
        "42abc[\"send_message\",{}]".into(),
        "4299999999999999999999[\"send_message\",{\"content\":\"\"}]".into(),
        "42[\"no_such_event\",{\"a\":1}]".into(),
        "43".into(),
        "431[\"forged ack\"]".into(),
        "40".into(),
        "44{\"message\":\"forged\"}".into(),
        "45".into(),
        "49".into(),
        "4x".into(),
        "9".into(),
        "6".into(),
        "3".into(),
        "\u{0}\u{1}\u{2}".into(),
        "42[\"send_message\",\"\\ud800\"]".into(),
    ]
}

on_both_backends! {
    /// No malformed packet of one socket closes another user's connection or
    /// stops the server.
    async fn garbage_packets_disturb_nobody_else(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut b = bob.socket().await;
        for (i, frame) in garbage_frames().into_iter().enumerate() {
            let offender = alice.socket().await;
            offender.send_text(&frame);
            offender.send_binary(vec![0xde, 0xad, 0xbe, 0xef]);
            tokio::time::sleep(Duration::from_millis(50)).await;
            // A round trip through bob's socket that the flood limit does not count.
            let ack = b.send_message(json!({"content": " "})).await;
            assert_error_shape(&ack);
            assert_ne!(ack["error"], "发送太频繁，请稍后再试", "after {frame:?} #{i}");
            assert!(b.wait_until_disconnected(Duration::ZERO).await.is_none(), "after {frame:?}");
            drop(offender);
        }
        assert_eq!(server.client().get("/healthz").await.status, StatusCode::OK);
        let ack = b.send_message(json!({"content": "bob is fine"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        let mut again = alice.socket().await;
        let ack = again.send_message(json!({"content": "alice is back"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        let contents: Vec<_> = history(&bob).await.iter().map(|m| m["content"].clone()).collect();
        assert_eq!(contents, vec![json!("bob is fine"), json!("alice is back")], "no garbage was stored");
    }
}

on_both_backends! {
    /// A payload over 1,000,000 bytes closes the offender's connection only;
    /// one of exactly 1,000,000 bytes is within the limit.
    async fn payload_over_one_million_bytes_closes_only_the_offenders_connection(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let mut b = bob.socket().await;
        let mut a = alice.socket().await;

        let frame = |ack: u32, total: usize| {
            let head = format!("42{ack}[\"send_message\",{{\"content\":\"");
            let tail = "\"}]";
            let fill = total - head.len() - tail.len();
            format!("{head}{}{tail}", "x".repeat(fill))
        };
        let at_limit = frame(7, 1_000_000);
        assert_eq!(at_limit.len(), 1_000_000);
        a.send_text(&at_limit);
        let ack = a.ack(7).await;
        assert_error_shape(&ack); // too long for a message, but a legal packet

        let over = frame(8, 1_000_001);
        a.send_text(&over);
        a.closed().await;

        let ack = b.send_message(json!({"content": "bob carries on"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert!(b.wait_until_disconnected(QUIET).await.is_none());
        let left = b.event_where("user_left", |v| v["username"] == "alice").await;
        assert_eq!(left["online_count"], 1);
        let contents: Vec<_> = history(&bob).await.iter().map(|m| m["content"].clone()).collect();
        assert_eq!(contents, vec![json!("bob carries on")]);

        // The offender may come back.
        let mut a2 = alice.socket().await;
        assert_eq!(a2.send_message(json!({"content": "sorry"})).await["success"], true);
    }
}

// ---------------------------------------------------------------- order

/// Contents `00`..`18`: 19 messages, within the flood limit of 20.
fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:02}")).collect()
}

fn contents(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

on_both_backends! {
    /// What one socket sends back to back, without waiting for acks, is
    /// stored, numbered and broadcast in the order it was sent.
    async fn one_websocket_sends_are_stored_and_broadcast_in_order(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut b = server.user("bob").await.socket().await;
        let mut a = alice.socket().await;
        let sent = numbered(19);
        let acks: Vec<u64> = sent
            .iter()
            .map(|c| a.emit_with_ack("send_message", &json!({ "content": c })))
            .collect();
        let mut ids = Vec::new();
        for id in acks {
            let ack = a.ack(id).await;
            assert_eq!(ack["success"], true, "{ack}");
            ids.push(ack["message"]["id"].as_i64().unwrap());
        }
        let mut by_id = ids.clone();
        by_id.sort_unstable();
        assert_eq!(ids, by_id, "ids follow the order of sending");
        assert_eq!(contents(&history(&alice).await), sent, "stored in the order sent");
        let mut broadcast = Vec::new();
        for _ in 0..sent.len() {
            broadcast.push(b.event("new_message").await);
        }
        assert_eq!(contents(&broadcast), sent, "broadcast in the order sent");
    }
}

on_both_backends! {
    /// A refused message does not hold up the ones after it, nor change their order.
    async fn a_refused_message_does_not_block_the_next_ones(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let a = alice.socket().await;
        for frame in [
            r#"42["send_message",{"content":"first"}]"#,
            r#"42["send_message",{"content":"   "}]"#,
            r#"42["send_message",{"content":"x","message_type":"image"}]"#,
            r#"42["send_message",{"content":"second"}]"#,
        ] {
            a.send_text(frame);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut stored = Vec::new();
        while stored.len() < 2 && tokio::time::Instant::now() < deadline {
            stored = contents(&history(&alice).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(stored, ["first", "second"]);
    }
}

on_both_backends! {
    /// Over polling, the packets of one POST are handled in their order too.
    async fn one_polling_post_of_many_sends_is_stored_in_order(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let open = alice.get("/socket.io/?EIO=4&transport=polling").await;
        let handshake: Value = serde_json::from_str(&open.text[1..]).unwrap();
        let url = format!("/socket.io/?EIO=4&transport=polling&sid={}", handshake["sid"].as_str().unwrap());
        alice.post_raw(&url, Some("text/plain;charset=UTF-8"), b"40".to_vec()).await;
        let mut received = String::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        while !received.contains("online_users") && tokio::time::Instant::now() < deadline {
            received.push_str(&alice.get(&url).await.text);
        }
        assert!(received.contains("online_users"), "connected: {received}");

        let sent = numbered(19);
        let body = sent
            .iter()
            .map(|c| format!(r#"42["send_message",{{"content":"{c}"}}]"#))
            .collect::<Vec<_>>()
            .join("\u{1e}");
        let r = alice.post_raw(&url, Some("text/plain;charset=UTF-8"), body.into_bytes()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut stored = Vec::new();
        while stored.len() < sent.len() && tokio::time::Instant::now() < deadline {
            stored = contents(&history(&alice).await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(stored, sent, "stored in the order of the POST");
    }
}

// ---------------------------------------------------------------- event names

on_both_backends! {
    /// An event name that carries a JSON escape is a valid name: unknown ones
    /// are ignored like any unknown event (the connection stays), and an
    /// escaped spelling of a known name is that event.
    async fn event_names_with_json_escapes_do_not_close_the_connection(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut a = alice.socket().await;
        for frame in [
            r#"42["caf\u00e9",{}]"#,
            r#"42["a\"b",{}]"#,
            r#"42["nope\n",{}]"#,
            r#"421["\ud83d\ude00",{}]"#,
            "42[\"café\",{}]",
        ] {
            a.send_text(frame);
        }
        let ack = a.send_message(json!({"content": "still here"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert!(a.wait_until_disconnected(QUIET).await.is_none(), "the connection stays open");

        a.send_text(r#"427["send\u005fmessage",{"content":"escaped name"}]"#);
        let ack = a.ack(7).await;
        assert_eq!(ack["success"], true, "{ack}");
        assert_eq!(contents(&history(&alice).await), ["still here", "escaped name"]);
    }
}
