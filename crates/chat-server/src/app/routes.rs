//! The HTTP routes and the layers around them (sessions, Socket.IO, Origin
//! check, request ids and tracing, security headers).

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderName, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get, post};
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use socketioxide::adapter::Adapter;
use socketioxide::layer::SocketIoLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::{self, AuthBackend};
use crate::error::AppError;
use crate::messages;
use crate::origin::{self, AllowedOrigins};
use crate::security::{self, SecurityHeaders};
use crate::socket_server::SocketServer;
use crate::state::{AppState, HttpState};
use crate::uploads;
use crate::{health, json, static_files, telemetry};

pub fn router<A: Adapter>(
    state: &AppState,
    sockets: Arc<dyn SocketServer>,
    io_layer: SocketIoLayer<A>,
) -> Router {
    let config = &state.config;
    let session_layer = SessionManagerLayer::new(state.sessions.clone())
        .with_name(auth::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(i64::from(
            config.session_days,
        ))));
    let auth_layer =
        AuthManagerLayerBuilder::new(AuthBackend::new(state.accounts.clone()), session_layer)
            .build();
    let api_not_found = || async { AppError::NotFound("接口不存在") };
    let not_found = || async { AppError::NotFound("文件不存在") };
    let api = Router::<HttpState>::new()
        .route("/api/register", post(auth::register))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/current_user", get(auth::current_user))
        .route("/api/messages", get(messages::history))
        .route("/api/messages/deleted", get(messages::deleted))
        .route("/api/upload", post(uploads::upload))
        .route("/api/settings", get(uploads::settings))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        // A known path with the wrong method is still an API answer: JSON.
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(auth_layer)
        .layer(DefaultBodyLimit::max(json::MAX_JSON_BYTES));

    let uploaded_images = Router::<HttpState>::new()
        .nest_service(
            "/uploads",
            ServeDir::new(state.uploads.dir()).fallback(not_found.into_service()),
        )
        .layer(from_fn(uploads::only_upload_names));

    let origins = AllowedOrigins(Arc::new(config.normalized_origins()));
    let http_state = HttpState {
        app: state.clone(),
        sockets: sockets.clone(),
        origins: origins.clone(),
    };
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::<HttpState>::new()
        .merge(api)
        .merge(uploaded_images)
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(telemetry::render))
        .merge(static_files::page(&config.web_dir))
        .with_state(http_state)
        .layer(io_layer)
        // Inside the origin check: the socket keeps only the headers it reads.
        .layer(from_fn(crate::socket::detach_socket_io_head))
        .layer(from_fn_with_state(origins, origin::check_origin))
        .layer(from_fn(static_files::socket_io_client))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(from_fn_with_state(
            SecurityHeaders::new(config),
            security::headers,
        ))
}
