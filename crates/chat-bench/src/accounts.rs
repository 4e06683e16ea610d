//! The benchmark users over the HTTP API: register, or log in when the name is
//! taken, and keep each one's `session` cookie.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::header::SET_COOKIE;
use reqwest::{Client, StatusCode};

use crate::config::{Common, Target};
use crate::error::{AccountError, BenchError};

/// How long one register/login request may take (bcrypt at cost 12 under a
/// storm queues for a while).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
pub struct Account {
    pub username: String,
    /// Value of the `session` cookie.
    pub cookie: String,
}

pub fn http_client(concurrency: usize) -> Result<Client, BenchError> {
    Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .no_proxy()
        .build()
        .map_err(BenchError::HttpClient)
}

pub fn username(prefix: &str, i: usize) -> String {
    format!("{prefix}{i}")
}

/// Registers (or logs in) users 0..n, `concurrency` requests at a time.
pub async fn ensure_accounts(
    client: &Client,
    target: &Target,
    common: &Common,
    n: usize,
) -> Result<Vec<Account>, BenchError> {
    let mut results: Vec<(usize, Result<Account, AccountError>)> = futures::stream::iter(0..n)
        .map(|i| {
            let name = username(&common.user_prefix, i);
            async move {
                (
                    i,
                    register_or_login(client, target, &name, &common.password).await,
                )
            }
        })
        .buffer_unordered(common.http_concurrency)
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    let mut accounts = Vec::with_capacity(n);
    for (_, r) in results {
        accounts.push(r?);
    }
    Ok(accounts)
}

pub async fn register_or_login(
    client: &Client,
    target: &Target,
    username: &str,
    password: &str,
) -> Result<Account, AccountError> {
    match post(client, target, "/api/register", username, password).await? {
        Posted::Ok(cookie) => Ok(Account {
            username: username.to_owned(),
            cookie,
        }),
        Posted::Taken => login(client, target, username, password).await,
    }
}

pub async fn login(
    client: &Client,
    target: &Target,
    username: &str,
    password: &str,
) -> Result<Account, AccountError> {
    match post(client, target, "/api/login", username, password).await? {
        Posted::Ok(cookie) => Ok(Account {
            username: username.to_owned(),
            cookie,
        }),
        Posted::Taken => Err(AccountError::Status {
            path: "/api/login",
            status: 409,
            body: String::new(),
        }),
    }
}

/// Asks for the room's first 50 messages with the user's session, as a page
/// that reconnects catches up (`after_id`); the number of messages returned.
pub async fn catch_up(
    client: &Client,
    target: &Target,
    account: &Account,
) -> Result<usize, AccountError> {
    const PATH: &str = "/api/messages";
    let resp = client
        .get(format!("{}{PATH}?after_id=0&limit=50", target.http_base))
        .header(
            reqwest::header::COOKIE,
            format!("session={}", account.cookie),
        )
        .send()
        .await
        .map_err(|source| AccountError::Http { path: PATH, source })?;
    let status = resp.status();
    let body: serde_json::Value = resp
        .json()
        .await
        .map_err(|source| AccountError::Http { path: PATH, source })?;
    match body["messages"].as_array() {
        Some(messages) if status.is_success() && body["success"] == true => Ok(messages.len()),
        _ => Err(AccountError::Status {
            path: PATH,
            status: status.as_u16(),
            body: body.to_string().chars().take(200).collect(),
        }),
    }
}

enum Posted {
    Ok(String),
    Taken,
}

async fn post(
    client: &Client,
    target: &Target,
    path: &'static str,
    username: &str,
    password: &str,
) -> Result<Posted, AccountError> {
    let resp = client
        .post(format!("{}{path}", target.http_base))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .map_err(|source| AccountError::Http { path, source })?;
    let status = resp.status();
    if status == StatusCode::CONFLICT && path == "/api/register" {
        return Ok(Posted::Taken);
    }
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(AccountError::Status {
            path,
            status: status.as_u16(),
            body: body.chars().take(200).collect(),
        });
    }
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(session_cookie)
        .ok_or(AccountError::NoCookie {
            path,
            status: status.as_u16(),
        })?;
    Ok(Posted::Ok(cookie))
}

/// The value of `session=VALUE; ...`.
fn session_cookie(set_cookie: &str) -> Option<String> {
    let first = set_cookie.split(';').next()?.trim();
    let (name, value) = first.split_once('=')?;
    (name.trim() == "session" && !value.is_empty()).then(|| value.trim().to_owned())
}

/// Outcome of one timed login of the storm.
pub struct TimedLogin {
    pub elapsed: Duration,
    pub result: Result<(), AccountError>,
}

/// `n` logins of users 0..n, `concurrency` at a time, until `until`.
pub async fn login_storm(
    client: &Client,
    target: &Target,
    common: &Common,
    n: usize,
    concurrency: usize,
    until: Instant,
) -> Vec<TimedLogin> {
    futures::stream::iter(0..n)
        .map(|i| {
            let name = username(&common.user_prefix, i);
            async move {
                let start = Instant::now();
                let result = match tokio::time::timeout_at(
                    until.into(),
                    login(client, target, &name, &common.password),
                )
                .await
                {
                    Ok(r) => r.map(|_| ()),
                    Err(_) => Err(AccountError::Status {
                        path: "/api/login",
                        status: 0,
                        body: "cut short by --timeout".into(),
                    }),
                };
                TimedLogin {
                    elapsed: start.elapsed(),
                    result,
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found() {
        assert_eq!(
            session_cookie("session=abc123; HttpOnly; SameSite=Lax; Path=/").as_deref(),
            Some("abc123")
        );
        assert_eq!(session_cookie("other=1; Path=/"), None);
        assert_eq!(session_cookie("session=; Max-Age=0"), None);
        assert_eq!(session_cookie("garbage"), None);
    }
}
