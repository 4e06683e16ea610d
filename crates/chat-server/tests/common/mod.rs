//! The harness of the server's integration tests: the real app in-process on
//! 127.0.0.1:0 over a fresh database (chat-testkit's TestDatabase: a SQLite
//! file in a temporary folder, or a new PostgreSQL database dropped
//! afterwards), an HTTP client with a cookie jar, and chat-testkit's
//! Socket.IO v5 / Engine.IO v4 client over a websocket.
#![allow(dead_code)]

pub mod http;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_server::Config;
use clap::Parser;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[allow(unused_imports)]
pub use self::http::Client;
#[allow(unused_imports)]
pub use chat_testkit::socketio::{Incoming, Sock};
#[allow(unused_imports)]
pub use chat_testkit::{on_both_backends, Backend, TestDatabase, WAIT};

/// A sample of `/metrics` (0 when absent), e.g. `chat_refusals_total{reason="register"}`.
/// The recorder is the test process's: tests running beside each other add
/// to the same counters, so a test asserts what its own actions added at least.
pub async fn metric(server: &TestServer, sample: &str) -> f64 {
    let metrics = server.client().get("/metrics").await.text;
    let prefix = format!("{sample} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// `chat_refusals_total{reason}` (see [`metric`]).
pub async fn refusals(server: &TestServer, reason: &str) -> u64 {
    metric(
        server,
        &format!("chat_refusals_total{{reason=\"{reason}\"}}"),
    )
    .await as u64
}

/// A password that passes the protocol's bounds.
pub const PASSWORD: &str = "secret123";

/// The real app, served in-process on an ephemeral port of 127.0.0.1.
pub struct TestServer {
    pub addr: SocketAddr,
    /// Holds `uploads/`, `web/` and a `secret.txt` beside them.
    pub dir: tempfile::TempDir,
    /// A fresh database (nothing opened it: the server migrates it).
    pub db: TestDatabase,
    extra_args: Vec<String>,
    running: Option<Running>,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// The index.html of the web folder the tests serve.
pub const INDEX_HTML: &str = "<!doctype html><title>chat test page</title><p>INDEX-MARKER</p>";
/// Another file of that web folder.
pub const HELLO_TXT: &str = "hello from the web folder";
/// A file beside the upload folder that no URL may reach.
pub const SECRET: &str = "TOP-SECRET-NOT-AN-UPLOAD";

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Starts with extra command-line flags (e.g. `--allowed-origins`).
    pub async fn start_with(backend: Backend, extra_args: &[&str]) -> Self {
        init_logging();
        let dir = tempfile::tempdir().expect("temporary folder");
        let web = dir.path().join("web");
        std::fs::create_dir_all(&web).unwrap();
        std::fs::write(web.join("index.html"), INDEX_HTML).unwrap();
        std::fs::write(web.join("hello.txt"), HELLO_TXT).unwrap();
        std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
        let db = tokio::task::spawn_blocking(move || TestDatabase::unopened(backend))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Self {
            addr,
            dir,
            db,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            running: None,
        };
        server.running = Some(server.launch(listener).await);
        server
    }

    /// The flags of the test server; an extra flag replaces a default one.
    pub fn config(&self) -> Config {
        let defaults = [
            ("--host", "127.0.0.1".to_owned()),
            ("--port", self.addr.port().to_string()),
            ("--database-url", self.db.url().to_owned()),
            (
                "--upload-dir",
                self.upload_dir().to_str().unwrap().to_owned(),
            ),
            (
                "--web-dir",
                self.dir.path().join("web").to_str().unwrap().to_owned(),
            ),
            ("--bcrypt-cost", "4".to_owned()),
            ("--db-pool-size", "4".to_owned()),
        ];
        let mut args: Vec<String> = vec!["chat-server".into()];
        for (flag, value) in defaults {
            if !self.extra_args.iter().any(|a| a == flag) {
                args.push(flag.into());
                args.push(value);
            }
        }
        args.extend(self.extra_args.iter().cloned());
        Config::try_parse_from(args).expect("test configuration parses")
    }

    async fn launch(&self, listener: tokio::net::TcpListener) -> Running {
        let app = chat_server::build(self.config())
            .await
            .expect("the app builds on a fresh database");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(chat_server::serve(listener, app, async move {
            let _ = stopped.await;
        }));
        Running { stop, task }
    }

    pub fn upload_dir(&self) -> PathBuf {
        self.dir.path().join("uploads")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A new HTTP client with its own cookie jar (a browser of its own).
    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// Stops serving: sockets are closed, requests finish.
    pub async fn stop(&mut self) {
        if let Some(Running { stop, task }) = self.running.take() {
            let _ = stop.send(());
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the server stops within 10 s of the shutdown signal")
                .expect("the server task does not panic")
                .expect("the server stops without an I/O error");
        }
    }

    /// Stops the server, then starts a new one on the same database, upload
    /// folder and port, as a restarted process would.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("the port is free again after the stop");
        self.running = Some(self.launch(listener).await);
    }

    /// A handle on the same database, for seeding and checking rows.
    pub async fn database(&self) -> chat_domain::Database {
        let url = self.db.url().to_owned();
        tokio::task::spawn_blocking(move || {
            chat_domain::Database::open(
                &url,
                &chat_domain::DbOptions {
                    pool_size: 2,
                    ..Default::default()
                },
            )
        })
        .await
        .unwrap()
        .expect("open the test database")
    }

    /// Registers a user on a new client, logged in.
    pub async fn user(&self, name: &str) -> Client {
        let client = self.client();
        client.register(name, PASSWORD).await;
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(Running { stop, task }) = self.running.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}

/// The server's logs in the test output when RUST_LOG is set (e.g. RUST_LOG=debug).
pub fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Asserts the protocol's error shape `{"success": false, "error": "<sentence>"}`.
#[track_caller]
pub fn assert_error_shape(body: &serde_json::Value) {
    assert_eq!(body["success"], false, "error body: {body}");
    let error = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("`error` is a string: {body}"));
    assert!(!error.trim().is_empty(), "`error` is a sentence: {body}");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "exactly success and error: {body}"
    );
}

/// Asserts an RFC 3339 UTC time with a `Z` suffix.
#[track_caller]
pub fn assert_utc_time(value: &serde_json::Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("a time string: {value}"));
    assert!(s.ends_with('Z'), "UTC with a Z suffix: {s}");
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("RFC 3339 {s}: {e}"));
}

/// Asserts the `User` object of the protocol.
#[track_caller]
pub fn assert_user(user: &serde_json::Value, username: &str) {
    assert!(user["id"].is_i64(), "id is an integer: {user}");
    assert_eq!(user["username"], username, "{user}");
    assert_utc_time(&user["created_at"]);
    assert!(
        user.get("password_hash").is_none(),
        "no hash on the wire: {user}"
    );
}

/// Asserts the `Message` object of the protocol.
#[track_caller]
pub fn assert_message(m: &serde_json::Value, username: &str, content: &str, kind: &str) {
    assert!(m["id"].is_i64(), "id is an integer: {m}");
    assert!(m["user_id"].is_i64(), "user_id is an integer: {m}");
    assert_eq!(m["username"], username, "{m}");
    assert_eq!(m["content"], content, "{m}");
    assert_eq!(m["message_type"], kind, "{m}");
    assert_utc_time(&m["timestamp"]);
}

/// The smallest PNG header the server must accept as an image.
pub fn png_bytes() -> Vec<u8> {
    let mut b =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    b.extend_from_slice(
        b"\0\0\0\x0bIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82",
    );
    b
}
