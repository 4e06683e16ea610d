//! Building a node's shared state from its configuration: the database,
//! bcrypt, the upload folder, and (with Redis) the cluster's presence and
//! limits in place of this node's own.

use std::sync::Arc;

use chat_domain::{Accounts, Backend, Database, DbOptions, DbSessionStore, Messages, Passwords};

use super::StartError;
use crate::cluster::limits::{RedisCounters, RedisFloodLimiter, RedisLoginLockout};
use crate::cluster::presence::RedisPresence;
use crate::cluster::typing::RedisTyping;
use crate::cluster::{Cluster, ClusterError};
use crate::config::Config;
use crate::health::WriteHealth;
use crate::limits::{
    Budgets, Counters, FloodLimiter, LoginLockout, MemoryCounters, MemoryFloodLimiter,
    MemoryLoginLockout,
};
use crate::messages::writer::{MessageWriter, WriterTask};
use crate::presence::{Announcer, MemoryPresence, Presence};
use crate::state::{AppState, Shared};
use crate::typing::{TypingState, TypingTracker};
use crate::uploads::Uploads;

/// The state, and what the Socket.IO wiring still needs.
pub struct Built {
    pub state: AppState,
    pub writer_task: WriterTask,
    pub cluster: Option<Cluster>,
    pub redis_presence: Option<Arc<RedisPresence>>,
}

pub async fn build(config: &Config) -> Result<Built, StartError> {
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
    let counters: Arc<dyn Counters> = match &cluster {
        Some(c) => Arc::new(RedisCounters::new(c.conn.clone(), c.reachability.clone())),
        None => Arc::new(MemoryCounters::default()),
    };
    let typing: Arc<dyn TypingState> = match &cluster {
        Some(c) => Arc::new(RedisTyping::new(c.conn.clone(), c.reachability.clone())),
        None => Arc::new(TypingTracker::default()),
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
        budgets: Budgets::new(&config.limits),
        counters,
        socket_slots: Default::default(),
        typing,
        writer,
        cluster: cluster.clone(),
        write_health: WriteHealth::default(),
        last_seen: Default::default(),
        memory_trim: Default::default(),
    }));
    Ok(Built {
        state,
        writer_task,
        cluster,
        redis_presence,
    })
}
