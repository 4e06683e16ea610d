//! ## A [`Socket`] represents a client connection to the server
//!
//! It can be used to :
//! * Emit binary or string data
//! * Get a reference to the request made to connect to the socket.io server
//! * Close the connection
//!
//! #### Example :
//! ```rust
//! # use bytes::Bytes;
//! # use engineioxide::service::EngineIoService;
//! # use engineioxide::handler::EngineIoHandler;
//! # use engineioxide::{Socket, DisconnectReason, Str};
//! # use std::sync::{Mutex, Arc};
//! # use std::sync::atomic::{AtomicUsize, Ordering};
//! // Global state
//! #[derive(Debug, Default)]
//! struct MyHandler {
//!     user_cnt: AtomicUsize,
//! }
//!
//! // Socket state
//! #[derive(Debug, Default)]
//! struct SocketState {
//!     id: Mutex<String>,
//! }
//!
//! impl EngineIoHandler for MyHandler {
//!     type Data = SocketState;
//!
//!     fn on_connect(self: Arc<Self>, socket: Arc<Socket<SocketState>>) {
//!         // Get the request made to initialize the connection
//!         // and check that the authorization header is correct
//!         let connected = socket.req_parts.headers.get("Authorization")
//!             .map(|a| a == "mysuperpassword!").unwrap_or_default();
//!         // Close the socket if the authentication is invalid
//!         if !connected {
//!             socket.close(DisconnectReason::TransportError);
//!             return;
//!         }
//!
//!         let cnt = self.user_cnt.fetch_add(1, Ordering::Relaxed) + 1;
//!         // Emit string data to the client
//!         socket.emit(cnt.to_string()).ok();
//!     }
//!     fn on_disconnect(&self, socket: Arc<Socket<SocketState>>, reason: DisconnectReason) {
//!         let cnt = self.user_cnt.fetch_sub(1, Ordering::Relaxed) - 1;
//!     }
//!     fn on_message(self: &Arc<Self>, msg: Str, socket: Arc<Socket<SocketState>>) {
//!         *socket.data.id.lock().unwrap() = msg.into(); // bind a provided user id to a socket
//!     }
//!     fn on_binary(self: &Arc<Self>, data: Bytes, socket: Arc<Socket<SocketState>>) { }
//! }
//!
//! let svc = EngineIoService::new(Arc::new(MyHandler::default()));
//! ```
use std::{
    collections::VecDeque,
    fmt::Debug,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, Ordering},
    },
    time::Duration,
};

use crate::{config::EngineIoConfig, errors::Error};
use bytes::Bytes;
use engineioxide_core::{Packet, PacketBuf, ProtocolVersion, Str, TransportType};
use futures_util::FutureExt;
use http::request::Parts;
use smallvec::{SmallVec, smallvec};
use tokio::sync::{
    Mutex, Notify,
    mpsc::{self, Receiver, error::TrySendError},
};

pub use engineioxide_core::Sid;
use tokio_util::sync::CancellationToken;

/// A [`DisconnectReason`] represents the reason why a [`Socket`] was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client gracefully closed the connection
    TransportClose,
    /// The client sent multiple polling requests at the same time (it is forbidden according to the engine.io protocol)
    MultipleHttpPollingError,
    /// The client sent a bad request / the packet could not be parsed correctly
    PacketParsingError,
    /// An error occured in the transport layer
    /// (e.g. the client closed the connection without sending a close packet)
    TransportError,
    /// The client did not respond to the heartbeat
    HeartbeatTimeout,
    /// The server is being closed
    ClosingServer,
}

/// Convert an [`Error`] to a [`DisconnectReason`] if possible
/// This is used to notify the [`Handler`](crate::handler::EngineIoHandler) of the reason why a [`Socket`] was closed
/// If the error cannot be converted to a [`DisconnectReason`] it means that the error was not fatal and the [`Socket`] can be kept alive
impl From<&Error> for Option<DisconnectReason> {
    fn from(err: &Error) -> Self {
        use Error::*;
        match err {
            WsTransport(_) => Some(DisconnectReason::TransportError),
            BadPacket(_) | PacketParse(_) => Some(DisconnectReason::PacketParsingError),
            HeartbeatTimeout => Some(DisconnectReason::HeartbeatTimeout),
            _ => None,
        }
    }
}

