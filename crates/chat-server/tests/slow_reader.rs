//! A socket that stops reading must not be left with holes in its history:
//! once its send queue overflows it gets nothing more and is disconnected, so
//! that its page reconnects and catches up from the last message it has.

mod common;

use std::time::Duration;

use common::{Backend, TestServer};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// The server's queue is made tiny and the reader's kernel buffer small, so a
/// few megabytes of traffic overflow them.
const QUEUE: &str = "128";
const SENDERS: usize = 40;
const PER_SENDER: usize = 20;

/// Ids of the `new_message`s in a run of Engine.IO text frames, and whether a
/// Socket.IO DISCONNECT arrived.
fn read_frames(frames: &[String]) -> (Vec<i64>, bool) {
    let mut ids = Vec::new();
    let mut disconnected = false;
    for f in frames {
        if f == "41" {
            disconnected = true;
        } else if let Some(body) = f.strip_prefix("42") {
            if let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(body) {
                if parts.first().and_then(Value::as_str) == Some("new_message") {
                    if let Some(id) = parts.get(1).and_then(|m| m["id"].as_i64()) {
                        ids.push(id);
                    }
                }
            }
        }
    }
    (ids, disconnected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_whose_queue_overflows_is_disconnected_without_holes() {
    common::init_logging();
    // 40 accounts from one address: past the default registration limit.
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--send-queue-packets", QUEUE, "--register-limit", "0"],
    )
    .await;

    // The slow reader: a websocket over a socket with a small receive buffer.
    let reader = server.user("slowpoke").await;
    let cookie = reader.cookie_header().expect("logged in");
    let tcp = TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(server.addr).await.unwrap();
    let mut request = format!("ws://{}/socket.io/?EIO=4&transport=websocket", server.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&cookie).unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    let open = ws.next().await.unwrap().unwrap();
    assert!(
        open.to_text().unwrap().starts_with('0'),
        "engine.io open: {open:?}"
    );
    ws.send(Message::Text("40".into())).await.unwrap();
    loop {
        let frame = ws.next().await.unwrap().unwrap();
        let text = frame.to_text().unwrap();
        if text == "2" {
            ws.send(Message::Text("3".into())).await.unwrap();
            continue;
        }
        assert!(text.starts_with("40"), "namespace connect: {text}");
        break;
    }

    // It stops reading. Others send large messages, all acknowledged.
    let big = "😀".repeat(1990);
    let mut senders = Vec::new();
    for i in 0..SENDERS {
        let user = server.user(&format!("flood{i}")).await;
        senders.push(user.socket().await);
    }
    let mut acked = Vec::new();
    for round in 0..PER_SENDER {
        let ids: Vec<u64> = senders
            .iter_mut()
            .map(|s| {
                s.emit_with_ack(
                    "send_message",
                    &json!({ "content": format!("{round} {big}") }),
                )
            })
            .collect();
        for (s, id) in senders.iter_mut().zip(ids) {
            let ack = s.ack(id).await;
            assert_eq!(ack["success"], true, "{ack}");
            acked.push(ack["message"]["id"].as_i64().unwrap());
        }
    }
    acked.sort_unstable();

    // Now it reads everything that was queued for it.
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let t = t.to_string();
                if t == "2" {
                    let _ = ws.send(Message::Text("3".into())).await;
                }
                let done = t == "41";
                frames.push(t);
                if done {
                    break;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_))) | Ok(None) => break, // closed by the server
            Err(_) => panic!("the slow reader was neither disconnected nor closed within 20 s"),
        }
    }
    let (ids, _) = read_frames(&frames);
    assert!(
        ids.len() < acked.len(),
        "the flood did overflow the queue ({} of {})",
        ids.len(),
        acked.len()
    );
    // What it got is exactly the first messages, in order: no hole.
    assert_eq!(
        ids,
        acked[..ids.len()].to_vec(),
        "a contiguous prefix, in id order"
    );

    // The others, who kept reading, got everything.
    let healthy = &mut senders[0];
    let mut seen = Vec::new();
    while seen.len() < acked.len() {
        let m = healthy.event("new_message").await;
        seen.push(m["id"].as_i64().unwrap());
    }
    assert_eq!(seen, acked);

    // The metrics say what happened.
    let metrics = server.client().get("/metrics").await;
    assert!(
        metrics.text.contains("chat_slow_readers_evicted_total"),
        "{}",
        metrics.text
    );
}
