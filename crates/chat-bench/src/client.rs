//! A minimal Socket.IO v5 client over Engine.IO v4 on a websocket: the
//! handshake and the text frames, parsed without copying.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::config::Target;
use crate::error::ClientError;

pub type Ws = WebSocketStream<TcpStream>;

/// How long one handshake (TCP, websocket upgrade, Engine.IO open, namespace
/// connect) may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// One frame from the server, borrowing from the text it came in.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// Engine.IO open `0{...}`.
    Open(&'a str),
    /// Engine.IO close `1`.
    Close,
    /// Engine.IO ping `2`: answer with pong `3`.
    Ping,
    /// Socket.IO connect `40{"sid":..}`.
    Connect,
    /// Socket.IO disconnect `41`.
    Disconnect,
    /// Socket.IO event `42["name",data]`, data as raw JSON.
    Event { name: &'a str, data: &'a str },
    /// Socket.IO acknowledgement `43<id>[data]`, the array as raw JSON.
    Ack { id: u64, data: &'a str },
    /// Socket.IO connect error `44{"message":..}`.
    ConnectError(&'a str),
    /// Anything else (noop, pong, binary, other namespaces).
    Other,
}

/// Parses one websocket text frame of the default namespace.
pub fn parse(text: &str) -> Frame<'_> {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b'0') => return Frame::Open(&text[1..]),
        Some(b'1') => return Frame::Close,
        Some(b'2') => return Frame::Ping,
        Some(b'4') => {}
        _ => return Frame::Other,
    }
    let rest = text.get(2..).unwrap_or("");
    match bytes.get(1) {
        Some(b'0') if !rest.starts_with('/') => Frame::Connect,
        Some(b'1') if !rest.starts_with('/') => Frame::Disconnect,
        Some(b'2') => parse_event(rest).unwrap_or(Frame::Other),
        Some(b'3') => {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            match rest[..digits].parse() {
                Ok(id) => Frame::Ack {
                    id,
                    data: &rest[digits..],
                },
                Err(_) => Frame::Other,
            }
        }
        Some(b'4') if !rest.starts_with('/') => Frame::ConnectError(rest),
        _ => Frame::Other,
    }
}

/// `["name",data]` (the server never sends an ack id with its events here).
fn parse_event(rest: &str) -> Option<Frame<'_>> {
    let body = rest.strip_prefix("[\"")?;
    let end = body.find('"')?;
    let name = &body[..end];
    let after = body[end + 1..].trim_start();
    let data = match after.strip_prefix(',') {
        Some(d) => d.trim().strip_suffix(']')?.trim_end(),
        None => {
            after.strip_prefix(']')?;
            ""
        }
    };
    Some(Frame::Event { name, data })
}

/// `42<id>["name",data]`: an event that asks for an acknowledgement.
pub fn encode_event_with_ack(id: u64, name: &str, data: &serde_json::Value) -> String {
    let payload = serde_json::json!([name, data]);
    format!("42{id}{payload}")
}

/// The smallest part of the `online_users` payload we need.
#[derive(serde::Deserialize)]
struct OnlineCount {
    count: usize,
}

/// The count of an `online_users` event, if its data is well formed.
pub fn online_count(data: &str) -> Option<usize> {
    serde_json::from_str::<OnlineCount>(data)
        .ok()
        .map(|o| o.count)
}

#[derive(serde::Deserialize)]
struct MessageContent<'a> {
    #[serde(borrow)]
    content: std::borrow::Cow<'a, str>,
}

/// The `content` of a `new_message` event.
pub fn message_content(data: &str) -> Option<std::borrow::Cow<'_, str>> {
    serde_json::from_str::<MessageContent<'_>>(data)
        .ok()
        .map(|m| m.content)
}

#[derive(serde::Deserialize)]
struct AckBody {
    success: bool,
}

/// Whether an acknowledgement `[{"success": ...}]` reports success.
pub fn ack_success(data: &str) -> Option<bool> {
    serde_json::from_str::<(AckBody,)>(data)
        .ok()
        .map(|(b,)| b.success)
}

/// Small buffers: up to ten thousand sockets live in this process.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4096)
        // Every frame goes out at once (we flush after each send anyway).
        .write_buffer_size(0)
        .max_message_size(Some(4 << 20))
        .max_frame_size(Some(4 << 20))
}

/// Opens one Socket.IO connection with the session cookie and connects to the
/// default namespace. Returns once the server has answered `40`.
pub async fn connect(target: &Target, cookie: &str) -> Result<Ws, ClientError> {
    tokio::time::timeout(HANDSHAKE_TIMEOUT, connect_inner(target, cookie))
        .await
        .map_err(|_| ClientError::Timeout(HANDSHAKE_TIMEOUT))?
}