/// What the buffered channel to the connection holds: the packets of one send.
///
/// Every socket's channel allocates its first block of 32 slots of this type
/// when it is created, so its size is part of what each idle socket costs.
/// Almost every send is one text or binary message, which fits in 40 bytes;
/// anything else (a control packet, a message with its binary attachments)
/// is moved to the heap. A [`Packet`] inline would make a slot 88 bytes (its
/// largest variant is the open packet), a [`PacketBuf`] 168.
#[derive(Debug)]
pub(crate) enum QueuedPackets {
    /// One text message: the common case.
    Message(Str),
    /// One binary message.
    Binary(Bytes),
    /// Anything else, in the order it is written.
    Other(Vec<Packet>),
}

impl QueuedPackets {
    /// The packets, in order; one or two of them stay inline.
    pub(crate) fn into_packets(self) -> PacketBuf {
        match self {
            QueuedPackets::Message(msg) => smallvec![Packet::Message(msg)],
            QueuedPackets::Binary(bin) => smallvec![Packet::Binary(bin)],
            QueuedPackets::Other(packets) => PacketBuf::from_vec(packets),
        }
    }

    /// The first packet (the only one of a single send).
    fn into_first(self) -> Option<Packet> {
        self.into_packets().into_iter().next()
    }
}

impl From<Packet> for QueuedPackets {
    fn from(packet: Packet) -> Self {
        match packet {
            Packet::Message(msg) => QueuedPackets::Message(msg),
            Packet::Binary(bin) => QueuedPackets::Binary(bin),
            packet => QueuedPackets::Other(vec![packet]),
        }
    }
}

impl From<Vec<Packet>> for QueuedPackets {
    fn from(packets: Vec<Packet>) -> Self {
        match <[Packet; 1]>::try_from(packets) {
            Ok([packet]) => packet.into(),
            Err(packets) => QueuedPackets::Other(packets),
        }
    }
}

impl IntoIterator for QueuedPackets {
    type Item = Packet;
    type IntoIter = smallvec::IntoIter<[Packet; 2]>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_packets().into_iter()
    }
}

/// A permit to emit a message to the client.
/// A permit holds a place in the internal channel to send one packet to the client.
pub struct Permit<'a> {
    inner: mpsc::Permit<'a, QueuedPackets>,
}
impl Permit<'_> {
    /// Consume the permit and emit a message to the client.
    #[inline]
    pub fn emit(self, msg: Str) {
        self.inner.send(QueuedPackets::Message(msg));
    }
    /// Consume the permit and emit a binary message to the client.
    #[inline]
    pub fn emit_binary(self, data: Bytes) {
        self.inner.send(QueuedPackets::Binary(data));
    }

    /// Consume the permit and emit a message with multiple binary data to the client.
    ///
    /// It can be used to ensure atomicity when sending a string packet with adjacent binary packets.
    pub fn emit_many(self, msg: Str, data: VecDeque<Bytes>) {
        let mut packets = Vec::with_capacity(data.len() + 1);
        packets.push(Packet::Message(msg));
        packets.extend(data.into_iter().map(Packet::Binary));
        self.inner.send(packets.into());
    }

    /// Consume the permit and emit a message with multiple binary data to the client.
    ///
    /// It can be used to ensure atomicity when sending a string packet with adjacent binary packets.
    pub fn emit_many_binary(self, bin: Bytes, data: Vec<Bytes>) {
        let mut packets = Vec::with_capacity(data.len() + 1);
        packets.push(Packet::Binary(bin));
        packets.extend(data.into_iter().map(Packet::Binary));
        self.inner.send(packets.into());
    }
}

#[derive(Debug)]
pub(crate) struct InternalRx {
    pub buffered_rx: Receiver<QueuedPackets>,
    pub peeked_packet: Option<PacketBuf>,
}

impl InternalRx {
    fn new(buffered_rx: Receiver<QueuedPackets>) -> Self {
        Self {
            buffered_rx,
            peeked_packet: None,
        }
    }
}

/// The latest volatile packets that the transport has not written yet: a
/// newer volatile send replaces them.
///
/// A `watch` channel did this before, but allocated its shared state (about
/// 500 bytes, eight `Notify`s among them) for every socket; most sockets
/// never send a volatile packet, and this slot costs them a pointer and a
/// `Notify`.
#[derive(Debug, Default)]
pub(crate) struct VolatileSlot {
    packets: std::sync::Mutex<Option<Box<PacketBuf>>>,
    /// Keeps one notification until the transport waits, so none is lost.
    ready: Notify,
}

