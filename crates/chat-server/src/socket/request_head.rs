//! engineioxide keeps every socket's handshake request head (`req_parts`) for
//! the socket's whole life. hyper parses the URI and header values as slices
//! of the connection's read buffer (8–16 KiB), so keeping the head would keep
//! that buffer too: about 16 kB per idle socket, measured with massif. Copying
//! the head into allocations of its own lets the buffer go at the upgrade.
//! axum's router has already cloned the URI into `OriginalUri` by the time a
//! route layer runs, so that copy is replaced as well.

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;

pub async fn detach_socket_io_head(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/socket.io/") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    parts.uri = copied_uri(&parts.uri);
    if let Some(OriginalUri(original)) = parts.extensions.get_mut::<OriginalUri>() {
        *original = copied_uri(original);
    }
    parts.headers = copied_headers(&parts.headers);
    next.run(Request::from_parts(parts, body)).await
}

fn copied_uri(uri: &Uri) -> Uri {
    // `FromStr` copies the text into a new buffer.
    uri.to_string().parse().unwrap_or_else(|_| uri.clone())
}

fn copied_headers(headers: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        // Both constructors copy; what hyper accepted parses again, and if it
        // ever did not, sharing the original is merely less frugal.
        let name =
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap_or_else(|_| name.clone());
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        copy.append(name, owned);
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copied_head_equals_the_original() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", HeaderValue::from_static("session=abc"));
        headers.append("x-custom", HeaderValue::from_static("1"));
        headers.append("x-custom", HeaderValue::from_static("2"));
        let copy = copied_headers(&headers);
        assert_eq!(copy, headers);
        assert_eq!(copy.get_all("x-custom").iter().count(), 2);

        let uri: Uri = "/socket.io/?EIO=4&transport=websocket".parse().unwrap();
        assert_eq!(copied_uri(&uri), uri);
    }
}
