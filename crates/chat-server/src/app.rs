//! Wiring: the database, the shared state, Socket.IO and the HTTP routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::header::X_CONTENT_TYPE_OPTIONS;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get, post};
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use chat_domain::{Accounts, Database, DbOptions, DbSessionStore, Passwords};
use socketioxide::SocketIo;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::{self, AuthBackend};
use crate::config::Config;
use crate::error::AppError;
use crate::limits::{MemoryFloodLimiter, MemoryLoginLockout};
use crate::messages::{self, writer::MessageWriter};
use crate::origin::{self, AllowedOrigins};
use crate::presence::{Announcer, MemoryPresence, Presence};
use crate::state::{AppState, HttpState, Shared};
use crate::uploads::{self, Uploads};
use crate::{health, json, socket, static_files, telemetry};

pub const SESSION_COOKIE: &str = "session";
/// PROTOCOL.md §1.
const PING_INTERVAL: Duration = Duration::from_millis(25_000);
const PING_TIMEOUT: Duration = Duration::from_millis(20_000);
const MAX_PAYLOAD: u64 = 1_000_000;
/// Packets a socket may have waiting to be written before further ones are
/// dropped (and counted): room for a join storm's burst of notices.
const SEND_QUEUE_PACKETS: usize = 1024;
/// How often idle limiter entries and expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The assembled server, ready to be served on any listener.
pub struct App {
    pub router: Router,
    pub io: SocketIo,
    pub state: AppState,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] chat_domain::DomainError),
    #[error("cannot use the upload folder {path}: {source}")]
    Uploads {
        path: String,
        source: std::io::Error,
    },
    #[error("start-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub async fn build(config: Config) -> Result<App, StartError> {
    telemetry::install();
    let db_options = DbOptions {
        pool_size: config.db_pool_size,
        ..DbOptions::default()
    };
    let url = config.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Database::open(&url, &db_options)).await??;
    tracing::info!(backend = ?db.backend(), url = %chat_domain::db::redact(&config.database_url), "database ready");
    let cost = config.bcrypt_cost;
    let passwords = tokio::task::spawn_blocking(move || Passwords::new(cost)).await??;
    let accounts = Accounts::new(db.clone(), passwords);
    let sessions = DbSessionStore::new(db.clone());
    let uploads =
        Uploads::new(config.upload_dir.clone(), config.max_upload_bytes()).map_err(|source| {
            StartError::Uploads {
                path: config.upload_dir.display().to_string(),
                source,
            }
        })?;

    let presence: Arc<dyn Presence> = Arc::new(MemoryPresence::default());
    let flood = Arc::new(MemoryFloodLimiter::default());
    let lockout = Arc::new(MemoryLoginLockout::default());
    let (writer, writer_task) = MessageWriter::channel();
    let origins = AllowedOrigins(Arc::new(config.normalized_origins()));

    let state = AppState(Arc::new(Shared {
        config: config.clone(),
        db: db.clone(),
        accounts: accounts.clone(),
        sessions: sessions.clone(),
        uploads: uploads.clone(),
        presence: presence.clone(),
        announcer: Announcer::default(),
        flood: flood.clone(),
        lockout: lockout.clone(),
        writer,
    }));

    let (io_layer, io) = SocketIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_payload(MAX_PAYLOAD)
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .max_buffer_size(SEND_QUEUE_PACKETS)
        .with_state(state.clone())
        .build_layer();
    socket::register(&io);
    writer_task.spawn(db.clone(), io.clone());
    state.announcer.spawn(presence, io.clone(), Duration::ZERO);

    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            let now = std::time::Instant::now();
            flood.0.sweep(now);
            lockout.0.sweep(now);
            telemetry::upkeep();
            if let Err(e) = sessions.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
        }
    });

    let session_layer = SessionManagerLayer::new(DbSessionStore::new(db))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(i64::from(
            config.session_days,
        ))));
    let auth_layer =
        AuthManagerLayerBuilder::new(AuthBackend::new(accounts), session_layer).build();

    let api = Router::<HttpState>::new()
        .route("/api/register", post(auth::register))
        .route("/api/login", post(auth::login))
        .route("/api/logout", post(auth::logout))
        .route("/api/current_user", get(auth::current_user))
        .route("/api/messages", get(messages::history))
        .route("/api/upload", post(uploads::upload))
        .route(
            "/api/{*rest}",
            any(|| async { AppError::NotFound("接口不存在") }),
        )
        .layer(auth_layer)
        .layer(DefaultBodyLimit::max(json::MAX_JSON_BYTES));

    let uploaded_images = Router::<HttpState>::new()
        .nest_service("/uploads", ServeDir::new(uploads.dir()))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));

    let http_state = HttpState {
        app: state.clone(),
        io: io.clone(),
        origins: origins.clone(),
    };
    let x_request_id = HeaderName::from_static("x-request-id");
    let router = Router::<HttpState>::new()
        .merge(api)
        .merge(uploaded_images)
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(telemetry::render))
        .merge(static_files::page(&config.web_dir))
        .with_state(http_state)
        .layer(io_layer)
        .layer(from_fn_with_state(origins, origin::check_origin))
        .layer(from_fn(static_files::socket_io_client))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", request_id = %id, method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid));

    Ok(App { router, io, state })
}

/// Serves until `shutdown` resolves, then closes every socket and lets
/// in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        // Acks and broadcasts are small: send them now, not after Nagle's delay.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let io = app.io.clone();
    axum::serve(
        listener,
        app.router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing sockets, finishing requests");
        io.close().await;
    })
    .await
}