impl VolatileSlot {
    /// Replaces what is waiting by `packets` and wakes the transport.
    fn put(&self, packets: PacketBuf) {
        *self.lock() = Some(Box::new(packets));
        self.ready.notify_one();
    }

    /// Waits for volatile packets and takes them. `None` when a newer send
    /// replaced packets that were already taken: the caller waits again.
    pub(crate) async fn next(&self) -> Option<PacketBuf> {
        self.ready.notified().await;
        self.lock().take().map(|packets| *packets)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<PacketBuf>>> {
        // The slot only ever holds a complete value: a poisoned lock is still valid.
        self.packets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A [`Socket`] represents a client connection to the server.
/// It is agnostic to the [`TransportType`].
///
/// It handles :
/// * the packet communication between with the `Engine`
///   and the user defined [`Handler`](crate::handler::EngineIoHandler).
/// * the user defined [`Data`](crate::handler::EngineIoHandler::Data) bound to the socket.
/// * the heartbeat job that verify that the connection is still up by sending packets periodically.
pub struct Socket<D>
where
    D: Default + Send + Sync + 'static,
{
    /// The socket id
    pub id: Sid,

    /// The protocol version used by the socket
    pub protocol: ProtocolVersion,

    /// The transport type represented as a bitfield
    /// It is represented as a bitfield to allow the use of an [`AtomicU8`] so it can be shared between threads
    /// without any mutex
    transport: AtomicU8,

    /// Whether the socket is currently upgrading to a new transport.
    upgrading: AtomicBool,

    /// Channel to send [`PacketBuf`] to the connection
    ///
    /// It is used and managed by the [`EngineIo`](crate::engine) struct depending on the transport type
    ///
    /// It is locked if [`EngineIo`](crate::engine) is currently reading from it :
    /// * In case of polling transport it will be locked and released for each request
    /// * In case of websocket transport it will always be locked until the connection is closed
    ///
    /// Closing behavior is driven by the [`Socket::cancellation_token`].
    ///
    /// Each item holds the packets of one send, so that adjacent packets are sent atomically.
    pub(crate) internal_rx: Mutex<InternalRx>,

    /// Channel to send [`QueuedPackets`] to the internal connection
    pub(crate) internal_tx: mpsc::Sender<QueuedPackets>,

    /// Volatile [PacketBuf]s that bypass the internal buffer. Only the latest
    /// volatile message is retained; subsequent volatile sends overwrite the previous one.
    pub(crate) volatile: VolatileSlot,

    /// Tells the heartbeat job, which runs in a separate task, that a Pong
    /// [`Packet`] (v4 protocol) or a Ping (v3 protocol) arrived. It keeps one
    /// notification until the job waits, as a channel of one `()` did, without
    /// the channel's allocations in every socket.
    heartbeat: Notify,

    /// A cancellation token that will be triggered when the socket is being closed.
    pub(crate) cancellation_token: CancellationToken,

    /// Function to call when the socket is closed
    close_fn: Box<dyn Fn(Sid, DisconnectReason) + Send + Sync>,
    /// User data bound to the socket
    pub data: D,

    /// Http Request data used to create a socket
    pub req_parts: Parts,

    /// If the client supports binary packets (via polling XHR2)
    pub(crate) supports_binary: bool,
}

impl<D> Socket<D>
where
    D: Default + Send + Sync + 'static,
{
    pub(crate) fn new(
        protocol: ProtocolVersion,
        transport: TransportType,
        config: &EngineIoConfig,
        req_parts: Parts,
        close_fn: Box<dyn Fn(Sid, DisconnectReason) + Send + Sync>,
        supports_binary: bool,
    ) -> Self {
        let (internal_tx, internal_rx) = mpsc::channel(config.max_buffer_size);

        Self {
            id: Sid::new(),
            protocol,
            transport: AtomicU8::new(transport as u8),
            upgrading: AtomicBool::new(false),

            internal_rx: Mutex::new(InternalRx::new(internal_rx)),
            internal_tx,

            volatile: VolatileSlot::default(),

            heartbeat: Notify::new(),
            cancellation_token: CancellationToken::new(),

            close_fn,

            data: D::default(),
            req_parts,

            supports_binary,
        }
    }

    /// Sends a packet to the connection.
    pub(crate) fn send(&self, packet: Packet) -> Result<(), TrySendError<Packet>> {
        #[cfg(feature = "tracing")]
        tracing::debug!(?packet, "sending packet");
        const ONE: &str = "a refused send gives back the one packet it was given";

        self.internal_tx
            .try_send(packet.into())
            .map_err(|e| match e {
                TrySendError::Full(p) => TrySendError::Full(p.into_first().expect(ONE)),
                TrySendError::Closed(p) => TrySendError::Closed(p.into_first().expect(ONE)),
            })?;
        Ok(())
    }
    /// Hands a Pong (v4) or a Ping (v3) received from the client to the heartbeat job.
    pub(crate) fn heartbeat_received(&self) {
        self.heartbeat.notify_one();
    }
    pub(crate) fn is_upgrading(&self) -> bool {
        self.upgrading.load(Ordering::Relaxed)
    }
    pub(crate) fn start_upgrade(&self) {
        self.upgrading.store(true, Ordering::Relaxed);
    }

    /// Spawn the heartbeat job
    ///
    /// Keep a handle to the job so that it can be aborted when the socket is closed
    pub(crate) fn spawn_heartbeat(self: Arc<Self>, interval: Duration, timeout: Duration) {
        tokio::spawn(self.heartbeat_task(interval, timeout));
    }

    /// The heartbeat task of a socket, until the socket closes.
    ///
    /// It lives as long as the socket, so its size is paid by every idle
    /// socket: `CancellationToken::run_until_cancelled_owned` is an `async fn`
    /// that awaits another one, and each keeps its own copy of the job's
    /// future (1,168 bytes for a 320-byte job). `with_cancellation_token` is a
    /// plain future around the job.
    fn heartbeat_task(
        self: Arc<Self>,
        interval: Duration,
        timeout: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        use tokio_util::future::FutureExt as _;
        async move {
            let job = self
                .heartbeat_job(interval, timeout)
                .with_cancellation_token(&self.cancellation_token)
                .await;
            if let Some(Err(_e)) = &job {
                self.close(DisconnectReason::HeartbeatTimeout);
                #[cfg(feature = "tracing")]
                tracing::debug!(id = ?self.id, "heartbeat error: {_e}");
            }
            #[cfg(feature = "tracing")]
            tracing::debug!(aborted = job.is_none(), "heartbeat job completed");
        }
    }

    /// Heartbeat is sent every `interval` milliseconds by the client and the server `is` expected to respond within `timeout` milliseconds.
    ///
    /// If the client or server does not respond within the timeout, the connection is closed.
    #[cfg(feature = "v3")]
    async fn heartbeat_job(&self, interval: Duration, timeout: Duration) -> Result<(), Error> {
        match self.protocol {
            ProtocolVersion::V3 => self.heartbeat_job_v3(interval, timeout).await,
            ProtocolVersion::V4 => self.heartbeat_job_v4(interval, timeout).await,
        }
    }

    /// Heartbeat is sent every `interval` milliseconds and the client is expected to respond within `timeout` milliseconds.
    ///
    /// If the client does not respond within the timeout, the connection is closed.
    #[cfg(not(feature = "v3"))]
    async fn heartbeat_job(&self, interval: Duration, timeout: Duration) -> Result<(), Error> {
        self.heartbeat_job_v4(interval, timeout).await
    }

    /// Heartbeat is sent every `interval` milliseconds and the client is expected to respond within `timeout` milliseconds.
    ///
    /// If the client does not respond within the timeout, the connection is closed.
    async fn heartbeat_job_v4(&self, interval: Duration, timeout: Duration) -> Result<(), Error> {
        #[cfg(feature = "tracing")]
        tracing::debug!(sid = ?self.id, "heartbeat sender routine started");

        let mut interval_tick = tokio::time::interval(interval);
        interval_tick.tick().await;
        // Some clients send the pong packet in first. If that happens, we should consume it.
        self.heartbeat.notified().now_or_never();
        loop {
            // If we are currently upgrading we should pause the heartbeat process
            if self.is_upgrading() {
                interval_tick.tick().await;
                continue;
            }

            #[cfg(feature = "tracing")]
            tracing::trace!(sid = ?self.id, "emitting ping");

            self.internal_tx
                .try_send(Packet::Ping.into())
                .map_err(|_| Error::HeartbeatTimeout)?;

            #[cfg(feature = "tracing")]
            tracing::trace!(sid = ?self.id, "waiting for pong");

            tokio::time::timeout(timeout, self.heartbeat.notified())
                .await
                .map_err(|_| Error::HeartbeatTimeout)?;

            #[cfg(feature = "tracing")]
            tracing::trace!(sid = ?self.id, "pong received");

            interval_tick.tick().await;
        }
    }

    #[cfg(feature = "v3")]
    async fn heartbeat_job_v3(&self, interval: Duration, timeout: Duration) -> Result<(), Error> {
        #[cfg(feature = "tracing")]
        tracing::debug!(sid = ?self.id, "heartbeat receiver routine started");

        loop {
            tokio::time::timeout(interval + timeout, self.heartbeat.notified())
                .await
                .map_err(|_| Error::HeartbeatTimeout)?;

            #[cfg(feature = "tracing")]
            tracing::trace!(sid = ?self.id, "ping received, sending pong");
            self.internal_tx
                .try_send(Packet::Pong.into())
                .map_err(|_| Error::HeartbeatTimeout)?;
        }
    }

    /// Returns true if the [`Socket`] has a websocket [`TransportType`]
    pub(crate) fn is_ws(&self) -> bool {
        self.transport.load(Ordering::Relaxed) == TransportType::Websocket as u8
    }
    /// returns true if the [`Socket`] has an HTTP [`TransportType`]
    pub(crate) fn is_http(&self) -> bool {
        self.transport.load(Ordering::Relaxed) == TransportType::Polling as u8
    }

    /// Sets the [`TransportType`] to WebSocket
    /// Used when the client upgrade the connection from HTTP to WebSocket
    pub(crate) fn upgrade_to_websocket(&self) {
        self.upgrading.store(false, Ordering::Relaxed);
        self.transport
            .store(TransportType::Websocket as u8, Ordering::Relaxed);
    }

    /// Returns the current [`TransportType`] of the [`Socket`]
    pub fn transport_type(&self) -> TransportType {
        TransportType::from(self.transport.load(Ordering::Relaxed))
    }

    /// Reserve `n` permits to emit multiple messages and ensure that there is enough
    /// space in the internal chan.
    ///
    /// If the internal chan is full, the function will return a [`TrySendError::Full`] error.
    /// If the socket is closed, the function will return a [`TrySendError::Closed`] error.
    #[inline]
    pub fn reserve(&self) -> Result<Permit<'_>, TrySendError<()>> {
        let permit = self.internal_tx.try_reserve()?;
        Ok(Permit { inner: permit })
    }

    /// Emits a message to the client.
    ///
    /// If the transport is in websocket mode, the message is directly sent as a text frame.
    ///
    /// If the transport is in polling mode, the message is buffered and sent as a text frame to the next polling request.
    ///
    /// ⚠️ If the buffer is full or the socket is disconnected, an error will be returned with the original data
    pub fn emit(&self, msg: impl Into<Str>) -> Result<(), TrySendError<Str>> {
        self.send(Packet::Message(msg.into())).map_err(|e| match e {
            TrySendError::Full(p) => TrySendError::Full(p.into_message()),
            TrySendError::Closed(p) => TrySendError::Closed(p.into_message()),
        })
    }

    /// Immediately closes the socket and the underlying connection.
    /// The socket will be removed from the `Engine` and the [`Handler`](crate::handler::EngineIoHandler) will be notified.
    #[cfg_attr(feature = "tracing", tracing::instrument(skip(self)))]
    pub fn close(&self, reason: DisconnectReason) {
        // Try to send a close packet is the connection is still operational.
        self.send(Packet::Close).ok();

        (self.close_fn)(self.id, reason);
    }

    /// Returns true if the socket is closed
    /// It means that no more packets can be sent to the client
    pub fn is_closed(&self) -> bool {
        self.internal_tx.is_closed()
    }

    /// Wait for the socket to be fully closed
    pub async fn closed(&self) {
        self.internal_tx.closed().await
    }

    /// Emits a binary message to the client.
    ///
    /// If the transport is in websocket mode, the message is directly sent as a binary frame.
    ///
    /// If the transport is in polling mode, the message is buffered and sent as a text frame **encoded in base64** to the next polling request.
    ///
    /// ⚠️ If the buffer is full or the socket is disconnected, an error will be returned with the original data
    pub fn emit_binary<B: Into<Bytes>>(&self, data: B) -> Result<(), TrySendError<Bytes>> {
        if self.protocol == ProtocolVersion::V3 {
            self.send(Packet::BinaryV3(data.into()))
        } else {
            self.send(Packet::Binary(data.into()))
        }
        .map_err(|e| match e {
            TrySendError::Full(p) => TrySendError::Full(p.into_binary()),
            TrySendError::Closed(p) => TrySendError::Closed(p.into_binary()),
        })
    }

    /// Try to send a volatile message bypassing the internal buffer channel.
    /// Volatile messages may be dropped if the transport is not ready to
    /// receive them.
    ///
    /// Because volatile messages bypass the main mpsc buffer queue, they may
    /// arrive out of order relative to regular messages.
    ///
    /// Returns `true` if the message was queued for sending, `false` if it
    /// was dropped (channel full or transport shutting down).
    #[inline]
    pub fn emit_volatile(&self, msg: impl Into<Str>) -> bool {
        self.send_volatile(smallvec![Packet::Message(msg.into())])
    }

    /// Try to send a volatile binary message bypassing the internal buffer channel.
    /// Volatile messages may be dropped if the transport is not ready to
    /// receive them.
    ///
    /// Returns `true` if the message was queued for sending, `false` if it
    /// was dropped.
    #[inline]
    pub fn emit_binary_volatile<B: Into<Bytes>>(&self, data: B) -> bool {
        if self.protocol == ProtocolVersion::V3 {
            self.send_volatile(smallvec![Packet::BinaryV3(data.into())])
        } else {
            self.send_volatile(smallvec![Packet::Binary(data.into())])
        }
    }

    /// Try to send a volatile message with multiple adjacent binary payloads.
    /// The message and all binary payloads are sent atomically as a single
    /// volatile write.
    ///
    /// Returns `true` if the message was queued for sending, `false` if it
    /// was dropped.
    #[inline]
    pub fn emit_many_volatile(&self, msg: Str, data: VecDeque<Bytes>) -> bool {
        let mut packets = SmallVec::with_capacity(1 + data.len());
        packets.push(Packet::Message(msg));
        for bin in data {
            packets.push(Packet::Binary(bin));
        }
        self.send_volatile(packets)
    }

    pub(crate) fn send_volatile(&self, packets: PacketBuf) -> bool {
        if self.is_closed() {
            return false;
        }
        self.volatile.put(packets);
        true
    }
}

impl<D: Default + Send + Sync + 'static> std::fmt::Debug for Socket<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("sid", &self.id)
            .field("protocol", &self.protocol)
            .field("conn", &self.transport)
            .field("internal_rx", &self.internal_rx)
            .field("internal_tx", &self.internal_tx)
            .field("cancellation_token", &self.cancellation_token)
            .field("req_data", &self.req_parts)
            .finish()
    }
}

