//! The load generator's Socket.IO v5 client over Engine.IO v4 on a websocket:
//! chat-testkit's (the one the server tests use), its frames parsed without
//! copying. What is the bench's own: small buffers, one deadline for the whole
//! handshake, and the errors of a report.

use std::time::Duration;

use chat_testkit::socketio::{self, ConnectError, Headers};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub use chat_testkit::socketio::{
    ack_success, encode_event_with_ack, message_content, online_count, parse, Frame, Ws,
};

use crate::config::Target;
use crate::error::ClientError;

/// How long one handshake (TCP, websocket upgrade, Engine.IO open, namespace
/// connect) may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

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
    let cookie = format!("session={cookie}");
    let headers = Headers {
        cookie: Some(&cookie),
        origin: None,
    };
    let mut ws = socketio::open_websocket(target.addr, &target.ws_url, headers, ws_config())
        .await
        .map_err(client_error)?;
    // A broadcast can overtake the server's `40`: socket.io-client buffers
    // such events, we drop them.
    socketio::handshake(&mut ws, |_| Ok(()))
        .await
        .map_err(client_error)?;
    Ok(ws)
}

/// The kit's error as the report names it (server texts cut to 200 characters).
fn client_error(e: ConnectError) -> ClientError {
    ClientError::Handshake(match e {
        ConnectError::Unexpected(t) => ConnectError::Unexpected(truncate(&t)),
        ConnectError::Refused(t) => ConnectError::Refused(truncate(&t)),
        other => other,
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}
