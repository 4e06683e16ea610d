//! Opening a Socket.IO connection: the websocket upgrade with the session
//! cookie (and an Origin, if any), the Engine.IO open packet, then the
//! namespace connect `40`. Timeouts are the caller's.

use std::net::SocketAddr;

use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::wire::{parse, Frame};

pub type Ws = WebSocketStream<TcpStream>;

/// The websocket URL of the Socket.IO endpoint of a server at `addr`.
pub fn ws_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/socket.io/?EIO=4&transport=websocket")
}

/// Why a connection could not be opened. Texts from the server are whole;
/// shorten them for a report.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("TCP connect failed: {0}")]
    Connect(#[source] std::io::Error),
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("bad handshake request: {0}")]
    Request(String),
    #[error("unexpected frame during the handshake: {0:?}")]
    Unexpected(String),
    #[error("the server refused the connection: {0}")]
    Refused(String),
    #[error("the server closed the connection during the handshake")]
    Closed,
}

/// The request headers of a connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// The whole `Cookie` header, e.g. `session=...`.
    pub cookie: Option<&'a str>,
    pub origin: Option<&'a str>,
}

/// Connects TCP to `addr` (no Nagle) and upgrades to a websocket at `url`.
/// A refused upgrade is `ConnectError::Ws(Error::Http(response))`.
pub async fn open_websocket(
    addr: SocketAddr,
    url: &str,
    headers: Headers<'_>,
    config: WebSocketConfig,
) -> Result<Ws, ConnectError> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(ConnectError::Connect)?;
    tcp.set_nodelay(true).map_err(ConnectError::Connect)?;
    let mut request = url.into_client_request()?;
    for (name, value) in [("cookie", headers.cookie), ("origin", headers.origin)] {
        if let Some(value) = value {
            let value =
                HeaderValue::from_str(value).map_err(|e| ConnectError::Request(e.to_string()))?;
            request.headers_mut().insert(name, value);
        }
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, tcp, Some(config)).await?;
    Ok(ws)
}

/// What the Socket.IO handshake received: the two frames, as they came.
#[derive(Debug)]
pub struct Opened {
    open: String,
    connect: String,
}

impl Opened {
    /// The data of the Engine.IO open packet `0{...}` (JSON text).
    pub fn open_data(&self) -> &str {
        &self.open[1..]
    }

    /// The data of the namespace's connect packet `40{"sid":...}` (JSON text).
    pub fn connect_data(&self) -> &str {
        &self.connect[2..]
    }
}

/// Reads the Engine.IO open packet, sends `40` and waits for the answer.
/// Pings are answered. Frames that arrive before the answer (a broadcast can
/// overtake the server's `40`, as seen with socketioxide under a join storm;
/// socket.io-client buffers such events) are handed to `early`, which may
/// refuse them with an error.
pub async fn handshake(
    ws: &mut Ws,
    mut early: impl FnMut(&str) -> Result<(), ConnectError>,
) -> Result<Opened, ConnectError> {
    let open = next_text(ws).await?;
    if !matches!(parse(&open), Frame::Open(_)) {
        return Err(ConnectError::Unexpected(open));
    }
    ws.send(Message::text("40")).await?;
    loop {
        let t = next_text(ws).await?;
        match parse(&t) {
            Frame::Connect => return Ok(Opened { open, connect: t }),
            Frame::ConnectError(data) => return Err(ConnectError::Refused(data.to_owned())),
            Frame::Ping => ws.send(Message::text("3")).await?,
            Frame::Close | Frame::Disconnect => return Err(ConnectError::Closed),
            Frame::Event { .. } | Frame::Other => early(&t)?,
            Frame::Open(_) | Frame::Ack { .. } => return Err(ConnectError::Unexpected(t)),
        }
    }
}

/// The next text frame; other data frames are skipped.
async fn next_text(ws: &mut Ws) -> Result<String, ConnectError> {
    loop {
        match ws.next().await {
            None => return Err(ConnectError::Closed),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(_))) => return Err(ConnectError::Closed),
            Some(Ok(_)) => {}
        }
    }
}