#[doc(hidden)]
#[cfg(feature = "__test_harness")]
impl<D> Drop for Socket<D>
where
    D: Default + Send + Sync + 'static,
{
    fn drop(&mut self) {
        #[cfg(feature = "tracing")]
        tracing::debug!("[sid={}] dropping socket", self.id);
    }
}

#[doc(hidden)]
#[cfg(feature = "__test_harness")]
impl<D> Socket<D>
where
    D: Default + Send + Sync + 'static,
{
    /// Create a dummy socket for testing purpose
    pub fn new_dummy(
        sid: Sid,
        close_fn: Box<dyn Fn(Sid, DisconnectReason) + Send + Sync>,
    ) -> Arc<Socket<D>> {
        let (s, mut rx) = Socket::new_dummy_piped(sid, close_fn, 1024);
        tokio::spawn(async move {
            while let Some(_el) = rx.recv().await {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, ?_el, "emitting eio msg");
            }
        });
        s
    }

    /// Create a dummy socket for testing purpose with a
    /// receiver to get the packets sent to the client
    pub fn new_dummy_piped(
        sid: Sid,
        close_fn: Box<dyn Fn(Sid, DisconnectReason) + Send + Sync>,
        buffer_size: usize,
    ) -> (Arc<Socket<D>>, tokio::sync::mpsc::Receiver<Packet>) {
        let (internal_tx, internal_rx) = mpsc::channel(buffer_size);

        let sock = Self {
            id: sid,
            protocol: ProtocolVersion::V4,
            transport: AtomicU8::new(TransportType::Websocket as u8),
            upgrading: AtomicBool::new(false),

            internal_rx: Mutex::new(InternalRx::new(internal_rx)),
            internal_tx,

            volatile: VolatileSlot::default(),

            heartbeat: Notify::new(),
            cancellation_token: CancellationToken::new(),
            close_fn,

            data: D::default(),
            req_parts: http::Request::<()>::default().into_parts().0,

            supports_binary: true,
        };
        let sock = Arc::new(sock);

        let (tx, rx) = mpsc::channel(buffer_size);
        let sock_clone = sock.clone();
        tokio::spawn(async move {
            let mut internal_rx = sock_clone.internal_rx.try_lock().unwrap();
            while let Some(packets) = internal_rx.buffered_rx.recv().await {
                for packet in packets {
                    tx.send(packet).await.unwrap();
                }
            }
        });

        (sock, rx)
    }
}

