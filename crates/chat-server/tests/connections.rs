//! PROTOCOL.md, Limits: what a connection may hold, at the defaults. A
//! connection that has not sent its request headers 10 s after it opened is
//! closed; a keep-alive connection idle for 75 s between requests is closed;
//! a request body that brings less than 1 KiB in 10 s is answered 408 and
//! closed; an Engine.IO session without its Socket.IO connect after 10 s is
//! closed. Open connections are `chat_http_connections_open`.
//!
//! The tests take turns: the open-connections gauge is the test process's,
//! and each test counts its own connections in it.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};
use tokio::time::Instant;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How late a close may come after its deadline on a busy test machine.
const SLACK: Duration = Duration::from_secs(3);

const OPEN_GAUGE: &str = "chat_http_connections_open";

/// Keeps reading `tcp` and reports, once, how long after `opened` the server
/// closed it.
fn watch_close(mut tcp: TcpStream, opened: Instant, closed: mpsc::UnboundedSender<Duration>) {
    tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let _ = closed.send(opened.elapsed());
    });
}

/// How many closes have been reported so far.
fn count_closed(closed: &mut mpsc::UnboundedReceiver<Duration>, seen: &mut Vec<Duration>) -> usize {
    while let Ok(after) = closed.try_recv() {
        seen.push(after);
    }
    seen.len()
}

/// Reads one response of a keep-alive connection (its head and a body of
/// Content-Length bytes) and returns its status and text.
async fn read_response(tcp: &mut (impl AsyncRead + Unpin)) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                return (status, String::from_utf8_lossy(&buf).into_owned());
            }
        }
        // Long enough for a trickled body's whole window.
        let n = tokio::time::timeout(WAIT + HEADER_TIMEOUT + SLACK, tcp.read(&mut chunk))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before the response ended");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn open_gauge(server: &TestServer) -> f64 {
    metric(server, OPEN_GAUGE).await
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed_after_10_s() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Backend::Sqlite).await;
    let before = open_gauge(&server).await;
    let (report, mut closed) = mpsc::unbounded_channel();
    let opened = Instant::now();
    for _ in 0..300 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        // A head that never ends.
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        watch_close(tcp, opened, report.clone());
    }
    let mut seen = Vec::new();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        count_closed(&mut closed, &mut seen),
        0,
        "closed early: {seen:?}"
    );
    // The gauge's own request is one more connection.
    let open = open_gauge(&server).await;
    assert!(
        open >= before + 300.0,
        "{OPEN_GAUGE} {open}, before {before}"
    );

    tokio::time::sleep_until(opened + HEADER_TIMEOUT + SLACK).await;
    assert_eq!(
        count_closed(&mut closed, &mut seen),
        300,
        "all closed by then"
    );
    assert!(seen
        .iter()
        .all(|&after| after >= HEADER_TIMEOUT - Duration::from_millis(500)));
    assert!(refusals(&server, "header_timeout").await >= 300);
    let open = open_gauge(&server).await;
    assert!(
        open <= before + 1.0,
        "{OPEN_GAUGE} {open} after the closes, before {before}"
    );
}

#[tokio::test]
async fn keep_alive_connections_idle_for_75_s_are_closed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Backend::Sqlite).await;
    let (report, mut closed) = mpsc::unbounded_channel();
    let mut last_answer = Instant::now();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(server.addr).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut tcp).await.0, 200);
        last_answer = Instant::now();
        watch_close(tcp, last_answer, report.clone());
    }
    // One connection keeps asking every 30 s: it is never idle for long.
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    let mut seen = Vec::new();
    for i in 0..3 {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(read_response(&mut busy).await.0, 200);
    }
    assert_eq!(
        count_closed(&mut closed, &mut seen),
        0,
        "closed early: {seen:?}"
    );

    tokio::time::sleep_until(last_answer + IDLE_TIMEOUT + SLACK).await;
    assert_eq!(
        count_closed(&mut closed, &mut seen),
        200,
        "all closed by then"
    );
    assert!(refusals(&server, "idle_timeout").await >= 200);
    busy.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_response(&mut busy).await.0,
        200,
        "a connection in use is kept"
    );
}

