//! Wiring: the database, the shared state, Socket.IO and the HTTP routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderName, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{any, get, post};
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use chat_domain::{Accounts, Backend, Database, DbOptions, DbSessionStore, Messages, Passwords};
use socketioxide::adapter::Adapter;
use socketioxide::layer::SocketIoLayer;
use socketioxide::SocketIo;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::{self, AuthBackend};
use crate::cluster::driver::ManagedDriver;
use crate::cluster::fanout::{self, ClusterDelivery, Fanout};
use crate::cluster::limits::{RedisFloodLimiter, RedisLoginLockout};
use crate::cluster::presence::RedisPresence;
use crate::cluster::{membership, Cluster, ClusterError};
use crate::config::Config;
use crate::error::AppError;
use crate::health::WriteHealth;
use crate::limits::{FloodLimiter, LoginLockout, MemoryFloodLimiter, MemoryLoginLockout};
use crate::messages::{
    self,
    writer::{Delivery, LocalDelivery, MessageWriter, WriterTask},
};
use crate::origin::{self, AllowedOrigins};
use crate::presence::{Announcer, MemoryPresence, Pace, Presence};
use crate::security::{self, SecurityHeaders};
use crate::socket_server::SocketServer;
use crate::state::{AppState, HttpState, Shared};
use crate::uploads::{self, Uploads};
use crate::{health, json, socket, static_files, telemetry};