#[cfg(test)]
mod queued_packets {
    use super::*;

    fn message(text: &'static str) -> Packet {
        Packet::Message(Str::from(text))
    }

    #[test]
    fn a_single_message_is_queued_inline_and_comes_back_as_sent() {
        let queued = QueuedPackets::from(message("hello"));
        assert!(matches!(queued, QueuedPackets::Message(_)));
        assert_eq!(queued.into_packets().as_slice(), [message("hello")]);

        let queued = QueuedPackets::from(vec![Packet::Binary(Bytes::from_static(b"\x01"))]);
        assert!(matches!(queued, QueuedPackets::Binary(_)));
        assert_eq!(
            queued.into_first(),
            Some(Packet::Binary(Bytes::from_static(b"\x01")))
        );
    }

    #[test]
    fn control_packets_and_attachments_keep_their_order() {
        assert_eq!(
            QueuedPackets::from(Packet::Ping).into_packets().as_slice(),
            [Packet::Ping]
        );
        let sent = vec![
            message("451-[\"file\",{\"_placeholder\":true,\"num\":0}]"),
            Packet::Binary(Bytes::from_static(b"a")),
            Packet::Binary(Bytes::from_static(b"b")),
        ];
        let queued = QueuedPackets::from(sent.clone());
        assert!(matches!(queued, QueuedPackets::Other(_)));
        assert_eq!(queued.into_iter().collect::<Vec<_>>(), sent);
    }
}

