//! PROTOCOL.md, Limits: what one address or one user may take, at the
//! defaults (20 accounts per address in 10 minutes, 50 failed logins per
//! address, 20 uploads per user a minute, 20 sockets per user). Refusals are
//! 429 with Retry-After over HTTP and a connect error over Socket.IO; only
//! accepted actions count; each refusal is counted in the metrics.

mod common;

use chat_testkit::socketio::ConnectOutcome;
use common::http::Reply;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// `path` with a name and password, from a client behind the proxy at `ip`
/// (`--behind-proxy` trusts X-Real-IP).
async fn account_call(
    server: &TestServer,
    path: &str,
    ip: &str,
    name: &str,
    password: &str,
) -> Reply {
    let body = json!({"username": name, "password": password});
    server
        .client()
        .post_json_with(path, &body, &[("x-real-ip", ip)])
        .await
}

async fn register_from(server: &TestServer, ip: &str, name: &str) -> Reply {
    account_call(server, "/api/register", ip, name, PASSWORD).await
}

async fn login_from(server: &TestServer, ip: &str, name: &str, password: &str) -> Reply {
    account_call(server, "/api/login", ip, name, password).await
}

/// A 429 of the Limits table: the error shape and a Retry-After within the window.
#[track_caller]
fn assert_limited(r: &Reply, window_s: u64) {
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_error_shape(&r.json);
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After in whole seconds: {:?}", r.headers));
    assert!((1..=window_s).contains(&retry), "Retry-After {retry}");
}

on_both_backends! {
    /// 16 clients of one address registering: 20 accounts, then 429; a
    /// refused registration creates nothing; another address still registers.
    async fn new_accounts_are_limited_per_address(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        let mut created = 0;
        for i in 0..24 {
            let r = c.try_register(&format!("user{i:02}"), PASSWORD).await;
            match r.status {
                StatusCode::CREATED => created += 1,
                _ => assert_limited(&r, 600),
            }
        }
        assert_eq!(created, 20, "20 accounts per address in 10 minutes");
        let r = c.try_login("user20", PASSWORD).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the refused account does not exist");
        assert!(refusals(&server, "register").await >= 4);

        let server = TestServer::start_with(backend, &["--behind-proxy"]).await;
        for i in 0..20 {
            let r = register_from(&server, "2001:db8:7:1::1", &format!("v6user{i:02}")).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        // The same /64 is one address.
        assert_limited(&register_from(&server, "2001:db8:7:1:ffff::9", "v6user20").await, 600);
        let r = register_from(&server, "203.0.113.9", "elsewhere").await;
        assert_eq!(r.status, StatusCode::CREATED, "another address: {}", r.text);
    }
}

on_both_backends! {
    /// 50 failed logins from one address over many names, then every login
    /// from it is 429 (the right password too); other addresses log in.
    async fn failed_logins_are_limited_per_address(backend: Backend) {
        let server = TestServer::start_with(backend, &["--behind-proxy"]).await;
        register_from(&server, "198.51.100.1", "alice").await;
        let guesser = "192.0.2.66";
        for i in 0..50 {
            // Five names, ten guesses each, would lock those names; fifty
            // names with one guess each lock none.
            let r = login_from(&server, guesser, &format!("name{i}"), "wrong-password").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "guess {i}: {}", r.text);
        }
        assert_limited(&login_from(&server, guesser, "alice", PASSWORD).await, 600);
        assert_limited(&login_from(&server, guesser, "name51", "wrong-password").await, 600);
        let r = login_from(&server, "198.51.100.1", "alice", PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "another address: {}", r.text);
        assert!(refusals(&server, "login_failures").await >= 2);
    }
}

