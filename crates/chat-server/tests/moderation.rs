//! PROTOCOL.md §6 banning: `ban_user` / `unban_user` (admins only),
//! `user_banned`, 403 at login, sessions and sockets ended; and what
//! chat-admin records (a ban, a new password, a deletion) applied by a
//! running server to its sockets; against the real app on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use chat_domain::moderation::{self, AdminAction};
use chat_testkit::socketio::ConnectOutcome;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// How long to listen for an event that must not come.
const QUIET: Duration = Duration::from_millis(600);
/// chat-admin's promise to the operator.
const OPERATOR_DEADLINE: Duration = Duration::from_secs(10);

fn refused(ack: &Value) -> &str {
    assert_eq!(ack["success"], false, "{ack}");
    ack["error"].as_str().expect("a sentence")
}

async fn user_id(client: &Client) -> i32 {
    let r = client.get("/api/current_user").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["user"]["id"].as_i64().unwrap() as i32
}

async fn sessions_of(db: &chat_domain::Database, id: i32) -> i64 {
    db.run(move |conn| {
        use chat_domain::schema::sessions;
        use diesel::prelude::*;
        Ok(sessions::table
            .filter(sessions::user_id.eq(id))
            .count()
            .get_result(conn)?)
    })
    .await
    .unwrap()
}

