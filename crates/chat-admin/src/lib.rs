//! `chat-admin`: operator commands over the chat room's database.
//!
//! * [`users`]: the accounts, as text or JSON;
//! * [`moderate`]: `ban`, `unban`, `reset-password`, `delete-message`,
//!   recorded for running servers to apply;
//! * [`copy`]: `copy-db`, a SQLite room (ours or the Flask app's) copied
//!   into PostgreSQL for a cluster, in one transaction, verified.
//!
//! The binary parses the flags ([`config`]), logs to stderr and prints the
//! results on stdout.

pub mod config;
pub mod copy;
pub mod error;
pub mod moderate;
pub mod users;

use chat_domain::{Database, DbOptions};

pub use config::Cli;
pub use error::AdminError;

/// Opens (so migrates, and adopts a Flask `chat_app.db`, as
/// [`Database::open`] does for chat-server) a database that must exist: a
/// missing SQLite file is an error, never created.
pub fn open_existing(url: &str) -> Result<Database, AdminError> {
    Ok(Database::open_existing(url, &DbOptions::operator_tool())?)
}
