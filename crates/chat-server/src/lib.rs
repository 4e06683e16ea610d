//! The chat room server: PROTOCOL.md over axum + socketioxide.

// Logs go through tracing, never to stdout.
#![deny(clippy::print_stdout)]

pub mod app;
pub mod auth;
pub mod body;
pub mod cluster;
pub mod config;
pub mod error;
pub mod health;
pub mod http_server;
pub mod json;
pub mod last_seen;
pub mod limits;
pub mod logging;
pub mod memory;
pub mod messages;
pub mod origin;
pub mod presence;
pub mod protocol;
pub mod security;
pub mod slow_body;
pub mod socket;
pub mod socket_server;
pub mod state;
pub mod static_files;
pub mod telemetry;
pub mod typing;
pub mod uploads;

pub use app::{build, serve, App};
pub use config::Config;
