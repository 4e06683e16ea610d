//! `chat-server healthcheck`, the container's health check (the image has no
//! curl): exit 0 when the local server's /healthz answers 200, non-zero
//! otherwise, within a few seconds.

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// Runs `chat-server healthcheck ARGS` with PORT=port; the output and how long it took.
async fn healthcheck(port: u16, args: &[&str]) -> (Output, Duration) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .arg("healthcheck")
            .args(&args)
            .env("PORT", port.to_string())
            // The image sets HOST=0.0.0.0: the check still asks the loopback address.
            .env("HOST", "0.0.0.0")
            .output()
            .expect("run chat-server healthcheck");
        (out, start.elapsed())
    })
    .await
    .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A port nobody listens on (bound, read, released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_server_is_healthy() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (out, took) = healthcheck(server.addr.port(), &[]).await;
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_port_flag_wins_over_the_port_variable() {
    let server = TestServer::start(Backend::Sqlite).await;
    let port = server.addr.port().to_string();
    let (out, _) = healthcheck(closed_port(), &["--port", &port]).await;
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_port_is_unhealthy() {
    let (out, took) = healthcheck(closed_port(), &[]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("/healthz"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_is_unhealthy_after_the_timeout() {
    // Connections complete in the backlog; nothing ever reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (out, took) = healthcheck(port, &["--timeout-s", "1"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    drop(listener);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_200_answer_is_unhealthy() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answerer = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = conn.read(&mut buf);
        let _ = conn.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    });
    let (out, _) = healthcheck(port, &[]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("503"), "{}", stderr(&out));
    answerer.join().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn server_flags_still_parse_without_the_subcommand() {
    // `chat-server --help` is the server's own help, which names the check.
    let out = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_chat-server"))
            .arg("--help")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("--port") && help.contains("healthcheck"),
        "{help}"
    );
}
