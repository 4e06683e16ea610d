//! Several nodes as one room, on the engines operators already run: Redis
//! carries broadcasts (socketioxide-redis), presence, the flood limit and the
//! login lockout; PostgreSQL holds messages and sessions and orders messages.
//! Without `--redis-url` none of this runs.

pub mod driver;
pub mod fanout;
pub mod limits;
pub mod membership;
pub mod presence;
pub mod typing;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long a Redis command may take before it counts as failed.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach Redis at {url}: {source}")]
    Redis {
        url: String,
        source: redis::RedisError,
    },
    #[error("joining the cluster failed: {0}")]
    Adapter(String),
    #[error("a cluster needs PostgreSQL: every node must share one database (--database-url postgres://…)")]
    NeedsPostgres,
}

/// A node's Redis connections.
#[derive(Clone)]
pub struct Cluster {
    /// This node's id for its lifetime (a restart is a new node).
    pub node_id: Arc<str>,
    client: redis::Client,
    /// For commands; reconnects by itself.
    pub conn: ConnectionManager,
    pub reachability: Reachability,
    url: Arc<str>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .finish()
    }
}

/// socketioxide-redis and push messages want RESP3.
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// Fail fast when Redis is away (the node then serves its own sockets) and
/// reconnect on the next command.
pub fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// How often idle connections (subscriptions) are pinged, so that a lost one
/// reconnects and resubscribes.
pub const KEEPALIVE: Duration = Duration::from_secs(2);

/// Keeps a subscribing connection alive: the manager only notices a lost
/// connection, and reconnects, when a command fails.
pub fn keep_alive(conn: ConnectionManager) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(KEEPALIVE);
        loop {
            every.tick().await;
            let _ = redis::cmd("PING")
                .query_async::<redis::Value>(&mut conn.clone())
                .await;
        }
    });
}

/// Whether Redis answered lately. While it does not, limits and presence go
/// straight to this node's own counts instead of waiting on timeouts; the
/// membership heartbeat, which keeps trying, says when it is back.
#[derive(Debug, Clone)]
pub struct Reachability(Arc<AtomicBool>);

impl Default for Reachability {
    fn default() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }
}

impl Reachability {
    pub fn is_up(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Records a failed command; true when Redis was thought up until now.
    pub fn failed(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }

    /// Records a successful command; true when Redis was thought down.
    pub fn answered(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }
}

impl Cluster {
    pub async fn connect(url: &str) -> Result<Self, ClusterError> {
        let err = |source| ClusterError::Redis {
            url: crate_redact(url),
            source,
        };
        let client = redis::Client::open(resp3(url)).map_err(err)?;
        let conn = client
            .get_connection_manager_with_config(manager_config())
            .await
            .map_err(err)?;
        let node_id: Arc<str> = uuid::Uuid::new_v4().simple().to_string().into();
        tracing::info!(node = %node_id, "joined the cluster");
        Ok(Self {
            node_id,
            client,
            conn,
            reachability: Reachability::default(),
            url: crate_redact(url).into(),
        })
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// For `/healthz`.
    pub async fn ping(&self) -> Result<(), String> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| format!("Redis at {}: {e}", self.url))
    }
}

fn crate_redact(url: &str) -> String {
    chat_domain::db::redact(url)
}
