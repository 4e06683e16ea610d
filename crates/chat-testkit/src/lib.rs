//! What the chat room's tests and its load generator share (`publish = false`).
//!
//! * feature `db`: [`TestDatabase`], a throwaway database on SQLite (a file in
//!   a temporary folder) or PostgreSQL (a new database on the server of
//!   `TEST_POSTGRES_URL`, dropped afterwards), and [`on_both_backends!`], which
//!   runs one test body on each backend;
//! * feature `client`: [`socketio`], one Engine.IO v4 / Socket.IO v5 client
//!   over a websocket: the wire format and the handshake (the load
//!   generator's hot path uses them as is) and [`socketio::Sock`], the
//!   client of the server's tests;
//! * feature `flask`: [`flask::flask_database`], a `chat_app.db` written by
//!   the Flask app's own code, and the manifest of its rows.
//!
//! The domain, server and cleanup tests take `features = ["db"]` (the server
//! tests also `"client"`), chat-bench takes `features = ["client"]`.

use std::time::Duration;

/// How long a test waits for any awaited event, answer or state change.
pub const WAIT: Duration = Duration::from_secs(5);

#[cfg(feature = "db")]
mod backends;
#[cfg(feature = "db")]
mod database;
#[cfg(feature = "db")]
pub use chat_domain::Backend;
#[cfg(feature = "db")]
pub use database::{
    passwords, postgres_admin_url, test_options, OnBackend, TestDatabase, DEFAULT_POSTGRES_URL,
    TEST_COST,
};

#[cfg(feature = "client")]
pub mod socketio;

#[cfg(feature = "flask")]
pub mod flask;
