//! What the HTTP side and the shutdown need of the Socket.IO server, whatever
//! its adapter (one node or a cluster): no handlers here, so that routes and
//! tasks can hold it without reaching into the socket module.

use socketioxide::adapter::Adapter;
use socketioxide::operators::BroadcastOperators;
use socketioxide::SocketIo;

/// The default namespace's operators, or None once socketioxide has closed
/// (shutdown takes its namespaces away, and `io.to` / `io.local` would
/// panic). Every broadcast and room operation of this server goes through
/// here.
pub fn namespace<A: Adapter>(io: &SocketIo<A>) -> Option<BroadcastOperators<A>> {
    io.of("/")
}

/// The room of every socket opened with one session (logout closes them).
pub fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// The room of every socket of one user (a ban or a new password closes them).
pub fn user_room(user_id: i32) -> String {
    format!("user:{user_id}")
}

/// What the HTTP side and the shutdown need of the Socket.IO server,
/// whatever its adapter.
#[async_trait::async_trait]
pub trait SocketServer: Send + Sync + 'static {
    /// Disconnects the sockets opened with this session, on every node.
    async fn disconnect_session(&self, session_id: &str);
    /// Disconnects every socket of this user, on every node.
    async fn disconnect_user(&self, user_id: i32);
    /// Closes every socket of this node.
    async fn close(&self);
}

#[async_trait::async_trait]
impl<A: Adapter> SocketServer for SocketIo<A> {
    async fn disconnect_session(&self, session_id: &str) {
        disconnect_room(self, session_room(session_id)).await;
    }

    async fn disconnect_user(&self, user_id: i32) {
        disconnect_room(self, user_room(user_id)).await;
    }

    async fn close(&self) {
        SocketIo::close(self).await;
    }
}

/// Disconnects the room's sockets on every node; on this node at least when
/// the others cannot be reached.
async fn disconnect_room<A: Adapter>(io: &SocketIo<A>, room: String) {
    let Some(ns) = namespace(io) else { return };
    if let Err(e) = ns.clone().to(room.clone()).disconnect().await {
        tracing::warn!(error = %e, room, "disconnecting sockets on every node failed");
        let _ = ns.local().to(room).disconnect().await;
    }
}
