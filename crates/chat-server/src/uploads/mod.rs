//! Image uploads over HTTP: `POST /api/upload`, `GET /api/settings`, and the
//! guard in front of `GET /uploads/<name>`. The folder itself is store.rs.

pub mod metadata;
mod store;

pub use chat_domain::storage::{is_upload_name, UPLOAD_URL_PREFIX as URL_PREFIX};
use store::ENVELOPE_BYTES;
pub use store::{ImageKind, StoredFile, Uploads};

use std::time::Duration;

use axum::body::BodyDataStream;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::limits;
use crate::protocol::{Settings, Success, Uploaded};
use crate::state::AppState;

/// An upload that takes longer than this is cut off (a body that never ends).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// In front of `GET /uploads/<name>`: a name this server could not have
/// issued is 404 before the file system is asked (a name past 255 bytes
/// made the file system's "name too long" a 500).
pub async fn only_upload_names(request: Request, next: Next) -> Response {
    let name = request.uri().path().strip_prefix(URL_PREFIX).unwrap_or("");
    if is_upload_name(name) {
        next.run(request).await
    } else {
        AppError::NotFound("文件不存在").into_response()
    }
}

/// `GET /api/settings`: what the page needs to know before it uploads or
/// offers to recall.
pub async fn settings(State(state): State<AppState>) -> Json<Settings> {
    Json(Settings {
        success: Success,
        max_upload_bytes: state.uploads.max_bytes(),
        recall_seconds: state.config.recall_seconds,
    })
}

/// `POST /api/upload`
pub async fn upload(
    State(state): State<AppState>,
    user: Result<CurrentUser, AppError>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let mut body = body.into_data_stream();
    match receive(&state, user, &parts, &mut body).await {
        Ok(name) => Json(Uploaded {
            success: Success,
            url: format!("{URL_PREFIX}{name}"),
            filename: name,
        })
        .into_response(),
        Err(e) => {
            crate::body::drain(&mut body).await;
            let mut response = e.into_response();
            // Whatever is left unread, the connection cannot be reused.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

async fn receive(
    state: &AppState,
    user: Result<CurrentUser, AppError>,
    parts: &Parts,
    body: &mut BodyDataStream,
) -> AppResult<String> {
    // PROTOCOL.md, Limits: the checks go 401, 413, 429, 507.
    let CurrentUser(user) = user?;
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let limit = state.uploads.max_bytes();
    // A declared length over the limit is refused before the body is stored.
    let declared = header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit + ENVELOPE_BYTES) {
        return Err(AppError::TooLarge(limit / (1024 * 1024)));
    }
    let (counters, budgets) = (state.counters.as_ref(), &state.budgets);
    let key = user.id.to_string();
    // The upload holds its place in the count while it runs (a burst cannot
    // all pass the check) and gives it back when nothing is stored.
    let place = limits::reserve(counters, budgets.uploads.as_ref(), &key, 1).await?;
    let stored = store_within_quota(state, parts, body, &key).await;
    if stored.is_err() {
        limits::release(counters, place).await;
    }
    let file = stored?;
    tracing::info!(user_id = user.id, file = %file.name, bytes = file.bytes, "image uploaded");
    Ok(file.name)
}

/// The quota, the free space, then the file written; the quota is checked
/// again with the file's size (and counted in the same step).
async fn store_within_quota(
    state: &AppState,
    parts: &Parts,
    body: &mut BodyDataStream,
    key: &str,
) -> AppResult<StoredFile> {
    let (counters, quota) = (state.counters.as_ref(), state.budgets.upload_bytes.as_ref());
    // A spent quota is refused before the body is read; whether this file
    // fits is known once it is written.
    limits::ensure_room(counters, quota, key, 1).await?;
    ensure_free_space(state).await?;
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let file = tokio::time::timeout(UPLOAD_TIMEOUT, state.uploads.store(content_type, body))
        .await
        .map_err(|_| AppError::Timeout)??;
    if let Err(e) = limits::reserve(counters, quota, key, file.bytes).await {
        state.uploads.remove(&file.name).await;
        return Err(e);
    }
    Ok(file)
}

/// 507 below `--min-free-mb` on the upload folder's file system: the
/// database may live on the same disk, and it must keep room to write.
async fn ensure_free_space(state: &AppState) -> AppResult<()> {
    let min = state.config.limits.min_free_mb.saturating_mul(1024 * 1024);
    if min == 0 {
        return Ok(());
    }
    match state.uploads.free_bytes().await {
        Ok(free) if free < min => {
            crate::telemetry::refused(limits::DISK_SPACE);
            tracing::warn!(
                free,
                min,
                "upload refused: the upload folder's disk is nearly full"
            );
            Err(AppError::DiskLow)
        }
        Ok(_) => Ok(()),
        // Not knowing is no reason to refuse: the write itself still
        // answers 507 when the disk is full.
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the upload folder's free space");
            Ok(())
        }
    }
}
