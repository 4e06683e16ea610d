//! The real binary stops gracefully on SIGTERM: open sockets are closed and
//! the process exits with status 0.

#[macro_use]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::StatusCode;
use serde_json::json;

/// A free port of 127.0.0.1 (bound, read, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_the_sockets_and_exits_with_status_0() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bcrypt-cost",
            "4",
        ])
        .arg("--database-url")
        .arg(dir.path().join("chat_app.db"))
        .arg("--upload-dir")
        .arg(dir.path().join("uploads"))
        .arg("--web-dir")
        .arg(dir.path().join("web"))
        .env_remove("DATABASE_URL")
        .env_remove("PORT")
        .env_remove("HOST")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the chat-server binary");
    let mut process = Process(child);
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();

    let client = Client::new(addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.http.get(client.url("/healthz")).send().await {
            if r.status() == StatusCode::OK {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the server did not answer /healthz within 30 s"
        );
        if let Some(status) = process.0.try_wait().unwrap() {
            panic!("the server exited early with {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.register("alice", PASSWORD).await;
    let mut sock = client.socket().await;
    let ack = sock
        .send_message(json!({"content": "before the end"}))
        .await;
    assert_eq!(ack["success"], true, "{ack}");

    let pid = process.0.id() as libc::pid_t;
    // SAFETY: kill(2) on the pid of a child this test spawned and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "send SIGTERM");

    sock.disconnected().await;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the server was still running 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    sock.closed().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens any more"
    );
    // The message sent before the end is in the database.
    let db = chat_domain::Database::open(
        dir.path().join("chat_app.db").to_str().unwrap(),
        &Default::default(),
    )
    .unwrap();
    let stored = db
        .run(|conn| {
            chat_domain::messages::page(
                conn,
                chat_domain::Page::Latest { limit: 10 },
                chat_domain::timestamps::now() - chrono::Duration::days(1),
            )
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].content, "before the end");
}
