//! What the HTTP side and the shutdown need of the Socket.IO server, whatever
//! its adapter (one node or a cluster): no handlers here, so that routes and
//! tasks can hold it without reaching into the socket module.

use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;

/// The room of every socket opened with one session (logout closes them).
pub fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// What the HTTP side and the shutdown need of the Socket.IO server,
/// whatever its adapter.
#[async_trait::async_trait]
pub trait SocketServer: Send + Sync + 'static {
    /// Disconnects the sockets opened with this session, on every node.
    async fn disconnect_session(&self, session_id: &str);
    /// Closes every socket of this node.
    async fn close(&self);
}

#[async_trait::async_trait]
impl<A: Adapter> SocketServer for SocketIo<A> {
    async fn disconnect_session(&self, session_id: &str) {
        if let Err(e) = self.to(session_room(session_id)).disconnect().await {
            tracing::warn!(error = %e, "disconnecting the session's sockets failed");
            let _ = self.local().to(session_room(session_id)).disconnect().await;
        }
    }

    async fn close(&self) {
        SocketIo::close(self).await;
    }
}