/// A websocket session of the default configuration, for the tests below.
#[cfg(test)]
fn test_socket() -> Socket<()> {
    Socket::new(
        ProtocolVersion::V4,
        TransportType::Websocket,
        &EngineIoConfig::default(),
        http::Request::<()>::default().into_parts().0,
        Box::new(|_, _| {}),
        true,
    )
}

#[cfg(test)]
mod volatile_slot {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test]
    async fn only_the_latest_volatile_packets_are_kept_until_taken() {
        let socket = test_socket();
        assert!(socket.emit_volatile("first"));
        assert!(socket.emit_volatile("second"));
        let packets = socket.volatile.next().await.expect("packets were sent");
        assert_eq!(packets.as_slice(), [Packet::Message("second".into())]);
        // Taken: nothing is waiting any more.
        assert!(socket.volatile.next().now_or_never().is_none());
    }

    #[tokio::test]
    async fn a_closed_socket_refuses_volatile_packets() {
        let socket = test_socket();
        socket.internal_rx.lock().await.buffered_rx.close();
        assert!(!socket.emit_volatile("too late"));
        assert!(socket.volatile.next().now_or_never().is_none());
    }
}

#[cfg(test)]
mod heartbeat_task {
    use super::*;

    #[tokio::test]
    async fn the_heartbeat_task_holds_one_copy_of_its_job() {
        let socket = Arc::new(test_socket());
        let period = Duration::from_secs(25);
        let job = std::mem::size_of_val(&socket.heartbeat_job(period, period));
        let task = std::mem::size_of_val(&socket.clone().heartbeat_task(period, period));
        // The job, the cancellation's wait beside it, and the socket: under
        // two jobs' size (it was more than three).
        assert!(task < 2 * job, "task {task} bytes for a job of {job}");
    }

    #[tokio::test]
    async fn a_closed_socket_ends_its_heartbeat_task() {
        let socket = Arc::new(test_socket());
        let period = Duration::from_secs(25);
        let task = tokio::spawn(socket.clone().heartbeat_task(period, period));
        socket.cancellation_token.cancel();
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the task ends once the socket is cancelled")
            .expect("and does not panic");
    }
}
