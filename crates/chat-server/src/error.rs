//! One error type for the server, mapped to the protocol's answers: the JSON
//! `{"success": false, "error"}` with its status code over HTTP, and the same
//! sentence in socket acknowledgements and `error` events.

use crate::protocol::Failure;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chat_domain::DomainError;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed or out of bounds; the text says how.
    #[error("{0}")]
    BadRequest(String),
    #[error("请先登录")]
    Unauthorized,
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("不支持的请求方法")]
    MethodNotAllowed,
    #[error("用户名已存在")]
    UsernameTaken,
    #[error("文件大小不能超过 {0} MB")]
    TooLarge(u64),
    #[error("请求体过大")]
    BadRequestTooLarge,
    /// 429: the login lockout of one name from one address.
    #[error("登录失败次数过多，请 {} 分钟后再试", minutes(.0))]
    LockedOut(Duration),
    /// 429: a budget of the Limits table is spent (`reason` names it, as in
    /// `chat_refusals_total`); Retry-After tells when it has room again.
    #[error("{}", limited_text(.reason, .retry_after))]
    Limited {
        reason: &'static str,
        retry_after: Duration,
    },
    /// 507: less free space than `--min-free-mb` on the upload folder's disk.
    #[error("服务器存储空间不足")]
    DiskLow,
    #[error("发送太频繁，请稍后再试")]
    Flooding,
    /// `delete_message`: no such message, or it is deleted already (404).
    #[error("消息不存在或已被删除")]
    MessageNotFound,
    /// `delete_message`: someone else's message, and no admin (403).
    #[error("只能撤回自己的消息")]
    NotYourMessage,
    /// `delete_message`: the author's recall window (seconds) has passed (403).
    #[error("消息发送已超过 {0} 秒，无法撤回")]
    RecallExpired(u64),
    /// Login with the right password of a banned account (403).
    #[error("该账号已被封禁")]
    Banned,
    /// `ban_user` / `unban_user` refused by the rules (403 / 404).
    #[error("{0}")]
    BanRefused(#[source] chat_domain::BanError),
    #[error("上传超时")]
    Timeout,
    /// 408: the request body trickled in (`crate::slow_body`).
    #[error("请求发送太慢，连接已关闭")]
    SlowBody,
    /// The database (or another backing service) is unreachable right now.
    #[error("服务暂时不可用，请稍后再试")]
    Unavailable(#[source] Option<Cause>),
    /// Writing a file failed: 507 when the disk is full, 500 otherwise. The
    /// cause is logged; the client gets a sentence.
    #[error("{}", if is_disk_full(.0) { "服务器存储空间不足" } else { "服务器内部错误" })]
    Storage(#[source] std::io::Error),
    /// Anything else: logged in full, shown to the user as a plain sentence.
    #[error("服务器内部错误")]
    Internal(#[source] Cause),
}

/// Whole minutes, rounded up, at least one: for the sentences.
fn minutes(d: &Duration) -> u64 {
    d.as_secs().div_ceil(60).max(1)
}

/// The sentence of a spent budget (reasons: `crate::limits`).
fn limited_text(reason: &str, retry_after: &Duration) -> String {
    let m = minutes(retry_after);
    match reason {
        crate::limits::REGISTER => format!("注册太频繁，请 {m} 分钟后再试"),
        crate::limits::LOGIN_FAILURES_PER_ADDRESS => {
            format!("登录失败次数过多，请 {m} 分钟后再试")
        }
        crate::limits::UPLOADS => "上传太频繁，请稍后再试".to_owned(),
        crate::limits::UPLOAD_BYTES => format!("今日上传已达上限，请 {m} 分钟后再试"),
        crate::limits::DELETES => "删除太频繁，请稍后再试".to_owned(),
        crate::limits::BANS => "封禁操作太频繁，请稍后再试".to_owned(),
        _ => "请求太频繁，请稍后再试".to_owned(),
    }
}

/// The error behind an `Unavailable` or `Internal`, kept for the log. Shared,
/// so that one failed write can answer every message of its batch.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// ENOSPC or EDQUOT: no room left (for anyone, or for this user's quota).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
            AppError::NotFound(_) | AppError::MessageNotFound => StatusCode::NOT_FOUND,
            AppError::NotYourMessage | AppError::RecallExpired(_) | AppError::Banned => {
                StatusCode::FORBIDDEN
            }
            AppError::BanRefused(chat_domain::BanError::UnknownUser) => StatusCode::NOT_FOUND,
            AppError::BanRefused(_) => StatusCode::FORBIDDEN,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UsernameTaken => StatusCode::CONFLICT,
            AppError::TooLarge(_) | AppError::BadRequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::LockedOut(_) | AppError::Limited { .. } | AppError::Flooding => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Timeout | AppError::SlowBody => StatusCode::REQUEST_TIMEOUT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Storage(e) if is_disk_full(e) => StatusCode::INSUFFICIENT_STORAGE,
            AppError::DiskLow => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Storage(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// How long a refused client should wait, for `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AppError::LockedOut(left) => Some(*left),
            AppError::Limited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    pub fn bad_request(text: impl Into<String>) -> Self {
        AppError::BadRequest(text.into())
    }

    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AppError::Internal(Arc::from(e.into()))
    }

    /// The one place errors are logged, by how much they matter: what the
    /// server failed at with its whole cause, what the client got wrong at
    /// debug level.
    pub fn log(&self, what: &'static str) {
        match self {
            AppError::Internal(_) | AppError::Storage(_) => {
                tracing::error!(error = %Chain(self), "{what} failed");
            }
            AppError::Unavailable(_) => {
                tracing::warn!(error = %Chain(self), "{what}: service unavailable")
            }
            _ => tracing::debug!(error = %self, "{what} refused"),
        }
    }

    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "invalid",
            AppError::Flooding => "flood",
            AppError::Limited { reason, .. } => reason,
            AppError::LockedOut(_) => "login_lockout",
            AppError::DiskLow => "disk_space",
            AppError::SlowBody => crate::slow_body::BODY_TOO_SLOW,
            AppError::Unavailable(_) => "unavailable",
            AppError::Unauthorized | AppError::BadCredentials => "unauthorized",
            AppError::MessageNotFound => "not_found",
            AppError::NotYourMessage => "not_yours",
            AppError::RecallExpired(_) => "too_late",
            AppError::Banned => "banned",
            AppError::BanRefused(e) => match e {
                chat_domain::BanError::NotAdmin => "not_admin",
                chat_domain::BanError::UnknownUser => "unknown_user",
                chat_domain::BanError::Yourself => "yourself",
                chat_domain::BanError::AnotherAdmin => "admin",
                chat_domain::BanError::Domain(_) => "other",
            },
            _ => "other",
        }
    }

    /// The protocol's failure object, for acknowledgements and HTTP bodies.
    pub fn body(&self) -> Failure {
        Failure::new(self.to_string())
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(v) => AppError::BadRequest(v.to_string()),
            DomainError::UsernameTaken => AppError::UsernameTaken,
            e if e.is_unavailable() => AppError::Unavailable(Some(Arc::new(e))),
            e => AppError::Internal(Arc::new(e)),
        }
    }
}

impl From<chat_domain::DeleteError> for AppError {
    fn from(e: chat_domain::DeleteError) -> Self {
        use chat_domain::DeleteError;
        match e {
            DeleteError::NotFound => AppError::MessageNotFound,
            DeleteError::NotYours => AppError::NotYourMessage,
            DeleteError::TooLate(secs) => AppError::RecallExpired(secs),
            DeleteError::Domain(e) => e.into(),
        }
    }
}

impl From<chat_domain::BanError> for AppError {
    fn from(e: chat_domain::BanError) -> Self {
        match e {
            chat_domain::BanError::Domain(e) => e.into(),
            e => AppError::BanRefused(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log("request");
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(wait) = self.retry_after() {
            // Whole seconds, rounded up: a client that waits that long gets in.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// An error and its sources, for the log: "a: b: c".
struct Chain<'a>(&'a AppError);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut source = std::error::Error::source(self.0);
        let mut first = true;
        while let Some(e) = source {
            if !first {
                f.write_str(": ")?;
            }
            write!(f, "{e}")?;
            first = false;
            source = e.source();
        }
        if first {
            write!(f, "{}", self.0)?;
        }
        Ok(())
    }
}

pub type AppResult<T> = Result<T, AppError>;