on_both_backends! {
    /// An admin bans a user: the user's sockets (two tabs) are disconnected,
    /// everyone else gets `user_banned` once, the old cookie is logged out
    /// over HTTP and at the socket handshake, the right password answers
    /// 403 and a wrong one 401, and the name stays taken. `unban_user`
    /// lifts it without a broadcast: the user logs in again.
    async fn an_admin_bans_and_unbans_a_user(backend: Backend) {
        let server = TestServer::start_with(backend, &["--admin-users", "root"]).await;
        let root = server.user("root").await;
        let bob = server.user("bob").await;
        let spammer = server.user("spammer").await;
        let spammer_tab2 = server.client();
        spammer_tab2.login("spammer", PASSWORD).await;
        let spammer_id = user_id(&spammer).await;
        let db = server.database().await;
        assert_eq!(sessions_of(&db, spammer_id).await, 2);

        let mut r = root.socket().await;
        let mut b = bob.socket().await;
        let mut s1 = spammer.socket().await;
        let mut s2 = spammer_tab2.socket().await;

        let ack = r.call("ban_user", &json!({"username": "spammer"})).await;
        assert_eq!(ack, json!({"success": true}));
        for sock in [&mut s1, &mut s2] {
            // Told why, before the disconnect: a page says so instead of
            // taking it for a logout elsewhere.
            assert_eq!(sock.event("error").await, json!({"message": "你的账号已被封禁"}));
            sock.disconnected().await;
        }
        for sock in [&mut r, &mut b] {
            let notice = sock.event("user_banned").await;
            assert_eq!(notice["username"], "spammer", "{notice}");
            assert_eq!(notice["by"], "root", "{notice}");
            assert_utc_time(&notice["timestamp"]);
            sock.assert_no_event("user_banned", QUIET).await;
        }
        assert!(
            !s1.drain(QUIET).await.iter().any(|p| format!("{p:?}").contains("user_banned")),
            "the banned user is not told through the room"
        );

        // Sessions ended, everywhere they are read.
        assert_eq!(sessions_of(&db, spammer_id).await, 0);
        assert_eq!(spammer.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
        assert!(matches!(spammer.try_socket().await, ConnectOutcome::Refused(_)));
        let again = server.client();
        let r403 = again.try_login("spammer", PASSWORD).await;
        assert_eq!(r403.status, StatusCode::FORBIDDEN, "{}", r403.text);
        assert_error_shape(&r403.json);
        assert!(r403.json["error"].as_str().unwrap().contains("封禁"), "{}", r403.text);
        assert_eq!(again.try_login("spammer", "wrong password").await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(server.client().try_register("spammer", PASSWORD).await.status, StatusCode::CONFLICT);
        assert_eq!(server.client().try_register("SPAMMER", PASSWORD).await.status, StatusCode::CONFLICT);

        // Banning again succeeds and changes nothing: no second notice.
        let ack = r.call("ban_user", &json!({"username": "spammer"})).await;
        assert_eq!(ack, json!({"success": true}));
        b.assert_no_event("user_banned", QUIET).await;

        let ack = r.call("unban_user", &json!({"username": "spammer"})).await;
        assert_eq!(ack, json!({"success": true}));
        b.assert_no_event("user_banned", QUIET).await;
        // The ended sessions stay ended; a new login works.
        assert_eq!(spammer.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
        let back = server.client();
        back.login("spammer", PASSWORD).await;
        let mut s3 = back.socket().await;
        let ack = s3.send_message(json!({"content": "sorry"})).await;
        assert_eq!(ack["success"], true, "{ack}");
        // Unbanning someone not banned succeeds too.
        let ack = r.call("unban_user", &json!({"username": "bob"})).await;
        assert_eq!(ack, json!({"success": true}));
    }
}

on_both_backends! {
    /// Refused, with a sentence and nothing changed: a non-admin's ban or
    /// unban, an unknown name, oneself, another admin, and payloads that are
    /// not `{"username": str}` (as the `error` event without an ack).
    async fn bans_are_refused_by_the_rules(backend: Backend) {
        let server = TestServer::start_with(backend, &["--admin-users", "root,boss"]).await;
        let root = server.user("root").await;
        server.user("boss").await;
        let bob = server.user("bob").await;
        server.user("carol").await;
        let mut r = root.socket().await;
        let mut b = bob.socket().await;

        let ack = b.call("ban_user", &json!({"username": "carol"})).await;
        assert!(refused(&ack).contains("管理员"), "{ack}");
        let ack = b.call("unban_user", &json!({"username": "carol"})).await;
        refused(&ack);
        let ack = r.call("ban_user", &json!({"username": "nobody"})).await;
        assert!(refused(&ack).contains("不存在"), "{ack}");
        // Exact names, as login matches them.
        let ack = r.call("ban_user", &json!({"username": "Carol"})).await;
        refused(&ack);
        let ack = r.call("ban_user", &json!({"username": "root"})).await;
        assert!(refused(&ack).contains("自己"), "{ack}");
        let ack = r.call("ban_user", &json!({"username": "boss"})).await;
        assert!(refused(&ack).contains("管理员"), "{ack}");
        for bad in [json!({}), json!({"username": 5}), json!({"username": ""}), json!("carol"), json!(["carol"])] {
            let ack = r.call("ban_user", &bad).await;
            refused(&ack);
        }
        r.emit("ban_user", &json!({"name": "carol"}));
        let e = r.event("error").await;
        assert!(e["message"].as_str().is_some(), "{e}");

        b.assert_no_event("user_banned", QUIET).await;
        assert_eq!(server.client().try_login("carol", PASSWORD).await.status, StatusCode::OK);
        assert_eq!(server.client().try_login("boss", PASSWORD).await.status, StatusCode::OK);
        assert!(refusals_of(&server, "not_admin").await >= 2);
    }
}

async fn refusals_of(server: &TestServer, reason: &str) -> u64 {
    metric(
        server,
        &format!("chat_bans_refused_total{{reason=\"{reason}\"}}"),
    )
    .await as u64
}

on_both_backends! {
    /// What chat-admin records while the server runs reaches its sockets
    /// within 10 s: a ban closes the user's sockets and tells the others, a
    /// new password closes the user's sockets, a deletion is broadcast.
    async fn the_operator_tools_reach_a_running_server(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let bob = server.user("bob").await;
        let carol = server.user("carol").await;
        let (alice_id, carol_id) = (user_id(&alice).await, user_id(&carol).await);
        let mut a = alice.socket().await;
        let mut b = bob.socket().await;
        let mut c = carol.socket().await;
        let ack = b.send_message(json!({"content": "spam"})).await;
        let message_id = ack["message"]["id"].as_i64().unwrap();
        let db = server.database().await;

        // As `chat-admin ban alice`: the mark, the sessions, the event.
        db.run(move |conn| {
            let now = chat_domain::timestamps::now();
            moderation::ban(conn, alice_id, None, now)?;
            moderation::record(conn, AdminAction::Ban, Some(alice_id), None, "operator", now)
        })
        .await
        .unwrap();
        a.wait_until_disconnected(OPERATOR_DEADLINE).await.expect("alice's socket closed");
        assert_eq!(a.event("error").await, json!({"message": "你的账号已被封禁"}));
        let notice = b.event("user_banned").await;
        assert_eq!((notice["username"].as_str(), notice["by"].as_str()), (Some("alice"), Some("operator")));
        assert_utc_time(&notice["timestamp"]);
        assert_eq!(alice.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);

        // As `chat-admin reset-password carol`.
        db.run(move |conn| {
            let now = chat_domain::timestamps::now();
            let hash = chat_domain::passwords::hash_new_password("a new secret", 4)?;
            moderation::set_password(conn, carol_id, &hash)?;
            moderation::record(conn, AdminAction::ResetPassword, Some(carol_id), None, "operator", now)
        })
        .await
        .unwrap();
        c.wait_until_disconnected(OPERATOR_DEADLINE).await.expect("carol's socket closed");
        assert_eq!(carol.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(server.client().try_login("carol", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(server.client().try_login("carol", "a new secret").await.status, StatusCode::OK);

        // As `chat-admin delete-message`.
        db.run(move |conn| {
            let now = chat_domain::timestamps::now();
            let by = chat_domain::Deleter { user_id: carol_id, is_admin: true };
            chat_domain::deletion::delete(conn, message_id, by, now, chrono::Duration::zero())
                .map_err(|e| chat_domain::DomainError::Open(e.to_string()))?;
            moderation::record(conn, AdminAction::DeleteMessage, None, Some(message_id), "carol", now)
        })
        .await
        .unwrap();
        let notice = b.event("message_deleted").await;
        assert_eq!((notice["id"].as_i64(), notice["username"].as_str()), (Some(message_id), Some("carol")));
        b.assert_no_event("message_deleted", QUIET).await;
        let r = bob.get("/api/messages").await;
        assert_eq!(r.json["messages"].as_array().map(Vec::len), Some(0), "{}", r.text);
    }
}

on_both_backends! {
    /// `last_seen_at` is the last login or socket, for `chat-admin users`.
    async fn a_login_and_a_socket_record_when_the_user_was_seen(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let id = user_id(&alice).await;
        let db = server.database().await;
        let seen = |db: chat_domain::Database| async move {
            db.run(move |conn| {
                use chat_domain::schema::users;
                use diesel::prelude::*;
                Ok(users::table.find(id).select(users::last_seen_at).first::<Option<chrono::NaiveDateTime>>(conn)?)
            })
            .await
            .unwrap()
        };
        let before = chat_domain::timestamps::now();
        server.client().login("alice", PASSWORD).await;
        let mut at_login = None;
        for _ in 0..50 {
            at_login = seen(db.clone()).await;
            if at_login.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let at_login = at_login.expect("a login records the time");
        assert!(at_login >= before, "{at_login} < {before}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _sock = alice.socket().await;
        let mut later = at_login;
        for _ in 0..50 {
            later = seen(db.clone()).await.unwrap_or(at_login);
            if later > at_login {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(later > at_login, "a socket records the time too");
    }
}

/// Records a deletion event with this id, as a chat-admin run whose id was
/// handed out before another's but that committed after it.
async fn record_with_id(db: &chat_domain::Database, id: i64, message_id: i64) {
    db.run(move |conn| {
        use chat_domain::schema::admin_events;
        use diesel::prelude::*;
        diesel::insert_into(admin_events::table)
            .values((
                admin_events::id.eq(id),
                admin_events::kind.eq(AdminAction::DeleteMessage.as_str()),
                admin_events::message_id.eq(Some(message_id)),
                admin_events::actor.eq("operator"),
                admin_events::created_at.eq(chat_domain::timestamps::now()),
            ))
            .execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
}

on_both_backends! {
    /// Two chat-admin runs at once on PostgreSQL may commit their ids out of
    /// order: the action with the smaller id, committed last, is applied
    /// all the same, and each action once.
    async fn an_action_that_commits_late_is_still_applied(backend: Backend) {
        let server = TestServer::start(backend).await;
        let bob = server.user("bob").await;
        let mut b = bob.socket().await;
        let first = b.send_message(json!({"content": "one"})).await["message"]["id"].as_i64().unwrap();
        let second = b.send_message(json!({"content": "two"})).await["message"]["id"].as_i64().unwrap();
        let db = server.database().await;
        record_with_id(&db, 1_000, second).await;
        let notice = b.event("message_deleted").await;
        assert_eq!(notice["id"], second, "{notice}");
        record_with_id(&db, 5, first).await;
        let notice = b.event("message_deleted").await;
        assert_eq!(notice["id"], first, "{notice}");
        // Each once, though every read returns both.
        b.assert_no_event("message_deleted", Duration::from_secs(3)).await;
    }
}