async fn connect_inner(target: &Target, cookie: &str) -> Result<Ws, ClientError> {
    let tcp = TcpStream::connect(target.addr)
        .await
        .map_err(ClientError::Connect)?;
    tcp.set_nodelay(true).map_err(ClientError::Connect)?;
    let mut request = target.ws_url.as_str().into_client_request()?;
    let value = HeaderValue::from_str(&format!("session={cookie}"))
        .map_err(|e| ClientError::Request(e.to_string()))?;
    request.headers_mut().insert("cookie", value);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, tcp, Some(ws_config())).await?;

    // Engine.IO open, then our namespace connect.
    match next_text(&mut ws).await? {
        t if matches!(parse(&t), Frame::Open(_)) => {}
        t => return Err(ClientError::Unexpected(truncate(&t))),
    }
    ws.send(Message::text("40")).await?;
    loop {
        let t = next_text(&mut ws).await?;
        match parse(&t) {
            Frame::Connect => return Ok(ws),
            Frame::ConnectError(data) => return Err(ClientError::Refused(truncate(data))),
            Frame::Ping => ws.send(Message::text("3")).await?,
            Frame::Close | Frame::Disconnect => return Err(ClientError::Closed),
            // A broadcast can overtake the server's `40` (seen with socketioxide
            // under a join storm); socket.io-client buffers such events, we drop them.
            Frame::Event { .. } | Frame::Other => {}
            _ => return Err(ClientError::Unexpected(truncate(&t))),
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, ClientError> {
    loop {
        match ws.next().await {
            None => return Err(ClientError::Closed),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) => return Err(ClientError::Closed),
            Some(Ok(_)) => {}
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_io_frames() {
        assert!(matches!(
            parse(r#"0{"sid":"x","pingInterval":25000}"#),
            Frame::Open(_)
        ));
        assert_eq!(parse("2"), Frame::Ping);
        assert_eq!(parse("1"), Frame::Close);
        assert_eq!(parse("6"), Frame::Other);
        assert_eq!(parse(""), Frame::Other);
        assert_eq!(parse("4"), Frame::Other);
    }

    #[test]
    fn socket_io_frames() {
        assert_eq!(parse(r#"40{"sid":"abc"}"#), Frame::Connect);
        assert_eq!(parse("40/admin,{}"), Frame::Other);
        assert_eq!(parse("41"), Frame::Disconnect);
        assert_eq!(
            parse(r#"44{"message":"unauthorized"}"#),
            Frame::ConnectError(r#"{"message":"unauthorized"}"#)
        );
        assert_eq!(
            parse(r#"42["online_users",{"count":2,"users":["a","b"]}]"#),
            Frame::Event {
                name: "online_users",
                data: r#"{"count":2,"users":["a","b"]}"#
            }
        );
        assert_eq!(
            parse(r#"42["ping_only"]"#),
            Frame::Event {
                name: "ping_only",
                data: ""
            }
        );
        assert_eq!(
            parse(r#"4317[{"success":true}]"#),
            Frame::Ack {
                id: 17,
                data: r#"[{"success":true}]"#
            }
        );
        // Malformed input is never a panic.
        for junk in [
            "42",
            "42[",
            "42[\"x",
            "42[\"x\",",
            "43",
            "43x",
            "4\u{e9}",
            "0",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(parse("43x"), Frame::Other);
    }

    #[test]
    fn payloads() {
        assert_eq!(
            online_count(r#"{"count":3,"users":["a","b","c"]}"#),
            Some(3)
        );
        assert_eq!(online_count("nonsense"), None);
        assert_eq!(online_count(r#"{"users":["a"],"count":1}"#), Some(1));
        assert_eq!(online_count(r#"{"count":12}"#), Some(12));
        assert_eq!(online_count(r#"{"count":1x}"#), None);
        let data = r#"{"id":1,"user_id":2,"username":"u","content":"bench 1 2 3 4","message_type":"text","timestamp":"t"}"#;
        assert_eq!(message_content(data).as_deref(), Some("bench 1 2 3 4"));
        assert_eq!(
            ack_success(r#"[{"success":true,"message":{"id":1}}]"#),
            Some(true)
        );
        assert_eq!(
            ack_success(r#"[{"success":false,"error":"flood"}]"#),
            Some(false)
        );
        assert_eq!(ack_success("[]"), None);
        assert_eq!(
            encode_event_with_ack(5, "send_message", &serde_json::json!({"content": "hi"})),
            r#"425["send_message",{"content":"hi"}]"#
        );
    }
}
