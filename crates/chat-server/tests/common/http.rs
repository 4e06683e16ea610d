//! An HTTP client of the JSON API with its own cookie jar (one browser), and
//! raw requests for paths a URL library would normalise.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::assert_user;
use chat_testkit::socketio::{ConnectOutcome, Sock};

pub struct Client {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    pub addr: SocketAddr,
}

/// A response read whole: status, headers and the body as JSON (Null when it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    async fn read(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("read the body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            text,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` of the response.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `session` cookie this response sets, parsed.
    pub fn session_cookie(&self) -> Option<cookie::Cookie<'static>> {
        self.set_cookies()
            .into_iter()
            .filter_map(|c| cookie::Cookie::parse(c).ok())
            .find(|c| c.name() == "session")
    }
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Self { http, jar, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The Cookie header this client would send (None when the jar is empty).
    pub fn cookie_header(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.url("/")).unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// The value of the `session` cookie held by this client.
    pub fn session_id(&self) -> Option<String> {
        self.cookie_header()?
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "session")
            .map(|(_, v)| v.to_owned())
    }

    /// Puts a cookie in the jar as if the server had set it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = reqwest::Url::parse(&self.url("/")).unwrap();
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(self.http.get(self.url(path)).send().await.expect("GET")).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .json(body)
                .send()
                .await
                .expect("POST"),
        )
        .await
    }

    /// POST JSON with extra headers (e.g. the `X-Real-IP` a proxy would add).
    pub async fn post_json_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.post(self.url(path)).json(body);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        Reply::read(req.send().await.expect("POST")).await
    }

    /// POST with a body and content type of the caller's choosing.
    pub async fn post_raw(&self, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Reply {
        let mut req = self.http.post(self.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header(reqwest::header::CONTENT_TYPE, ct);
        }
        Reply::read(req.send().await.expect("POST")).await
    }

    pub async fn post_empty(&self, path: &str) -> Reply {
        Reply::read(self.http.post(self.url(path)).send().await.expect("POST")).await
    }

    pub async fn try_register(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/api/register",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Registers (and so logs in); returns the `User`.
    pub async fn register(&self, username: &str, password: &str) -> Value {
        let r = self.try_register(username, password).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "register {username}: {}",
            r.text
        );
        assert_eq!(r.json["success"], true);
        assert_user(&r.json["user"], username);
        r.json["user"].clone()
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Reply {
        self.post_json(
            "/api/login",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Value {
        let r = self.try_login(username, password).await;
        assert_eq!(r.status, StatusCode::OK, "login {username}: {}", r.text);
        assert_eq!(r.json["success"], true);
        r.json["user"].clone()
    }

    pub async fn logout(&self) -> Reply {
        self.post_empty("/api/logout").await
    }

    /// `multipart/form-data` with one file field.
    pub async fn upload(&self, field: &str, filename: &str, mime: &str, bytes: Vec<u8>) -> Reply {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str(mime)
            .unwrap();
        let form = reqwest::multipart::Form::new().part(field.to_owned(), part);
        Reply::read(
            self.http
                .post(self.url("/api/upload"))
                .multipart(form)
                .send()
                .await
                .expect("upload"),
        )
        .await
    }

    /// Uploads a PNG and returns the URL the server issued.
    pub async fn upload_png(&self) -> String {
        let r = self
            .upload("file", "cat.png", "image/png", super::png_bytes())
            .await;
        assert_eq!(r.status, StatusCode::OK, "upload: {}", r.text);
        r.json["url"].as_str().unwrap().to_owned()
    }

    /// Opens a socket over websocket with this client's cookies.
    pub async fn try_socket(&self) -> ConnectOutcome {
        Sock::connect(self.addr, self.cookie_header().as_deref(), None).await
    }

    /// Opens a socket that must be accepted, and waits for its first
    /// `online_users` (left unread), as a page does before it sends.
    pub async fn socket(&self) -> Sock {
        let mut sock = self.raw_socket().await;
        sock.settle().await;
        sock
    }

    /// Opens a socket that must be accepted, and returns as soon as the
    /// server's connect packet has arrived.
    pub async fn raw_socket(&self) -> Sock {
        match self.try_socket().await {
            ConnectOutcome::Connected(s) => s,
            other => panic!("socket refused: {other:?}"),
        }
    }
}

/// A raw HTTP/1.1 GET of `path` exactly as written (no normalisation of `..`).
/// Returns the status code, the head and the body.
pub async fn raw_get(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
    raw_request(addr, "GET", path).await
}

/// A raw HTTP/1.1 request without a body: `method path` exactly as written.
pub async fn raw_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String, Vec<u8>) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(super::WAIT, tcp.read_to_end(&mut buf))
        .await
        .expect("the server answers a raw request")
        .unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = buf[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, head, body)
}

/// A raw HTTP/1.1 POST sent with `Transfer-Encoding: chunked` (no
/// Content-Length), in 64 KiB chunks. Returns the status code and the body.
pub async fn raw_post_chunked(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(64 * 1024) {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
        // The server may answer (413) and close before the whole body is sent.
        if tcp.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(super::WAIT, tcp.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
