//! The page: the web folder with the Flask catch-all (unknown paths get
//! index.html), or the copy built into the binary when the folder is missing;
//! and the official socket.io client at /socket.io/socket.io.js.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// socket.io-client 4.8 from npm (scripts/vendor-socketio-client.sh refreshes it).
const SOCKET_IO_JS: &str = include_str!("../../../web/vendor/socket.io.js");
const SOCKET_IO_MIN_JS: &str = include_str!("../../../web/vendor/socket.io.min.js");

/// The page built into the binary (served when the web folder is missing).
pub const INDEX_HTML: &str = include_str!("../../../web/index.html");
const STYLE_CSS: &str = include_str!("../../../web/style.css");

/// The page's script: ES modules under web/js/, loaded by index.html
/// (`<script type="module" src="/js/main.js">`) with no build step.
const JS_MODULES: &[(&str, &str)] = &[
    ("/js/api.js", include_str!("../../../web/js/api.js")),
    ("/js/auth.js", include_str!("../../../web/js/auth.js")),
    (
        "/js/composer.js",
        include_str!("../../../web/js/composer.js"),
    ),
    ("/js/dom.js", include_str!("../../../web/js/dom.js")),
    ("/js/history.js", include_str!("../../../web/js/history.js")),
    ("/js/main.js", include_str!("../../../web/js/main.js")),
    ("/js/render.js", include_str!("../../../web/js/render.js")),
    ("/js/session.js", include_str!("../../../web/js/session.js")),
    ("/js/socket.js", include_str!("../../../web/js/socket.js")),
    ("/js/state.js", include_str!("../../../web/js/state.js")),
    ("/js/util.js", include_str!("../../../web/js/util.js")),
];

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// Serves the client before the Socket.IO layer, which owns every other
/// path under /socket.io/.
pub async fn socket_io_client(request: Request, next: Next) -> Response {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        match request.uri().path() {
            "/socket.io/socket.io.js" => {
                return asset(SOCKET_IO_JS, "application/javascript; charset=utf-8")
            }
            "/socket.io/socket.io.min.js" => {
                return asset(SOCKET_IO_MIN_JS, "application/javascript; charset=utf-8")
            }
            _ => {}
        }
    }
    next.run(request).await
}

/// Longest file name the file system takes, in bytes.
const NAME_MAX: usize = 255;

/// A path segment longer than any file name names no file: it gets the
/// catch-all's index.html without the file system being asked (which
/// answered "File name too long", a 500).
async fn overlong_names_are_no_files(mut request: Request, next: Next) -> Response {
    let overlong = request.uri().path().split('/').any(|segment| {
        // Each %XX stands for one byte.
        segment
            .len()
            .saturating_sub(2 * segment.matches('%').count())
            > NAME_MAX
    });
    if overlong {
        *request.uri_mut() = axum::http::Uri::from_static("/");
    }
    next.run(request).await
}

/// The page's routes: the folder when there is one, the built-in copy otherwise.
pub fn page<S: Clone + Send + Sync + 'static>(web_dir: &Path) -> Router<S> {
    if web_dir.join("index.html").is_file() {
        tracing::info!(web_dir = %web_dir.display(), "serving the page from the web folder");
        let index = ServeFile::new(web_dir.join("index.html"));
        Router::new()
            .fallback_service(ServeDir::new(web_dir).fallback(index))
            .layer(axum::middleware::from_fn(overlong_names_are_no_files))
            // Revalidated on every load, so that after an upgrade no browser
            // runs old modules beside new ones (ETag and Last-Modified keep
            // the revalidation cheap).
            .layer(SetResponseHeaderLayer::if_not_present(
                CACHE_CONTROL,
                HeaderValue::from_static("no-cache"),
            ))
    } else {
        tracing::info!(web_dir = %web_dir.display(), "web folder missing: serving the built-in page");
        let mut router = Router::new();
        for &(path, body) in JS_MODULES {
            router = router.route(
                path,
                get(move || async move { asset(body, "text/javascript; charset=utf-8") }),
            );
        }
        router
            .route(
                "/style.css",
                get(|| async { asset(STYLE_CSS, "text/css; charset=utf-8") }),
            )
            .fallback(|| async { asset(INDEX_HTML, "text/html; charset=utf-8") })
    }
}
