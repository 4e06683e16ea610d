//! Typed errors of the load generator.

use std::time::Duration;

/// Errors of the HTTP account set-up (register, login).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("HTTP request to {path} failed: {source}")]
    Http {
        path: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("{path} answered {status}: {body}")]
    Status {
        path: &'static str,
        status: u16,
        body: String,
    },
    #[error("{path} answered {status} without a session cookie")]
    NoCookie { path: &'static str, status: u16 },
}

/// Errors of one Socket.IO connection: the test kit's handshake errors, and
/// the bench's own deadline over the whole handshake.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Handshake(#[from] chat_testkit::socketio::ConnectError),
    #[error("handshake timed out after {0:?}")]
    Timeout(Duration),
}

/// Errors that end a run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("setting up users: {0}")]
    Account(#[from] AccountError),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("no socket could connect; first error: {0}")]
    NoSocket(String),
    #[error("the run did not finish within its hard deadline of {0:?}")]
    Deadline(Duration),
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
