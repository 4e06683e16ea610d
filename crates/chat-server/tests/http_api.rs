//! PROTOCOL.md §3, the HTTP API, against the real app on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use chat_domain::{MessageType, NewMessage};
use common::http::{raw_get, raw_request};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

// ---------------------------------------------------------------- register

on_both_backends! {
    /// 201 `{"success": true, "user": User}`, and the new user is logged in.
    async fn register_answers_201_with_the_user_and_logs_in(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.client();
        let r = alice.try_register("alice", PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.json["success"], true);
        assert_user(&r.json["user"], "alice");
        assert_eq!(r.json.as_object().unwrap().len(), 2, "{}", r.text);

        let me = alice.get("/api/current_user").await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text);
        assert_eq!(me.json["success"], true);
        assert_eq!(me.json["user"], r.json["user"]);
    }
}

on_both_backends! {
    /// 400 when a field is missing or not a string, or the body is no object.
    async fn register_refuses_missing_and_non_string_fields_with_400(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        for body in [
            json!({}),
            json!({"username": "alice"}),
            json!({"password": PASSWORD}),
            json!({"username": null, "password": PASSWORD}),
            json!({"username": 42, "password": PASSWORD}),
            json!({"username": "alice", "password": 123456}),
            json!({"username": ["alice"], "password": PASSWORD}),
            json!({"username": "alice", "password": {"p": 1}}),
            json!(["alice", PASSWORD]),
            json!("alice"),
            json!(null),
        ] {
            let r = c.post_json("/api/register", &body).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
            assert_error_shape(&r.json);
        }
        assert_eq!(c.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
    }
}

on_both_backends! {
    /// username: 2 to 20 characters after trimming, letters of any script,
    /// digits, `_` and `-`; password: 6 to 72 bytes of UTF-8, never truncated.
    async fn register_enforces_the_username_and_password_bounds(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        for bad_name in ["a", " a ", "", "   ", &"x".repeat(21), "a b", "al!ce", "a.b", "<script>", "ab\u{0}"] {
            let r = c.try_register(bad_name, PASSWORD).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "username {bad_name:?}: {}", r.text);
            assert_error_shape(&r.json);
        }
        // 72 bytes is the most; 73 is refused, also when made of multi-byte characters.
        for (name, bad_password) in [
            ("p1", "12345".to_owned()),
            ("p2", "x".repeat(73)),
            ("p3", "密".repeat(25)), // 75 bytes
            ("p4", "ab密".repeat(14) + "abc"), // 73 bytes
        ] {
            let r = c.try_register(name, &bad_password).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "password of {} bytes: {}", bad_password.len(), r.text);
            assert_error_shape(&r.json);
        }
        assert_eq!(c.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);

        let long_name = "x".repeat(20);
        let ok = [
            ("ab", "123456".to_owned()),
            (long_name.as_str(), "y".repeat(72)),
            ("张三", "密码密".to_owned()), // 9 bytes
            ("Ünïcødé_-9", "密".repeat(24)), // 72 bytes
            ("Ωμέγα", "pass word".to_owned()),
        ];
        for (name, password) in &ok {
            let user = server.client().register(name, password).await;
            assert_eq!(user["username"], *name);
        }
        // Each can log in with exactly that password, and not with a cut one.
        for (name, password) in &ok {
            server.client().login(name, password).await;
        }
        let r = server.client().try_login(&"x".repeat(20), &"y".repeat(71)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

on_both_backends! {
    /// The name is trimmed of surrounding white space before it is checked and stored.
    async fn register_trims_the_username(backend: Backend) {
        let server = TestServer::start(backend).await;
        let r = server.client().try_register("  carol  ", PASSWORD).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        assert_eq!(r.json["user"]["username"], "carol");
        server.client().login("carol", PASSWORD).await;
    }
}

on_both_backends! {
    /// 409 when the name is taken, compared case-insensitively.
    async fn register_answers_409_for_a_taken_username_in_any_case(backend: Backend) {
        let server = TestServer::start(backend).await;
        server.user("alice").await;
        for taken in ["alice", "Alice", "ALICE", " alice "] {
            let r = server.client().try_register(taken, PASSWORD).await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{taken:?}: {}", r.text);
            assert_error_shape(&r.json);
        }
        server.user("Ärger").await;
        let r = server.client().try_register("äRGER", PASSWORD).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "non-ASCII letters fold too: {}", r.text);
    }
}

// ---------------------------------------------------------------- login

on_both_backends! {
    /// 200 `{"success": true, "user": User}`; the session then knows the user.
    async fn login_answers_200_with_the_user(backend: Backend) {
        let server = TestServer::start(backend).await;
        let registered = server.user("alice").await.get("/api/current_user").await.json["user"].clone();
        let c = server.client();
        let r = c.try_login("alice", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json, json!({"success": true, "user": registered}));
        assert_eq!(c.get("/api/current_user").await.json["user"], registered);
    }
}

on_both_backends! {
    /// 401 for a wrong password or an unknown name, with the same answer for
    /// both; login matches the exact stored name.
    async fn login_answers_401_the_same_for_wrong_password_and_unknown_user(backend: Backend) {
        let server = TestServer::start(backend).await;
        server.user("alice").await;
        let c = server.client();
        let wrong = c.try_login("alice", "wrong-password").await;
        let unknown = c.try_login("nobody", PASSWORD).await;
        let other_case = c.try_login("ALICE", PASSWORD).await;
        for r in [&wrong, &unknown, &other_case] {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
            assert_error_shape(&r.json);
        }
        assert_eq!(wrong.json, unknown.json, "no hint whether the name exists");
        assert_eq!(c.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
    }
}

on_both_backends! {
    /// 400 when the login body is malformed.
    async fn login_answers_400_when_malformed(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        for body in [
            json!({}),
            json!({"username": "alice"}),
            json!({"password": PASSWORD}),
            json!({"username": 1, "password": PASSWORD}),
            json!({"username": "alice", "password": false}),
            json!([]),
        ] {
            let r = c.post_json("/api/login", &body).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
            assert_error_shape(&r.json);
        }
    }
}

on_both_backends! {
    /// 5 failed logins for one username from one address within 15 minutes
    /// lock that name for that address: 429, even with the right password.
    /// Other names are unaffected.
    async fn login_locks_out_after_five_failures_per_username_and_address(backend: Backend) {
        let server = TestServer::start(backend).await;
        server.user("alice").await;
        server.user("bob").await;
        let c = server.client();
        for attempt in 1..=5 {
            let r = c.try_login("alice", "wrong-password").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "failure {attempt}: {}", r.text);
        }
        for password in [PASSWORD, "wrong-password"] {
            let r = c.try_login("alice", password).await;
            assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "locked out: {}", r.text);
            assert_error_shape(&r.json);
        }
        let r = server.client().try_login("alice", PASSWORD).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the lock is per name and address, not per session");
        assert_eq!(c.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);

        // Another name from the same address logs in.
        server.client().login("bob", PASSWORD).await;
        // And an already open session of alice is not touched.
    }
}