/// Sends the head of a POST with a body of `length` bytes, then `per_second`
/// bytes of it every second, until the server answers; returns the answer's
/// status and text, and the connection to read on.
async fn trickle(
    addr: SocketAddr,
    path: &str,
    length: usize,
    per_second: usize,
) -> (u16, String, OwnedReadHalf) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = tcp.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let sender = tokio::spawn(async move {
        let mut sent = 0;
        while sent < length {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let n = per_second.min(length - sent);
            if writer.write_all(&vec![b' '; n]).await.is_err() {
                break;
            }
            sent += n;
        }
        // Kept open until the test is done with the connection.
        std::future::pending::<()>().await;
    });
    let (status, text) = read_response(&mut reader).await;
    sender.abort();
    (status, text, reader)
}

#[tokio::test]
async fn a_request_body_that_trickles_in_is_answered_408_and_closed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Backend::Sqlite).await;
    let refused_before = refusals(&server, "body_too_slow").await;
    let started = Instant::now();
    // 100 bytes a second of a 4,000-byte login: under 1 KiB in 10 s.
    let (status, text, mut rest) = trickle(server.addr, "/api/login", 4000, 100).await;
    let took = started.elapsed();
    assert_eq!(status, 408, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    let body: Value = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_error_shape(&body);
    assert!(
        (HEADER_TIMEOUT..HEADER_TIMEOUT + SLACK).contains(&took),
        "cut after {took:?}"
    );
    let mut buf = [0u8; 64];
    let after = tokio::time::timeout(WAIT, rest.read(&mut buf)).await;
    assert!(matches!(after, Ok(Ok(0) | Err(_))), "closed: {after:?}");
    assert!(refusals(&server, "body_too_slow").await > refused_before);

    // 200 bytes a second (2 KiB per 10 s) is slow but allowed: the login
    // gets its answer (400: the body is blanks, not JSON).
    let (status, text, _) = trickle(server.addr, "/api/login", 2400, 200).await;
    assert_eq!(status, 400, "{text}");
}

#[tokio::test]
async fn an_engine_io_session_without_its_socket_io_connect_is_closed_after_10_s() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Backend::Sqlite).await;
    let user = server.user("quiet").await;
    let http = reqwest::Client::new();
    let cookie = user.cookie_header().unwrap();
    // The Engine.IO handshake: `0{"sid": …}`.
    let open = |http: &reqwest::Client| {
        http.get(server.url("/socket.io/?EIO=4&transport=polling"))
            .header("cookie", &cookie)
            .send()
    };
    let handshake = open(&http).await.unwrap().text().await.unwrap();
    let sid = serde_json::from_str::<Value>(handshake.trim_start_matches('0')).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let post_connect = |sid: String| {
        http.post(server.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
            .header("cookie", &cookie)
            .body("40")
            .send()
    };
    tokio::time::sleep(HEADER_TIMEOUT + SLACK).await;
    let late = post_connect(sid).await.unwrap();
    assert_eq!(late.status(), 400, "the session is gone: {late:?}");

    // A session that connects at once is a Socket.IO connection as usual.
    let handshake = open(&http).await.unwrap().text().await.unwrap();
    let sid = serde_json::from_str::<Value>(handshake.trim_start_matches('0')).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let on_time = post_connect(sid.clone()).await.unwrap();
    assert_eq!(on_time.status(), 200);
    // The connect's answer `40{…}`, among the packets of the next polls
    // (separated by U+001E; a ping may come first).
    let mut packets = Vec::new();
    for _ in 0..3 {
        let poll = http
            .get(server.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}")))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        packets.extend(poll.split('\u{1e}').map(str::to_owned));
        if packets.iter().any(|p| p.starts_with("40{")) {
            break;
        }
    }
    assert!(
        packets.iter().any(|p| p.starts_with("40{")),
        "connected: {packets:?}"
    );
}
