//! The client of the server's tests: a Socket.IO socket that keeps what the
//! server sends as owned packets, to wait for one, drain them or assert that
//! none came; enough to speak the chat protocol and to send what a
//! well-behaved client never would.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::connect::{handshake, open_websocket, ws_url, ConnectError, Headers};
use super::wire::{encode_event, encode_event_with_ack, Packet};
use crate::WAIT;

/// What the server sent, one packet at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// Engine.IO open, with its handshake data.
    Open(Value),
    /// Socket.IO connect accepted, with the sid.
    Connect(Value),
    /// Socket.IO connect refused (`connect_error`), with its data.
    ConnectError(Value),
    Event {
        name: String,
        args: Vec<Value>,
    },
    Ack {
        id: u64,
        args: Vec<Value>,
    },
    /// Socket.IO disconnect from the server.
    Disconnect,
    /// A frame this client cannot read.
    Unknown(String),
    /// The websocket is closed.
    Closed,
}

impl Incoming {
    /// Reads one text frame (whatever its namespace; an event's ack id is
    /// ignored).
    pub fn parse(text: &str) -> Incoming {
        let unknown = || Incoming::Unknown(text.to_owned());
        match text.as_bytes().first() {
            Some(b'0') => serde_json::from_str(&text[1..])
                .map(Incoming::Open)
                .unwrap_or_else(|_| unknown()),
            Some(b'4') => {
                let Some(packet) = Packet::parse(&text[1..]) else {
                    return unknown();
                };
                let Some(value) = json_or_null(packet.data) else {
                    return unknown();
                };
                match packet.kind {
                    b'0' => Incoming::Connect(value),
                    b'1' => Incoming::Disconnect,
                    b'2' => {
                        let Value::Array(mut args) = value else {
                            return unknown();
                        };
                        if args.is_empty() {
                            return unknown();
                        }
                        let Value::String(name) = args.remove(0) else {
                            return unknown();
                        };
                        Incoming::Event { name, args }
                    }
                    b'3' => match (packet.ack_id(), value) {
                        (Some(id), Value::Array(args)) => Incoming::Ack { id, args },
                        _ => unknown(),
                    },
                    b'4' => Incoming::ConnectError(value),
                    _ => unknown(),
                }
            }
            _ => unknown(),
        }
    }
}

/// A packet's JSON data, Null when there is none.
fn json_or_null(data: &str) -> Option<Value> {
    if data.is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_str(data).ok()
    }
}

#[derive(Debug)]
pub enum ConnectOutcome {
    Connected(Sock),
    /// The Socket.IO connect was refused with this data.
    Refused(Value),
    /// The websocket handshake was answered with this HTTP status.
    HttpStatus(u16),
}

impl ConnectOutcome {
    #[track_caller]
    pub fn refused(self) -> Value {
        match self {
            ConnectOutcome::Refused(v) => v,
            other => panic!("expected connect_error, got {other:?}"),
        }
    }
}

pub struct Sock {
    out: mpsc::UnboundedSender<Message>,
    inc: mpsc::UnboundedReceiver<Incoming>,
    /// Packets read while waiting for something else, in arrival order.
    buffer: VecDeque<Incoming>,
    next_ack: u64,
    pub sid: String,
}

impl std::fmt::Debug for Sock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sock").field("sid", &self.sid).finish()
    }
}

