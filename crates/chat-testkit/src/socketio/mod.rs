//! One Engine.IO v4 / Socket.IO v5 client over a websocket, in layers:
//!
//! * [`wire`]: the text frames, parsed without copying, and the encoders;
//! * [`connect`]: the websocket upgrade and the Socket.IO handshake;
//! * [`Sock`]: the server tests' socket, which keeps what arrives as owned
//!   [`Incoming`] packets to wait for, drain or assert on.
//!
//! The load generator drives its sockets with the first two directly (no
//! task, channel or copy per frame).

pub mod connect;
mod sock;
pub mod wire;

pub use connect::{handshake, open_websocket, ws_url, ConnectError, Headers, Opened, Ws};
pub use sock::{ConnectOutcome, Incoming, Sock};
pub use wire::{
    ack_success, encode_event, encode_event_with_ack, message_content, online_count, parse, Frame,
    Packet,
};
