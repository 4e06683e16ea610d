//! Security headers (PROTOCOL.md §6, "Security headers").
//!
//! Every answer gets `X-Content-Type-Options: nosniff`, `X-Frame-Options:
//! DENY`, `Referrer-Policy: no-referrer` and a `Permissions-Policy` turning
//! off the browser features the page does not use. HTML answers (the page
//! and its catch-all) also get a `Content-Security-Policy`, chosen once at
//! start-up by `--csp`:
//!
//! - `strict`: no inline or eval script, everything from the server itself;
//! - `compat`: the same with `'unsafe-inline'` added to `script-src` and
//!   `style-src`, and `https:` to `script-src`, `style-src`, `font-src` and
//!   `img-src`, for a Flask-era single-file page with inline `<script>` and
//!   `<style>` that loads its client and fonts from public CDNs;
//! - `auto` (default): `strict` when the served index.html carries
//!   `<meta name="chat-csp" content="strict">` (ours does), `compat` otherwise;
//! - `off`: no CSP (the other headers stay).

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;

/// `--csp`: which Content-Security-Policy the page gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CspMode {
    /// `strict` when the served index.html opts in with
    /// `<meta name="chat-csp" content="strict">`, `compat` otherwise.
    #[default]
    Auto,
    /// No inline or eval script; everything from the server itself.
    Strict,
    /// `strict` plus `'unsafe-inline'` and `https:` for scripts, styles,
    /// fonts and images (Flask-era pages).
    Compat,
    /// No Content-Security-Policy.
    Off,
}

/// The policy of `--csp strict`.
pub const STRICT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The policy of `--csp compat`: strict, with inline scripts and styles and
/// https: sources for scripts, styles, fonts and images.
pub const COMPAT_CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline' https:; \
     style-src 'self' 'unsafe-inline' https:; img-src 'self' data: blob: https:; \
     font-src 'self' https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'";

/// Browser features the page does not use. Clipboard access (the page pastes
/// images) and notifications are left alone.
pub const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), \
     usb=(), serial=(), hid=(), midi=(), display-capture=(), accelerometer=(), gyroscope=(), \
     magnetometer=()";

const PERMISSIONS_POLICY_HEADER: HeaderName = HeaderName::from_static("permissions-policy");

/// Whether `html` opts in to the strict policy with
/// `<meta name="chat-csp" content="strict">`.
///
/// A simple check, not an HTML parser: some `<meta ...>` tag (up to its
/// first `>`, any case, attributes in any order, quoted with `"` or `'` or
/// not at all) has the attributes `name=chat-csp` and `content=strict`.
pub fn opts_in_to_strict(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    lower.match_indices("<meta").any(|(start, _)| {
        let tag = &lower[start + "<meta".len()..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let mut name = false;
        let mut content = false;
        for attr in tag.split_ascii_whitespace() {
            let attr: String = attr
                .chars()
                .filter(|c| !matches!(c, '"' | '\'' | '/'))
                .collect();
            name |= attr == "name=chat-csp";
            content |= attr == "content=strict";
        }
        name && content
    })
}

/// Resolves `auto` against the index.html that will be served: the web
/// folder's when it has one, else the built-in copy.
pub fn resolve(mode: CspMode, web_dir: &Path) -> CspMode {
    if mode != CspMode::Auto {
        tracing::info!(csp = ?mode, "Content-Security-Policy set by --csp");
        return mode;
    }
    let index = web_dir.join("index.html");
    let (html, source) = if index.is_file() {
        match std::fs::read_to_string(&index) {
            Ok(html) => (html, index.display().to_string()),
            Err(e) => {
                tracing::warn!(path = %index.display(), error = %e, "cannot read index.html: --csp auto gives compat");
                return CspMode::Compat;
            }
        }
    } else {
        (
            crate::static_files::INDEX_HTML.to_owned(),
            "built-in page".to_owned(),
        )
    };
    let resolved = if opts_in_to_strict(&html) {
        CspMode::Strict
    } else {
        CspMode::Compat
    };
    tracing::info!(
        csp = ?resolved,
        page = %source,
        "--csp auto: strict when index.html carries <meta name=\"chat-csp\" content=\"strict\">, compat otherwise"
    );
    resolved
}

/// The headers, decided once at start-up; the state of [`headers`].
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// The CSP of HTML answers, `None` with `--csp off`.
    csp: Option<HeaderValue>,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        let csp = match resolve(config.csp, &config.web_dir) {
            CspMode::Strict => Some(STRICT_CSP),
            CspMode::Compat | CspMode::Auto => Some(COMPAT_CSP),
            CspMode::Off => None,
        };
        Self {
            csp: csp.map(HeaderValue::from_static),
        }
    }
}

fn is_html(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .get(..9)
                .is_some_and(|t| t.eq_ignore_ascii_case("text/html"))
        })
}

/// Middleware: the headers on every answer, the CSP on HTML answers.
pub async fn headers(
    State(security): State<SecurityHeaders>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let html = is_html(&response);
    let h = response.headers_mut();
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        PERMISSIONS_POLICY_HEADER,
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    if html {
        if let Some(csp) = &security.csp {
            h.insert(CONTENT_SECURITY_POLICY, csp.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_tag_opts_in() {
        assert!(opts_in_to_strict(
            r#"<head><meta charset="utf-8"><meta name="chat-csp" content="strict"></head>"#
        ));
        assert!(opts_in_to_strict(
            "<META content='strict' NAME='chat-csp' />"
        ));
        assert!(opts_in_to_strict("<meta name=chat-csp content=strict>"));
        assert!(!opts_in_to_strict(
            "<meta name=\"chat-csp\" content=\"compat\">"
        ));
        assert!(!opts_in_to_strict(
            "<meta name=\"chat-csp\"><meta content=\"strict\">"
        ));
        assert!(!opts_in_to_strict("<title>chat-csp strict</title>"));
        assert!(!opts_in_to_strict(""));
    }

    #[test]
    fn our_page_opts_in() {
        assert!(opts_in_to_strict(crate::static_files::INDEX_HTML));
    }

    #[test]
    fn scripts_never_get_unsafe_inline_in_strict() {
        assert!(!STRICT_CSP.contains("unsafe"));
        assert!(COMPAT_CSP.contains("script-src 'self' 'unsafe-inline' https:"));
    }
}