impl Sock {
    /// Opens `ws://addr/socket.io/?EIO=4&transport=websocket` with these
    /// headers (`cookie`: the whole Cookie header), then connects to the
    /// namespace `/`. Nothing but pings may come before the connect answer.
    pub async fn connect(
        addr: SocketAddr,
        cookie: Option<&str>,
        origin: Option<&str>,
    ) -> ConnectOutcome {
        let config = WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let url = ws_url(addr);
        let opening = open_websocket(addr, &url, Headers { cookie, origin }, config);
        let mut ws = match tokio::time::timeout(WAIT, opening)
            .await
            .expect("websocket handshake within 5 s")
        {
            Ok(ws) => ws,
            Err(ConnectError::Ws(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
                return ConnectOutcome::HttpStatus(resp.status().as_u16())
            }
            Err(e) => panic!("websocket handshake failed: {e}"),
        };
        // The open packet, then the connect answer (WAIT for each before).
        let strict = |t: &str| Err(ConnectError::Unexpected(t.to_owned()));
        let opened = match tokio::time::timeout(2 * WAIT, handshake(&mut ws, strict)).await {
            Ok(Ok(opened)) => opened,
            Ok(Err(ConnectError::Refused(data))) => {
                return ConnectOutcome::Refused(json_or_null(&data).unwrap_or_else(|| {
                    panic!("expected the Socket.IO connect answer, got {data:?}")
                }))
            }
            Ok(Err(e)) => panic!("the Socket.IO handshake failed: {e}"),
            Err(_) => panic!("no Socket.IO handshake within {:?}", 2 * WAIT),
        };
        let open: Value = serde_json::from_str(opened.open_data()).unwrap_or_else(|_| {
            panic!(
                "expected the Engine.IO open packet, got {:?}",
                opened.open_data()
            )
        });
        assert_eq!(open["pingInterval"], 25000, "pingInterval: {open}");
        assert_eq!(open["pingTimeout"], 20000, "pingTimeout: {open}");
        assert_eq!(open["maxPayload"], 1_000_000, "maxPayload: {open}");
        let connect = json_or_null(opened.connect_data()).unwrap_or_else(|| {
            panic!(
                "expected the Socket.IO connect answer, got {:?}",
                opened.connect_data()
            )
        });
        let sid = connect["sid"].as_str().unwrap_or_default().to_owned();

        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (inc_tx, inc) = mpsc::unbounded_channel::<Incoming>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    out = out_rx.recv() => match out {
                        Some(m) => {
                            if ws.send(m).await.is_err() {
                                break;
                            }
                        }
                        None => {
                            let _ = tokio::time::timeout(WAIT, ws.close(None)).await;
                            break;
                        }
                    },
                    frame = ws.next() => match frame {
                        Some(Ok(Message::Text(t))) => {
                            if t.as_str() == "2" {
                                // Engine.IO ping: answer at once, like any client.
                                if ws.send(Message::Text("3".into())).await.is_err() {
                                    break;
                                }
                                continue;
                            }
                            let _ = inc_tx.send(Incoming::parse(t.as_str()));
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    },
                }
            }
            let _ = inc_tx.send(Incoming::Closed);
        });
        ConnectOutcome::Connected(Sock {
            out,
            inc,
            buffer: VecDeque::new(),
            next_ack: 0,
            sid,
        })
    }

    async fn next_packet(&mut self, deadline: Instant) -> Option<Incoming> {
        tokio::time::timeout_at(deadline, self.inc.recv())
            .await
            .ok()
            .map(|p| p.unwrap_or(Incoming::Closed))
    }

    /// Sends one Engine.IO text frame as is.
    pub fn send_text(&self, text: &str) {
        let _ = self.out.send(Message::Text(text.into()));
    }

    pub fn send_binary(&self, bytes: Vec<u8>) {
        let _ = self.out.send(Message::Binary(bytes.into()));
    }

    /// `42["name", data]`: an event without acknowledgement.
    pub fn emit(&self, name: &str, data: &Value) {
        self.send_text(&encode_event(name, data));
    }

    /// `42<id>["name", data]`; returns the ack id.
    pub fn emit_with_ack(&mut self, name: &str, data: &Value) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send_text(&encode_event_with_ack(id, name, data));
        id
    }

    /// Sends an event with an acknowledgement and returns the ack's first argument.
    pub async fn call(&mut self, name: &str, data: &Value) -> Value {
        let id = self.emit_with_ack(name, data);
        self.ack(id).await
    }

    /// `send_message` with an acknowledgement.
    pub async fn send_message(&mut self, data: Value) -> Value {
        self.call("send_message", &data).await
    }

    /// Waits for the first packet matching `pred`, keeping the others for later.
    pub async fn wait_for(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&Incoming) -> bool,
    ) -> Incoming {
        if let Some(i) = self.buffer.iter().position(&mut pred) {
            return self.buffer.remove(i).unwrap();
        }
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next_packet(deadline).await {
                Some(p) if pred(&p) => return p,
                Some(Incoming::Closed) => {
                    self.buffer.push_back(Incoming::Closed);
                    panic!(
                        "the socket closed while waiting for {what}; got before: {:?}",
                        self.buffer
                    )
                }
                Some(p) => self.buffer.push_back(p),
                None => panic!("no {what} within {WAIT:?}; got instead: {:?}", self.buffer),
            }
        }
    }

    /// Waits until the socket's own `online_users` has arrived, and keeps it
    /// for the test to read. The server sends it once the socket's handlers
    /// are in place, so a test that starts from here tests its own rule, not
    /// the handshake's timing (which has a test of its own).
    pub async fn settle(&mut self) {
        let is_online_users =
            |p: &Incoming| matches!(p, Incoming::Event { name, .. } if name == "online_users");
        if self.buffer.iter().any(is_online_users) {
            return;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next_packet(deadline).await {
                Some(p) => {
                    let done = is_online_users(&p) || p == Incoming::Closed;
                    self.buffer.push_back(p);
                    if done {
                        return;
                    }
                }
                None => panic!(
                    "no online_users within {WAIT:?} of connecting; got: {:?}",
                    self.buffer
                ),
            }
        }
    }

    /// The acknowledgement `id`'s first argument.
    pub async fn ack(&mut self, id: u64) -> Value {
        match self
            .wait_for(
                &format!("ack {id}"),
                |p| matches!(p, Incoming::Ack { id: i, .. } if *i == id),
            )
            .await
        {
            Incoming::Ack { mut args, .. } => {
                assert_eq!(args.len(), 1, "one ack argument");
                args.remove(0)
            }
            _ => unreachable!(),
        }
    }

    /// The first argument of the next event `name`.
    pub async fn event(&mut self, name: &str) -> Value {
        match self
            .wait_for(
                &format!("event {name}"),
                |p| matches!(p, Incoming::Event { name: n, .. } if n == name),
            )
            .await
        {
            Incoming::Event { mut args, .. } => {
                assert_eq!(args.len(), 1, "event {name} has one argument");
                args.remove(0)
            }
            _ => unreachable!(),
        }
    }

    /// The first event `name` whose data satisfies `pred`; earlier events of
    /// that name that do not (stale states) are dropped.
    pub async fn event_where(&mut self, name: &str, mut pred: impl FnMut(&Value) -> bool) -> Value {
        loop {
            let data = self.event(name).await;
            if pred(&data) {
                return data;
            }
        }
    }

    /// Every packet that arrives within `d` (the buffered ones first).
    pub async fn drain(&mut self, d: Duration) -> Vec<Incoming> {
        let deadline = Instant::now() + d;
        let mut all: Vec<Incoming> = self.buffer.drain(..).collect();
        if all.last() == Some(&Incoming::Closed) {
            return all;
        }
        while let Some(p) = self.next_packet(deadline).await {
            let closed = p == Incoming::Closed;
            all.push(p);
            if closed {
                break;
            }
        }
        all
    }

    /// Forgets every packet received so far (what came before a step of a test).
    pub async fn forget(&mut self) {
        let packets = self.drain(Duration::ZERO).await;
        if packets.contains(&Incoming::Closed) {
            self.buffer.push_back(Incoming::Closed);
        }
    }

    /// Asserts that no event `name` is buffered or arrives within `d`; other
    /// packets are kept.
    pub async fn assert_no_event(&mut self, name: &str, d: Duration) {
        let packets = self.drain(d).await;
        for p in &packets {
            if let Incoming::Event { name: n, args } = p {
                assert_ne!(n, name, "unexpected event {name}: {args:?}");
            }
        }
        self.buffer.extend(packets);
    }

    /// Waits until the server disconnects this socket (a Socket.IO disconnect
    /// packet or the end of the websocket).
    pub async fn disconnected(&mut self) {
        self.wait_until_disconnected(WAIT)
            .await
            .unwrap_or_else(|| panic!("still connected after {WAIT:?}; got: {:?}", self.buffer));
    }

    /// Some(()) if the server disconnected this socket within `d`.
    pub async fn wait_until_disconnected(&mut self, d: Duration) -> Option<()> {
        let gone = |p: &Incoming| matches!(p, Incoming::Disconnect | Incoming::Closed);
        if self.buffer.iter().any(gone) {
            return Some(());
        }
        let deadline = Instant::now() + d;
        while let Some(p) = self.next_packet(deadline).await {
            if gone(&p) {
                self.buffer.push_back(p);
                return Some(());
            }
            self.buffer.push_back(p);
        }
        None
    }

    /// Waits until the websocket itself is closed.
    pub async fn closed(&mut self) {
        self.wait_for("the websocket to close", |p| *p == Incoming::Closed)
            .await;
        self.buffer.push_back(Incoming::Closed);
    }

    /// Closes the websocket, as a closed tab does.
    pub async fn close(mut self) {
        let _ = self.out.send(Message::Close(None));
        let deadline = Instant::now() + WAIT;
        while let Some(p) = self.next_packet(deadline).await {
            if p == Incoming::Closed {
                return;
            }
        }
    }
}
