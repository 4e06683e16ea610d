//! Wiring: the shared state (state.rs), Socket.IO with its adapter (here),
//! the background tasks (tasks.rs) and the HTTP routes (routes.rs).

mod routes;
mod state;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use socketioxide::adapter::Adapter;
use socketioxide::layer::SocketIoLayer;
use socketioxide::SocketIo;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};

use crate::cluster::driver::ManagedDriver;
use crate::cluster::fanout::{self, ClusterDelivery, Fanout};
use crate::cluster::{membership, ClusterError};
use crate::config::Config;
use crate::messages::writer::{Delivery, LocalDelivery, WriterTask};
use crate::socket_server::SocketServer;
use crate::state::AppState;
use crate::{socket, telemetry};
use state::Built;

/// PROTOCOL.md §1.
const PING_INTERVAL: Duration = Duration::from_millis(25_000);
const PING_TIMEOUT: Duration = Duration::from_millis(20_000);
const MAX_PAYLOAD: u64 = 1_000_000;
/// Initial read buffer of a websocket (it grows for larger frames): clients
/// send small frames, and every idle socket keeps this much.
const WS_READ_BUFFER: usize = 512;

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
    let Built {
        state,
        writer_task,
        cluster,
        redis_presence,
    } = state::build(&config).await?;

    let builder = SocketIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .max_payload(MAX_PAYLOAD)
        // A session without its Socket.IO connect (`40`) after 10 s is closed
        // (socketioxide's default: 45 s).
        .connect_timeout(Duration::from_secs(10))
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
    tasks::spawn(&state, writer_task, delivery, &io);
    let sockets: Arc<dyn SocketServer> = Arc::new(io);
    let router = routes::router(&state, sockets.clone(), io_layer);
    App {
        router,
        sockets,
        state,
    }
}

/// Serves until `shutdown` resolves, then closes every socket and lets
/// in-flight requests finish. Connections are held to `config.connections`
/// (header and idle timeouts: `crate::http_server`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let deadlines = crate::http_server::Deadlines::from(&app.state.config.connections);
    let sockets = app.sockets.clone();
    crate::http_server::serve(listener, app.router, deadlines, async move {
        shutdown.await;
        tracing::info!("shutting down: closing sockets, finishing requests");
        sockets.close().await;
    })
    .await
}
