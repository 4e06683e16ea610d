//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use chat_domain::{Accounts, Database, DbSessionStore, Messages};

use crate::cluster::Cluster;
use crate::config::Config;
use crate::health::WriteHealth;
use crate::limits::{Budgets, Counters, FloodLimiter, LoginLockout};
use crate::messages::writer::MessageWriter;
use crate::origin::AllowedOrigins;
use crate::presence::{Announcer, Presence};
use crate::socket_server::SocketServer;
use crate::uploads::Uploads;

pub struct Shared {
    pub config: Config,
    pub db: Database,
    pub accounts: Accounts,
    pub messages: Messages,
    pub sessions: DbSessionStore,
    pub uploads: Uploads,
    pub presence: Arc<dyn Presence>,
    pub announcer: Announcer,
    pub flood: Arc<dyn FloodLimiter>,
    pub lockout: Arc<dyn LoginLockout>,
    /// The budgets of the Limits table, and what has been spent of them.
    pub budgets: Budgets,
    pub counters: Arc<dyn Counters>,
    /// The sockets each user holds on this node (`--sockets-per-user`).
    pub socket_slots: crate::socket::SocketSlots,
    /// Who the others were told is typing (`typing`, PROTOCOL.md §6.9).
    pub typing: Arc<dyn crate::typing::TypingState>,
    pub writer: MessageWriter,
    /// This node's Redis connections, when it is part of a cluster.
    pub cluster: Option<Cluster>,
    /// Whether the database still takes writes (the health check's probe).
    pub write_health: WriteHealth,
    /// Who was seen since the last batch of `last_seen_at` writes.
    pub last_seen: crate::last_seen::LastSeen,
    /// Departures counted until freed memory is handed back.
    pub memory_trim: crate::memory::MemoryTrim,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The HTTP side's state: the shared state plus the Socket.IO handle.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub sockets: Arc<dyn SocketServer>,
    pub origins: AllowedOrigins,
}

impl FromRef<HttpState> for AppState {
    fn from_ref(s: &HttpState) -> AppState {
        s.app.clone()
    }
}

impl FromRef<HttpState> for Arc<dyn SocketServer> {
    fn from_ref(s: &HttpState) -> Arc<dyn SocketServer> {
        s.sockets.clone()
    }
}

impl FromRef<HttpState> for AllowedOrigins {
    fn from_ref(s: &HttpState) -> AllowedOrigins {
        s.origins.clone()
    }
}
