//! PROTOCOL.md §6, "Security headers": nosniff, X-Frame-Options,
//! Referrer-Policy and Permissions-Policy on every answer; the
//! Content-Security-Policy of `--csp` on HTML answers.

#[macro_use]
mod common;

use chat_server::security::{COMPAT_CSP, PERMISSIONS_POLICY, STRICT_CSP};
use common::http::Reply;
use common::*;
use reqwest::StatusCode;

/// The headers every answer carries, whatever `--csp` says.
fn assert_common_headers(what: &str, r: &Reply) {
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    let permissions = r.header("permissions-policy").unwrap_or_default();
    assert_eq!(permissions, PERMISSIONS_POLICY, "{what}");
    for blocked in [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
    ] {
        assert!(permissions.contains(blocked), "{what}: {permissions}");
    }
    // The page pastes images, and may show notifications one day.
    for allowed in ["clipboard", "notifications"] {
        assert!(!permissions.contains(allowed), "{what}: {permissions}");
    }
}

/// Fetches the page, the API, an upload, /healthz, the socket.io client and
/// a polling handshake; returns each answer with a name.
async fn every_kind_of_answer(server: &TestServer) -> Vec<(&'static str, Reply)> {
    let alice = server.client();
    alice.register("alice", PASSWORD).await;
    let upload = alice.upload_png().await;
    let mut answers = Vec::new();
    for (what, path) in [
        ("the page", "/".to_owned()),
        ("the catch-all", "/some/room/path".to_owned()),
        ("a file of the web folder", "/hello.txt".to_owned()),
        ("the API", "/api/current_user".to_owned()),
        ("an API 404", "/api/nothing-here".to_owned()),
        ("an upload", upload),
        ("a missing upload", "/uploads/missing.png".to_owned()),
        ("/healthz", "/healthz".to_owned()),
        ("the socket.io client", "/socket.io/socket.io.js".to_owned()),
        (
            "the socket.io min client",
            "/socket.io/socket.io.min.js".to_owned(),
        ),
        (
            "a polling handshake",
            "/socket.io/?EIO=4&transport=polling".to_owned(),
        ),
    ] {
        answers.push((what, alice.get(&path).await));
    }
    answers
}

fn is_html(r: &Reply) -> bool {
    r.header("content-type")
        .is_some_and(|t| t.starts_with("text/html"))
}

on_both_backends! {
    /// Every answer gets the common headers; only HTML answers get a CSP.
    async fn every_answer_carries_the_security_headers(backend: Backend) {
        let server = TestServer::start_with(backend, &["--csp", "strict"]).await;
        for (what, r) in every_kind_of_answer(&server).await {
            assert_common_headers(what, &r);
            if is_html(&r) {
                assert_eq!(r.header("content-security-policy"), Some(STRICT_CSP), "{what}");
            } else {
                assert_eq!(r.header("content-security-policy"), None, "{what}");
            }
        }
    }
}

/// The answers of `/` and of the catch-all are the page, in HTML.
async fn page_csp(server: &TestServer) -> Option<String> {
    let c = server.client();
    let mut seen = Vec::new();
    for path in ["/", "/index.html", "/no/such/page"] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert!(is_html(&r), "{path}: {:?}", r.header("content-type"));
        assert_common_headers(path, &r);
        seen.push(r.header("content-security-policy").map(str::to_owned));
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    seen.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csp_flag_strict_compat_off() {
    for (flag, expected) in [
        ("strict", Some(STRICT_CSP)),
        ("compat", Some(COMPAT_CSP)),
        ("off", None),
    ] {
        let server = TestServer::start_with(Backend::Sqlite, &["--csp", flag]).await;
        assert_eq!(page_csp(&server).await.as_deref(), expected, "--csp {flag}");
    }
}

#[test]
fn the_policies_are_as_documented() {
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(STRICT_CSP.contains(directive), "{directive}: {STRICT_CSP}");
    }
    assert!(!STRICT_CSP.contains("unsafe"), "{STRICT_CSP}");
    assert!(!STRICT_CSP.contains("https:"), "{STRICT_CSP}");
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https:;",
        "style-src 'self' 'unsafe-inline' https:;",
        "img-src 'self' data: blob: https:;",
        "font-src 'self' https:;",
        "connect-src 'self';",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(COMPAT_CSP.contains(directive), "{directive}: {COMPAT_CSP}");
    }
    assert!(!COMPAT_CSP.contains("unsafe-eval"), "{COMPAT_CSP}");
}

/// The test web folder's index.html has no `<meta name="chat-csp">`: a
/// Flask-era page, so auto (the default) gives compat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_without_the_meta_tag_is_compat() {
    assert!(!INDEX_HTML.contains("chat-csp"));
    let server = TestServer::start(Backend::Sqlite).await;
    assert_eq!(page_csp(&server).await.as_deref(), Some(COMPAT_CSP));
    let server = TestServer::start_with(Backend::Sqlite, &["--csp", "auto"]).await;
    assert_eq!(page_csp(&server).await.as_deref(), Some(COMPAT_CSP));
}

/// A web folder whose index.html opts in gets strict under auto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_with_the_meta_tag_is_strict() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><head><meta charset=\"utf-8\">\
         <meta name=\"chat-csp\" content=\"strict\"><title>t</title></head><p>INDEX-MARKER</p>",
    )
    .unwrap();
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--web-dir", web.path().to_str().unwrap()],
    )
    .await;
    assert_eq!(page_csp(&server).await.as_deref(), Some(STRICT_CSP));
    // --csp wins over the tag.
    let server = TestServer::start_with(
        Backend::Sqlite,
        &["--web-dir", web.path().to_str().unwrap(), "--csp", "compat"],
    )
    .await;
    assert_eq!(page_csp(&server).await.as_deref(), Some(COMPAT_CSP));
}

/// Without a web folder the built-in page (web/index.html, which opts in)
/// is served, and auto gives strict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_with_the_built_in_page_is_strict() {
    let none = tempfile::tempdir().unwrap();
    let missing = none.path().join("no-web-folder");
    let server =
        TestServer::start_with(Backend::Sqlite, &["--web-dir", missing.to_str().unwrap()]).await;
    let r = server.client().get("/").await;
    assert!(r
        .text
        .contains("<meta name=\"chat-csp\" content=\"strict\">"));
    assert_eq!(page_csp(&server).await.as_deref(), Some(STRICT_CSP));
    // The built-in page's scripts and styles are no HTML: no CSP, the rest stays.
    for path in ["/js/main.js", "/style.css", "/socket.io/socket.io.js"] {
        let r = server.client().get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_common_headers(path, &r);
        assert_eq!(r.header("content-security-policy"), None, "{path}");
    }
}