/// PROTOCOL.md §1.
const PING_INTERVAL: Duration = Duration::from_millis(25_000);
const PING_TIMEOUT: Duration = Duration::from_millis(20_000);
const MAX_PAYLOAD: u64 = 1_000_000;
/// Initial read buffer of a websocket (it grows for larger frames): clients
/// send small frames, and every idle socket keeps this much.
const WS_READ_BUFFER: usize = 512;
/// `online_users`: up to 8 lists a second go out at once; past that, one per
/// 50 ms plus 250 µs per user online (300 ms at 1,000 users).
fn announce_pace() -> Pace {
    Pace::new(
        8,
        Duration::from_secs(1),
        Duration::from_millis(50),
        Duration::from_micros(250),
    )
}
/// How often idle limiter entries and expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The assembled server, ready to be served on any listener.
pub struct App {
    pub router: Router,
    pub sockets: Arc<dyn SocketServer>,
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
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("start-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub async fn build(config: Config) -> Result<App, StartError> {
    telemetry::install();
    let db_options = DbOptions {
        pool_size: config.db_pool_size,
        ..DbOptions::default()
    };
    let url = config.storage.database_url.clone();
    let db = tokio::task::spawn_blocking(move || Database::open(&url, &db_options)).await??;
    tracing::info!(backend = ?db.backend(), url = %chat_domain::db::redact(&config.storage.database_url), "database ready");
    let cost = config.bcrypt_cost;
    let passwords = tokio::task::spawn_blocking(move || Passwords::new(cost)).await??;
    let uploads = Uploads::new(config.storage.upload_dir.clone(), config.max_upload_bytes())
        .map_err(|source| StartError::Uploads {
            path: config.storage.upload_dir.display().to_string(),
            source,
        })?;
    let cluster = match &config.redis_url {
        None => None,
        Some(_) if db.backend() != Backend::Postgres => {
            return Err(ClusterError::NeedsPostgres.into())
        }
        Some(url) => Some(Cluster::connect(url).await?),
    };
    let redis_presence = cluster.as_ref().map(|c| {
        Arc::new(RedisPresence::new(
            c.conn.clone(),
            c.reachability.clone(),
            &c.node_id,
        ))
    });
    let presence: Arc<dyn Presence> = match &redis_presence {
        Some(p) => p.clone(),
        None => Arc::new(MemoryPresence::default()),
    };
    let (flood, lockout): (Arc<dyn FloodLimiter>, Arc<dyn LoginLockout>) = match &cluster {
        Some(c) => (
            Arc::new(RedisFloodLimiter::new(
                c.conn.clone(),
                c.reachability.clone(),
            )),
            Arc::new(RedisLoginLockout::new(
                c.conn.clone(),
                c.reachability.clone(),
            )),
        ),
        None => (
            Arc::new(MemoryFloodLimiter::default()),
            Arc::new(MemoryLoginLockout::default()),
        ),
    };
    let (writer, writer_task) = MessageWriter::channel();
    let state = AppState(Arc::new(Shared {
        config: config.clone(),
        accounts: Accounts::new(db.clone(), passwords),
        messages: Messages::new(db.clone(), config.storage.retention_days),
        sessions: DbSessionStore::new(db.clone()),
        db,
        uploads,
        presence,
        announcer: Announcer::default(),
        flood,
        lockout,
        writer,
        cluster: cluster.clone(),
        write_health: WriteHealth::default(),
    }));

    let builder = SocketIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_payload(MAX_PAYLOAD)
        .ws_max_message_size(MAX_PAYLOAD as usize)
        .ws_read_buffer_size(WS_READ_BUFFER)
        .max_buffer_size(config.send_queue_packets as usize)
        .with_state(state.clone());
    match (cluster, redis_presence) {
        (Some(cluster), Some(presence)) => {
            let driver = ManagedDriver::new(cluster.client())
                .await
                .map_err(cluster_err)?;
            let adapter = RedisAdapterCtr::new_with_driver(driver, RedisAdapterConfig::default());
            let (layer, io) = builder
                .with_adapter::<ClusterAdapter>(adapter)
                .build_layer();
            socket::register(&io)
                .await
                .map_err(|e| StartError::Cluster(ClusterError::Adapter(e.to_string())))?;
            let fanout = Fanout::default();
            fanout::spawn_subscriber(&cluster, state.messages.clone(), io.clone(), fanout.clone())
                .await
                .map_err(cluster_err)?;
            membership::spawn(
                cluster.clone(),
                presence,
                state.announcer.clone(),
                io.clone(),
            );
            let delivery = ClusterDelivery {
                messages: state.messages.clone(),
                redis: cluster.conn.clone(),
                reachability: cluster.reachability.clone(),
                io: io.clone(),
                fanout,
            };
            Ok(assemble(state, writer_task, Arc::new(delivery), layer, io))
        }
        _ => {
            let (layer, io) = builder.build_layer();
            socket::register(&io);
            let delivery = LocalDelivery {
                messages: state.messages.clone(),
                io: io.clone(),
            };
            Ok(assemble(state, writer_task, Arc::new(delivery), layer, io))
        }
    }
}

type ClusterAdapter = CustomRedisAdapter<socketioxide::adapter::Emitter, ManagedDriver>;

fn cluster_err(e: impl std::fmt::Display) -> StartError {
    StartError::Cluster(ClusterError::Adapter(e.to_string()))
}

/// The tasks and routes around a Socket.IO server of either adapter.
fn assemble<A: Adapter>(
    state: AppState,
    writer_task: WriterTask,
    delivery: Arc<dyn Delivery>,
    io_layer: SocketIoLayer<A>,
    io: SocketIo<A>,
) -> App {
    let config = &state.config;
    writer_task.spawn(delivery);
    state.write_health.spawn_probe(state.db.clone());
    state
        .announcer
        .spawn(state.presence.clone(), io.clone(), announce_pace());

    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            sweeper.flood.sweep();
            sweeper.lockout.sweep();
            telemetry::upkeep();
            if let Err(e) = sweeper.sessions.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
        }
    });

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
    let sockets: Arc<dyn SocketServer> = Arc::new(io);
    let http_state = HttpState {
        app: state.clone(),
        sockets: sockets.clone(),
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
        .layer(from_fn(crate::socket::detach_socket_io_head))
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
        ));

    App {
        router,
        sockets,
        state,
    }
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
    let sockets = app.sockets.clone();
    axum::serve(
        listener,
        app.router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing sockets, finishing requests");
        sockets.close().await;
    })
    .await
}
