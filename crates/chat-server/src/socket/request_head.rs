//! engineioxide keeps every socket's handshake request head (`req_parts`) for
//! the socket's whole life. hyper parses the URI and header values as slices
//! of the connection's read buffer (8–16 KiB), so keeping the head would keep
//! that buffer too: about 16 kB per idle socket, measured with massif.
//!
//! So a Socket.IO request goes on with a head of its own, holding only what
//! engineioxide and this server's socket handlers read from it: the URI (its
//! query), the headers in [`KEPT_HEADERS`] and hyper's upgrade handle. A
//! browser's dozen other headers, and the extensions the outer layers added
//! (`ConnectInfo`, `OriginalUri`, the request id), would otherwise stay with
//! every socket: 1.5 kB of a 13.7 kB idle socket from a load generator's
//! five headers, more from a browser. This layer runs inside the origin
//! check, which reads `Origin` and `Host` first.

use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, Extensions, HeaderMap, HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use hyper::upgrade::OnUpgrade;

/// Every header a Socket.IO request is read for after this layer; a handler
/// that needs another one adds it here.
pub const KEPT_HEADERS: [HeaderName; 3] = [
    // The session the socket belongs to (`session_cookie`).
    header::COOKIE,
    // engineioxide: a long poll's payload encoding, a websocket's accept key.
    header::CONTENT_TYPE,
    header::SEC_WEBSOCKET_KEY,
];

pub async fn detach_socket_io_head(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/socket.io/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    next.run(Request::from_parts(socket_io_head(parts), body))
        .await
}

/// The head a Socket.IO request goes on with: its own copies, and only what
/// is read.
fn socket_io_head(mut parts: Parts) -> Parts {
    parts.uri = copied_uri(&parts.uri);
    parts.headers = kept_headers(&parts.headers);
    let mut extensions = Extensions::new();
    if let Some(upgrade) = parts.extensions.remove::<OnUpgrade>() {
        extensions.insert(upgrade);
    }
    parts.extensions = extensions;
    parts
}

fn copied_uri(uri: &Uri) -> Uri {
    // `FromStr` copies the text into a new buffer.
    uri.to_string().parse().unwrap_or_else(|_| uri.clone())
}

fn kept_headers(headers: &HeaderMap) -> HeaderMap {
    let kept = || {
        KEPT_HEADERS
            .iter()
            .flat_map(|name| headers.get_all(name).iter().map(move |v| (name, v)))
    };
    let mut copy = HeaderMap::with_capacity(kept().count());
    for (name, value) in kept() {
        // The constructor copies; what hyper accepted parses again, and if it
        // ever did not, sharing the original is merely less frugal.
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        copy.append(name.clone(), owned);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::{ConnectInfo, OriginalUri};
    use std::net::SocketAddr;

    fn browser_request() -> Parts {
        let (mut parts, ()) = Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket")
            .header(header::COOKIE, "theme=dark")
            .header(header::COOKIE, "session=abc")
            .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
            .header(header::USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64)")
            .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
            .header(header::ORIGIN, "http://chat.example")
            .header("x-request-id", "7f0c")
            .body(())
            .unwrap()
            .into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        parts.extensions.insert(OriginalUri(parts.uri.clone()));
        parts
    }

    #[test]
    fn a_socket_keeps_its_cookies_and_websocket_key_and_nothing_else() {
        let head = socket_io_head(browser_request());
        let cookies: Vec<_> = head.headers.get_all(header::COOKIE).iter().collect();
        assert_eq!(cookies, ["theme=dark", "session=abc"]);
        assert_eq!(
            head.headers[header::SEC_WEBSOCKET_KEY],
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
        assert_eq!(head.headers.len(), 3, "{:?}", head.headers);
        assert_eq!(head.uri, "/socket.io/?EIO=4&transport=websocket");
        assert!(head.extensions.get::<ConnectInfo<SocketAddr>>().is_none());
        assert!(head.extensions.get::<OriginalUri>().is_none());
    }

    #[test]
    fn a_long_poll_keeps_its_payload_encoding() {
        let (parts, ()) = Request::post("/socket.io/?EIO=4&transport=polling&sid=x")
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, "12")
            .body(())
            .unwrap()
            .into_parts();
        let head = socket_io_head(parts);
        assert_eq!(
            head.headers[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        assert_eq!(head.headers.len(), 1);
    }
}