on_both_backends! {
    /// Four failures do not lock; a success then forgets them.
    async fn login_is_not_locked_before_the_fifth_failure(backend: Backend) {
        let server = TestServer::start(backend).await;
        server.user("alice").await;
        let c = server.client();
        for _ in 0..4 {
            assert_eq!(c.try_login("alice", "wrong-password").await.status, StatusCode::UNAUTHORIZED);
        }
        c.login("alice", PASSWORD).await;
        // The success cleared the count: four more failures still do not lock.
        for _ in 0..4 {
            assert_eq!(c.try_login("alice", "wrong-password").await.status, StatusCode::UNAUTHORIZED);
        }
        c.login("alice", PASSWORD).await;
    }
}

// ---------------------------------------------------------------- session cookie

on_both_backends! {
    /// The cookie is named `session`, HttpOnly, SameSite=Lax, valid 7 days.
    async fn session_cookie_is_httponly_samesite_lax_and_lasts_seven_days(backend: Backend) {
        let server = TestServer::start(backend).await;
        for r in [
            server.client().try_register("alice", PASSWORD).await,
            server.client().try_login("alice", PASSWORD).await,
        ] {
            let cookie = r.session_cookie().unwrap_or_else(|| panic!("a session cookie: {:?}", r.set_cookies()));
            assert!(!cookie.value().is_empty());
            assert_eq!(cookie.http_only(), Some(true), "HttpOnly: {cookie}");
            assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax), "SameSite=Lax: {cookie}");
            assert_eq!(cookie.path(), Some("/"), "sent to every path, /socket.io/ included: {cookie}");
            assert_ne!(cookie.secure(), Some(true), "not Secure by default (plain HTTP): {cookie}");
            let seven_days = 7 * 24 * 3600;
            let lifetime = match (cookie.max_age(), cookie.expires_datetime()) {
                (Some(max_age), _) => max_age.whole_seconds(),
                (None, Some(expires)) => (expires - time::OffsetDateTime::now_utc()).whole_seconds(),
                (None, None) => panic!("a persistent cookie, not a browser-session one: {cookie}"),
            };
            assert!((seven_days - 120..=seven_days).contains(&lifetime), "7 days: {cookie}");
        }
    }
}