on_both_backends! {
    /// 30 registrations of one address at the same moment: exactly 20
    /// accounts (a registration holds its place while it hashes), and one
    /// that fails (a taken name) gives its place back.
    async fn a_burst_of_registrations_does_not_slip_past_the_limit(backend: Backend) {
        let server = TestServer::start(backend).await;
        let c = server.client();
        c.register("taken", PASSWORD).await;
        let r = c.try_register("taken", PASSWORD).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        let burst = (0..30).map(|i| {
            let c = server.client();
            async move { c.try_register(&format!("burst{i:02}"), PASSWORD).await }
        });
        let replies = futures::future::join_all(burst).await;
        let created = replies.iter().filter(|r| r.status == StatusCode::CREATED).count();
        for r in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_limited(r, 600);
        }
        assert_eq!(created, 19, "20 accounts per address: 'taken' and 19 of the burst");
    }
}

/// A PNG of `size` bytes (the server judges the first bytes).
fn png_of(size: usize) -> Vec<u8> {
    let mut b = png_bytes();
    b.resize(size, 0);
    b
}

async fn upload(client: &Client, image: Vec<u8>) -> Reply {
    client.upload("file", "a.png", "image/png", image).await
}

fn stored_files(server: &TestServer) -> usize {
    std::fs::read_dir(server.upload_dir()).unwrap().count()
}

/// One user uploading 40 images of 5 MB: 20 stored, then 429 for the rest
/// of the minute; another user still uploads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_limited_per_user_per_minute() {
    let server = TestServer::start(Backend::Sqlite).await;
    let alice = server.user("alice").await;
    let image = png_of(5 * 1024 * 1024);
    let mut stored = 0;
    for i in 0..40 {
        let r = upload(&alice, image.clone()).await;
        match r.status {
            StatusCode::OK => stored += 1,
            _ => {
                assert_limited(&r, 60);
                assert!(i >= 20, "upload {i} refused: {}", r.text);
            }
        }
    }
    assert_eq!(stored, 20);
    assert_eq!(stored_files(&server), 20, "refused uploads store nothing");
    assert!(refusals(&server, "uploads").await >= 20);
    let bob = server.user("bob").await;
    let r = upload(&bob, png_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "another user: {}", r.text);
}

/// 30 uploads of one user at the same moment: exactly 20 stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_uploads_does_not_slip_past_the_limit() {
    let server = TestServer::start(Backend::Sqlite).await;
    let alice = server.user("alice").await;
    let image = png_of(256 * 1024);
    let burst = (0..30).map(|_| upload(&alice, image.clone()));
    let replies = futures::future::join_all(burst).await;
    let stored = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    for r in replies.iter().filter(|r| r.status != StatusCode::OK) {
        assert_limited(r, 60);
    }
    assert_eq!(stored, 20);
    assert_eq!(stored_files(&server), 20, "refused uploads store nothing");
}

