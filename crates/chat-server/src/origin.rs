//! Cross-site websocket hijacking guard: a Socket.IO handshake from a browser
//! page of another site is refused. Non-browser clients send no Origin and are
//! judged by their session cookie alone.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone)]
pub struct AllowedOrigins(pub Arc<Vec<String>>);

impl AllowedOrigins {
    /// Whether a request with this Origin (and Host) may open a socket.
    pub fn permits(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.0.contains(&origin) {
            return true;
        }
        // Same origin: the page was served by this host.
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        match (authority, host) {
            (Some(authority), Some(host)) => authority == host.trim().to_ascii_lowercase(),
            _ => false,
        }
    }
}

pub async fn check_origin(
    State(allowed): State<AllowedOrigins>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/socket.io/") {
        if let Some(origin) = request.headers().get(ORIGIN) {
            let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
            let permitted = origin.to_str().is_ok_and(|o| allowed.permits(o, host));
            if !permitted {
                tracing::warn!(origin = ?origin, host = ?host, "socket handshake from a foreign origin refused");
                return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_and_listed_origins_pass() {
        let a = AllowedOrigins(Arc::new(vec!["https://chat.example.com".into()]));
        assert!(a.permits("http://localhost:5000", Some("localhost:5000")));
        assert!(a.permits("https://chat.example.com/", Some("10.0.0.1:5000")));
        assert!(!a.permits("http://evil.example", Some("localhost:5000")));
        assert!(!a.permits("http://localhost:5001", Some("localhost:5000")));
        assert!(!a.permits("null", Some("localhost:5000")));
        assert!(!a.permits("http://localhost:5000", None));
    }
}