on_both_backends! {
    /// A successful register or login issues a fresh session id, also when
    /// the session was already logged in; the old id no longer authenticates.
    async fn register_and_login_issue_a_fresh_session_id(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        c.register("alice", PASSWORD).await;
        let registered = c.session_id().expect("a session after register");

        c.logout().await;
        c.login("alice", PASSWORD).await;
        let logged_in = c.session_id().expect("a session after login");
        assert_ne!(registered, logged_in, "login renews the session id");

        c.login("alice", PASSWORD).await;
        let again = c.session_id().unwrap();
        assert_ne!(logged_in, again, "a login on a logged-in session renews its id too");

        for old in [registered, logged_in] {
            let stale = server.client();
            stale.set_cookie("session", &old);
            assert_eq!(stale.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED, "the old id is dead");
        }
        assert_eq!(c.get("/api/current_user").await.status, StatusCode::OK);
    }
}

on_both_backends! {
    /// No session fixation: whatever session id was planted in a browser
    /// before its user logs in, the planter cannot use it afterwards.
    async fn login_over_a_planted_session_does_not_hand_it_to_the_planter(backend: Backend) {
        let server = TestServer::start(backend).await;
        server.user("alice").await;

        // An id the server never issued.
        let victim = server.client();
        let planted = "attacker-chosen-session-id";
        victim.set_cookie("session", planted);
        victim.login("alice", PASSWORD).await;
        assert_ne!(victim.session_id().unwrap(), planted);
        let attacker = server.client();
        attacker.set_cookie("session", planted);
        assert_eq!(attacker.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);

        // A live session of the attacker's own account, planted in the victim's browser.
        let mallory = server.user("mallory").await;
        let planted = mallory.session_id().unwrap();
        let victim = server.client();
        victim.set_cookie("session", &planted);
        victim.login("alice", PASSWORD).await;
        let me = mallory.get("/api/current_user").await;
        assert_ne!(me.json["user"]["username"], "alice", "the planter now holds alice's session: {}", me.text);
        assert_ne!(victim.session_id().unwrap(), planted, "the victim's login gets a fresh id");
    }
}

on_both_backends! {
    /// The session survives a server restart on the same database.
    async fn session_survives_a_server_restart(backend: Backend) {
        let mut server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let before = alice.get("/api/current_user").await.json;
        server.restart().await;
        let after = alice.get("/api/current_user").await;
        assert_eq!(after.status, StatusCode::OK, "still logged in after the restart: {}", after.text);
        assert_eq!(after.json, before);
        // Its sockets are accepted as well.
        let mut sock = alice.socket().await;
        let sent = sock.send_message(json!({"content": "back again"})).await;
        assert_eq!(sent["success"], true, "{sent}");
    }
}