/// The daily quota counts bytes: an upload that would pass it is refused and
/// removed; one that fits exactly is stored.
#[tokio::test]
async fn the_upload_quota_counts_bytes_per_user() {
    let server = TestServer::start_with(Backend::Sqlite, &["--upload-quota-mb", "2"]).await;
    let alice = server.user("alice").await;
    let mib = 1024 * 1024;
    for _ in 0..2 {
        let r = upload(&alice, png_of(mib * 3 / 4)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let r = upload(&alice, png_of(mib * 3 / 4)).await;
    assert_limited(&r, 24 * 60 * 60);
    assert_eq!(stored_files(&server), 2, "the refused file was removed");
    let r = upload(&alice, png_of(mib / 2)).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "exactly the quota fits: {}",
        r.text
    );
    let r = upload(&alice, png_bytes()).await;
    assert_limited(&r, 24 * 60 * 60);
    assert!(refusals(&server, "upload_quota").await >= 2);
}

/// Below `--min-free-mb` on the upload folder's disk: 507, nothing stored;
/// the checks go 401, 413, then 507.
#[tokio::test]
async fn uploads_answer_507_when_the_disk_is_nearly_full() {
    // More free megabytes than any disk here has.
    let server = TestServer::start_with(Backend::Sqlite, &["--min-free-mb", "1000000000"]).await;
    let anonymous = server.client();
    let r = upload(&anonymous, png_bytes()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "401 first: {}", r.text);
    let alice = server.user("alice").await;
    let r = upload(&alice, png_of(6 * 1024 * 1024)).await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "413 before 507: {}",
        r.text
    );
    let r = upload(&alice, png_bytes()).await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.text);
    assert_error_shape(&r.json);
    assert_eq!(stored_files(&server), 0);
    assert!(refusals(&server, "disk_space").await >= 1);

    // At the default (100 MB) this machine's disk has room.
    let server = TestServer::start(Backend::Sqlite).await;
    let bob = server.user("bob").await;
    let r = upload(&bob, png_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn refusal_message(outcome: ConnectOutcome) -> String {
    let data: Value = outcome.refused();
    data["message"].as_str().unwrap_or_default().to_owned()
}

on_both_backends! {
    /// One user opening sockets: 20 at once, the 21st refused with a
    /// sentence; closing one makes room; other users are not affected.
    async fn sockets_are_limited_per_user(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let mut tabs = Vec::new();
        for _ in 0..20 {
            tabs.push(alice.raw_socket().await);
        }
        let message = refusal_message(alice.try_socket().await);
        assert!(message.starts_with("同时打开的窗口太多"), "{message}");
        assert!(message.contains("20"), "the sentence names the limit: {message}");
        let bob = server.user("bob").await;
        let _bob = bob.raw_socket().await;

        tabs.pop().unwrap().close().await;
        let reopened = tokio::time::timeout(WAIT, async {
            loop {
                match alice.try_socket().await {
                    ConnectOutcome::Connected(s) => return s,
                    _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            }
        })
        .await
        .expect("a closed socket gives its place back");
        tabs.push(reopened);
        assert!(refusals(&server, "sockets_per_user").await >= 1);
    }
}

on_both_backends! {
    /// 30 handshakes of one user at the same moment: exactly 20 connect.
    async fn a_burst_of_handshakes_does_not_slip_past_the_limit(backend: Backend) {
        let server = TestServer::start(backend).await;
        let alice = server.user("alice").await;
        let attempts = (0..30).map(|_| alice.try_socket());
        let outcomes = futures::future::join_all(attempts).await;
        let connected = outcomes
            .iter()
            .filter(|o| matches!(o, ConnectOutcome::Connected(_)))
            .count();
        assert_eq!(connected, 20);
        assert!(refusals(&server, "sockets_per_user").await >= 10);
    }
}

/// Registrations from many addresses (a random X-Real-IP each) keep every
/// hashing slot busy; a login meanwhile waits for at most the registrations
/// already hashing, never for the queue: registrations hold at most half of
/// the slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_is_not_queued_behind_a_registration_flood() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    let server = Arc::new(
        TestServer::start_with(Backend::Sqlite, &["--behind-proxy", "--bcrypt-cost", "8"]).await,
    );
    register_from(&server, "198.51.100.1", "alice").await;
    let (registered, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let flood: Vec<_> = (0..32)
        .map(|client| {
            let (server, registered, stop) = (server.clone(), registered.clone(), stop.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let ip = format!("10.{client}.{}.{}", i / 250, i % 250 + 1);
                    let r = register_from(&server, &ip, &format!("flood{client}x{i}")).await;
                    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
                    registered.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Until the queue is long: some registrations have completed.
    while registered.load(Ordering::SeqCst) < 8 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = registered.load(Ordering::SeqCst);
    let r = login_from(&server, "198.51.100.1", "alice", PASSWORD).await;
    let during = registered.load(Ordering::SeqCst) - before;
    stop.store(true, Ordering::SeqCst);
    for task in flood {
        task.await.unwrap();
    }
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // One slot per core, at least two; registrations hold half of them.
    let slots = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    assert!(
        during <= slots,
        "{during} registrations finished while one login waited (slots: {slots}; 32 were queued)"
    );
}