// ---------------------------------------------------------------- logout, current_user

on_both_backends! {
    /// 200 `{"success": true}`; the session is destroyed.
    async fn logout_answers_200_and_destroys_the_session(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let id = alice.session_id().unwrap();
        let r = alice.logout().await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json, json!({"success": true}));
        assert_eq!(alice.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
        // Replaying the old cookie does not bring the session back.
        let replay = server.client();
        replay.set_cookie("session", &id);
        assert_eq!(replay.get("/api/current_user").await.status, StatusCode::UNAUTHORIZED);
    }
}

on_both_backends! {
    /// Logout when not logged in is still 200.
    async fn logout_without_a_session_answers_200(backend: Backend) {
        let server = TestServer::start(backend).await;
        let r = server.client().logout().await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json, json!({"success": true}));
        let forged = server.client();
        forged.set_cookie("session", "no-such-session");
        assert_eq!(forged.logout().await.status, StatusCode::OK);
    }
}

on_both_backends! {
    /// 401 with the error shape when not logged in.
    async fn current_user_answers_401_when_not_logged_in(backend: Backend) {
        let server = TestServer::start(backend).await;
        let r = server.client().get("/api/current_user").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_error_shape(&r.json);
    }
}

// ---------------------------------------------------------------- messages

/// Stores `n` messages of `user` straight into the database, `age` old.
async fn seed(server: &TestServer, user: &Value, n: usize, age: chrono::Duration) -> Vec<i64> {
    let db = server.database().await;
    let rows: Vec<NewMessage> = (0..n)
        .map(|i| NewMessage {
            user_id: user["id"].as_i64().unwrap() as i32,
            username: user["username"].as_str().unwrap().to_owned(),
            content: format!("seeded {i}"),
            message_type: MessageType::Text,
            timestamp: chat_domain::timestamps::now() - age,
        })
        .collect();
    db.run(move |conn| chat_domain::messages::insert_batch(conn, &rows))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

fn ids(r: &common::http::Reply) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["success"], true);
    r.json["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("messages: {}", r.text))
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

on_both_backends! {
    /// The newest `limit` (default 50) oldest first; `before_id` pages back;
    /// `after_id` gives the oldest `limit` after an id; over 200 means 200.
    async fn messages_pages_by_limit_before_id_and_after_id(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let user = alice.get("/api/current_user").await.json["user"].clone();
        let all = seed(&server, &user, 230, chrono::Duration::minutes(5)).await;
        assert_eq!(all.len(), 230);

        let latest = ids(&alice.get("/api/messages").await);
        assert_eq!(latest, all[180..], "the newest 50, oldest first");

        let r = alice.get("/api/messages?limit=3").await;
        assert_eq!(ids(&r), all[227..]);
        let m = &r.json["messages"][2];
        assert_message(m, "alice", "seeded 229", "text");
        assert_eq!(m["user_id"], user["id"]);
        assert_eq!(m.as_object().unwrap().len(), 6, "exactly the Message fields: {m}");

        assert_eq!(ids(&alice.get(&format!("/api/messages?limit=5&before_id={}", all[100])).await), all[95..100]);
        assert_eq!(ids(&alice.get(&format!("/api/messages?before_id={}", all[10])).await), all[..10]);
        assert_eq!(ids(&alice.get(&format!("/api/messages?limit=4&after_id={}", all[100])).await), all[101..105]);
        assert_eq!(ids(&alice.get(&format!("/api/messages?after_id={}", all[0])).await), all[1..51], "default limit 50");
        assert!(ids(&alice.get(&format!("/api/messages?after_id={}", all[229])).await).is_empty());

        assert_eq!(ids(&alice.get("/api/messages?limit=500").await), all[30..], "a limit over 200 is 200");
        assert_eq!(ids(&alice.get("/api/messages?limit=200").await).len(), 200);
        assert_eq!(ids(&alice.get(&format!("/api/messages?limit=1000&after_id={}", all[0] - 1)).await), all[..200]);
    }
}

on_both_backends! {
    /// Only messages of the retention window (7 days) are returned.
    async fn messages_returns_only_the_retention_window(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let user = alice.get("/api/current_user").await.json["user"].clone();
        let old = seed(&server, &user, 3, chrono::Duration::days(8)).await;
        let recent = seed(&server, &user, 2, chrono::Duration::days(6)).await;
        assert_eq!(ids(&alice.get("/api/messages").await), recent);
        assert_eq!(ids(&alice.get(&format!("/api/messages?after_id={}", old[0] - 1)).await), recent);
        assert!(ids(&alice.get(&format!("/api/messages?before_id={}", recent[0])).await).is_empty());
    }
}

on_both_backends! {
    /// 400 for a limit below 1, or a limit, before_id or after_id that is not
    /// a whole number; 401 when not logged in.
    async fn messages_refuses_bad_parameters_with_400_and_strangers_with_401(backend: Backend) {
        let server = TestServer::start(backend).await;
        let r = server.client().get("/api/messages").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_error_shape(&r.json);

        let alice = server.user("alice").await;
        for q in [
            "limit=0", "limit=-1", "limit=abc", "limit=1.5", "limit=", "limit=1e2",
            "before_id=x", "before_id=2.0", "after_id=one", "after_id=1.5", "after_id=",
            // Ids are never negative (Flask answers 400 too); 0 stays valid.
            "before_id=-1", "after_id=-1", "after_id=-9223372036854775808",
        ] {
            let r = alice.get(&format!("/api/messages?{q}")).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
            assert_error_shape(&r.json);
        }
        for q in ["after_id=0", "before_id=0"] {
            let r = alice.get(&format!("/api/messages?{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        }
    }
}

// ---------------------------------------------------------------- uploads

on_both_backends! {
    /// 200 `{"success": true, "url": "/uploads/<name>", "filename": "<name>"}`;
    /// the image is then served with its content type and nosniff.
    async fn upload_stores_an_image_and_serves_it_with_nosniff(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let png = png_bytes();
        // Judged by its bytes: a PNG called .txt and sent as text/plain is a PNG.
        let r = alice.upload("file", "notes.txt", "text/plain", png.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json["success"], true);
        let name = r.json["filename"].as_str().unwrap().to_owned();
        assert_eq!(r.json["url"], format!("/uploads/{name}"));
        assert!(!name.contains('/') && !name.contains(".."), "{name}");
        assert_eq!(r.json.as_object().unwrap().len(), 3, "{}", r.text);

        let got = server.client().http.get(server.url(&format!("/uploads/{name}"))).send().await.unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.headers()["content-type"], "image/png");
        assert_eq!(got.headers()["x-content-type-options"], "nosniff");
        assert_eq!(got.bytes().await.unwrap().to_vec(), png);

        for (bytes, mime) in [
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF\0rest of a jpeg".to_vec(), "image/jpeg"),
            (b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(), "image/gif"),
            (b"RIFF\x1a\0\0\0WEBPVP8 \x0e\0\0\0rest".to_vec(), "image/webp"),
        ] {
            let r = alice.upload("file", "x.bin", "application/octet-stream", bytes.clone()).await;
            assert_eq!(r.status, StatusCode::OK, "{mime}: {}", r.text);
            let got = server.client().http.get(server.url(r.json["url"].as_str().unwrap())).send().await.unwrap();
            assert_eq!(got.headers()["content-type"], mime);
            assert_eq!(got.headers()["x-content-type-options"], "nosniff");
            assert_eq!(got.bytes().await.unwrap().to_vec(), bytes);
        }
    }
}

on_both_backends! {
    /// 400 for no file or a file that is not a PNG/JPEG/GIF/WebP by its
    /// bytes (whatever its name); 401 when not logged in.
    async fn upload_refuses_non_images_and_missing_files_with_400_and_strangers_with_401(backend: Backend) {
        let server = TestServer::start(backend).await;
        let r = server.client().upload("file", "cat.png", "image/png", png_bytes()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_error_shape(&r.json);

        let alice = server.user("alice").await;
        for (name, bytes) in [
            ("cat.png", b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec()),
            ("cat.png", b"<html><script>alert(1)</script>".to_vec()),
            ("cat.gif", b"GIF8".to_vec()),
            ("cat.webp", b"RIFF\x1a\0\0\0WAVEfmt ".to_vec()),
            ("cat.jpg", Vec::new()),
        ] {
            let r = alice.upload("file", name, "image/png", bytes.clone()).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}: {}", String::from_utf8_lossy(&bytes), r.text);
            assert_error_shape(&r.json);
        }
        let r = alice.upload("image", "cat.png", "image/png", png_bytes()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "the field must be `file`: {}", r.text);
        assert_error_shape(&r.json);
        let r = alice.post_raw("/api/upload", Some("application/json"), b"{}".to_vec()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "not multipart: {}", r.text);
        assert_error_shape(&r.json);
        let empty = reqwest::multipart::Form::new().text("note", "no file here");
        let r = alice.http.post(alice.url("/api/upload")).multipart(empty).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);

        let stored: Vec<_> = std::fs::read_dir(server.upload_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(stored.is_empty(), "nothing refused was kept: {stored:?}");
    }
}

on_both_backends! {
    /// 5 MiB (5,242,880 bytes) is accepted; one byte more is 413.
    async fn upload_accepts_five_mib_and_answers_413_above(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut bytes = png_bytes();
        bytes.resize(5_242_880, 0);
        let r = alice.upload("file", "big.png", "image/png", bytes.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "exactly 5 MiB: {}", r.text);
        let got = server.client().http.get(server.url(r.json["url"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(got.bytes().await.unwrap().len(), 5_242_880);

        bytes.push(0);
        let r = alice.upload("file", "big.png", "image/png", bytes).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "5,242,881 bytes: {}", r.text);
        assert_error_shape(&r.json);
        let stored = std::fs::read_dir(server.upload_dir()).unwrap().count();
        assert_eq!(stored, 1, "the refused file left nothing behind");
    }
}

/// A multipart upload sent chunked, with no Content-Length: the limit must
/// hold while streaming, not only on a declared length.
async fn upload_chunked(client: &Client, file: &[u8]) -> (StatusCode, Value, String) {
    let boundary = "chat-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let cookie = client.cookie_header().unwrap();
    let (status, text) = common::http::raw_post_chunked(
        client.addr,
        "/api/upload",
        &[("Content-Type", &content_type), ("Cookie", &cookie)],
        &body,
    )
    .await;
    // The body may itself be chunked: take the JSON object inside.
    let json = text
        .find('{')
        .and_then(|a| text.rfind('}').map(|b| &text[a..=b]))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or(Value::Null);
    (StatusCode::from_u16(status).unwrap(), json, text)
}

on_both_backends! {
    /// The 5 MiB limit holds for a chunked upload that declares no length.
    async fn upload_limit_holds_for_a_chunked_body_without_content_length(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut bytes = png_bytes();
        bytes.resize(5_242_880, 7);
        let (status, json, text) = upload_chunked(&alice, &bytes).await;
        assert_eq!(status, StatusCode::OK, "exactly 5 MiB, chunked: {text}");
        assert_eq!(json["success"], true);
        bytes.push(7);
        let (status, json, text) = upload_chunked(&alice, &bytes).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "5,242,881 bytes, chunked: {text}");
        assert_error_shape(&json);
        assert_eq!(std::fs::read_dir(server.upload_dir()).unwrap().count(), 1, "the refused file left nothing behind");
    }
}

on_both_backends! {
    /// `GET /uploads/<name>`: 404 for a missing name and for any path that
    /// would leave the upload folder.
    async fn uploads_answers_404_for_missing_files_and_traversal(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        alice.upload_png().await;
        for path in [
            "/uploads/missing.png",
            "/uploads/../secret.txt",
            "/uploads/..%2Fsecret.txt",
            "/uploads/%2e%2e/secret.txt",
            "/uploads/%2e%2e%2fsecret.txt",
            "/uploads/..%5Csecret.txt",
            "/uploads/./../secret.txt",
            "/uploads//../secret.txt",
            "/uploads/../web/hello.txt",
            "/uploads/%2e%2e/%2e%2e/etc/passwd",
            // Names this server could not have issued never reach the file
            // system (a name past 255 bytes made it answer 500).
            format!("/uploads/{}", "a".repeat(256)).as_str(),
            format!("/uploads/{}.png", "a".repeat(4000)).as_str(),
            "/uploads/%00.png",
            "/uploads/名字.png",
            "/uploads/.hidden.png",
        ] {
            let (status, _, body) = raw_get(server.addr, path).await;
            let body = String::from_utf8_lossy(&body);
            assert!(!body.contains(SECRET) && !body.contains(HELLO_TXT), "{path} leaked a file: {body}");
            assert_eq!(status, 404, "{path}: {body}");
        }
    }
}

on_both_backends! {
    /// `GET /api/settings`: the upload limit the page shows, from `--max-upload-mb`.
    async fn settings_tell_the_page_the_upload_limit(backend: Backend) {
        let server = TestServer::start_with(backend, &["--max-upload-mb", "3"]).await;
        let r = server.client().get("/api/settings").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.json, json!({"success": true, "max_upload_bytes": 3 * 1024 * 1024, "recall_seconds": 120}));
    }
}

on_both_backends! {
    /// Every answer of the JSON API has the failure shape: a known path with
    /// the wrong method (405) and a missing upload (404) too.
    async fn wrong_methods_and_missing_uploads_answer_json(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        let r = c.get("/api/login").await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text);
        assert_error_shape(&r.json);
        assert!(r.header("allow").is_some_and(|a| a.contains("POST")), "Allow names POST");
        let r = c.get("/uploads/0123456789abcdef.png").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        assert_error_shape(&r.json);
    }
}

on_both_backends! {
    /// `/metrics` counts failed logins as well as successful and locked ones.
    async fn failed_logins_are_counted_in_the_metrics(backend: Backend) {
        let server = TestServer::start(backend).await;
        server.user("alice").await;
        let r = server.client().try_login("alice", "not-her-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        let metrics = server.client().get("/metrics").await;
        assert!(
            metrics.text.contains(r#"chat_logins_total{result="failure"}"#),
            "{}",
            metrics.text
        );
    }
}

// ---------------------------------------------------------------- the page

on_both_backends! {
    /// `/` is index.html; a file of the web folder is served; any other path
    /// outside `/api/` is index.html (the Flask catch-all); `/api/...` is 404.
    async fn page_catch_all_serves_index_html_but_unknown_api_paths_are_404(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        let root = c.get("/").await;
        assert_eq!(root.status, StatusCode::OK);
        assert_eq!(root.text, INDEX_HTML);
        assert!(root.header("content-type").unwrap().starts_with("text/html"));

        // A segment no file name can be as long as: index.html, never the
        // file system's "name too long" (a 500).
        for path in [
            format!("/{}", "a".repeat(257)),
            format!("/{}", "%41".repeat(256)),
            format!("/index.html/{}", "b".repeat(300)),
            format!("/x/{}", "c".repeat(9000)),
        ] {
            let r = c.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{}", &path[..20]);
            assert_eq!(r.text, INDEX_HTML);
        }

        // A file name no file system takes (a NUL byte) is no file either,
        // for HEAD as for GET: HEAD answered 500 (a tower-http bug,
        // docs/PATCHES.md).
        for path in ["/a%00b", "//5%E4%B8%AD%00C%0A", "/index.html%00", "/x/%00/y.js"] {
            for method in ["GET", "HEAD"] {
                let (status, head, _) = raw_request(server.addr, method, path).await;
                assert_eq!(status, 200, "{method} {path}: {head}");
                assert!(head.to_ascii_lowercase().contains("content-type: text/html"), "{method} {path}: {head}");
            }
        }

        let file = c.get("/hello.txt").await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.text, HELLO_TXT);

        for path in ["/room", "/some/deep/route", "/login?next=/", "/apifoo", "/index"] {
            let r = c.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert_eq!(r.text, INDEX_HTML, "{path}");
        }
        for path in ["/api/nope", "/api/", "/api/messages/extra", "/api/v2/users"] {
            let r = c.get(path).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text);
            assert_error_shape(&r.json);
        }
        let r = c.post_json("/api/nope", &json!({})).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_error_shape(&r.json);
        // The catch-all does not reach outside the web folder.
        let (status, _, body) = raw_get(server.addr, "/../secret.txt").await;
        assert!(!String::from_utf8_lossy(&body).contains(SECRET), "status {status}");
    }
}

on_both_backends! {
    /// Without a web folder the page built into the binary is served, with
    /// the same catch-all.
    async fn page_built_into_the_binary_is_served_without_a_web_folder(backend: Backend) {
        let server = TestServer::start_with(backend, &["--web-dir", "/nonexistent/web"]).await;
        let c = server.client();
        for path in ["/", "/some/route"] {
            let r = c.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert!(r.header("content-type").unwrap().starts_with("text/html"), "{path}");
            assert!(r.text.to_ascii_lowercase().contains("<html"), "{path}: an HTML page");
        }
        assert_eq!(c.get("/api/nope").await.status, StatusCode::NOT_FOUND);
    }
}

on_both_backends! {
    /// The official client is served at /socket.io/socket.io.js and .min.js.
    async fn socket_io_client_script_is_served(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        for path in ["/socket.io/socket.io.js", "/socket.io/socket.io.min.js"] {
            let r = c.get(path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert!(r.header("content-type").unwrap().contains("javascript"), "{path}");
            assert!(r.text.len() > 10_000, "{path} is the real client");
            assert!(r.text.contains("io"), "{path}");
        }
    }
}

on_both_backends! {
    /// `GET /healthz` answers 200 while the database answers.
    async fn healthz_answers_200(backend: Backend) {
        let server = TestServer::start(backend).await;
        let r = server.client().get("/healthz").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
}

// ---------------------------------------------------------------- malformed requests

on_both_backends! {
    /// Malformed JSON, a wrong content type and an oversized body all get the
    /// JSON error shape, never a plain-text framework error.
    async fn malformed_json_bodies_get_the_json_error_shape(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        for path in ["/api/register", "/api/login"] {
            for (ct, body) in [
                (Some("application/json"), b"{".to_vec()),
                (Some("application/json"), b"{\"username\": \"alice\",}".to_vec()),
                (Some("application/json"), b"".to_vec()),
                (Some("application/json"), b"\xff\xfe".to_vec()),
                (Some("text/plain"), br#"{"username": "alice", "password": "secret123"}"#.to_vec()),
                (Some("application/x-www-form-urlencoded"), b"username=alice&password=secret123".to_vec()),
                (None, br#"{"username": "alice", "password": "secret123"}"#.to_vec()),
            ] {
                let r = c.post_raw(path, ct, body.clone()).await;
                assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path} {ct:?} {:?}: {}", String::from_utf8_lossy(&body), r.text);
                assert_error_shape(&r.json);
                assert!(r.header("content-type").unwrap().starts_with("application/json"));
            }
            let mut huge = br#"{"username": "alice", "password": ""#.to_vec();
            huge.extend(std::iter::repeat_n(b'x', 2 << 20));
            huge.extend(br#""}"#);
            let r = c.post_raw(path, Some("application/json"), huge).await;
            assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{path} oversized: {}", r.text);
            assert_error_shape(&r.json);
        }
        // And the server is still fine.
        server.client().register("alice", PASSWORD).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
