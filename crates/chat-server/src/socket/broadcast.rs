//! Broadcasting to the room, and what happens to a socket that cannot keep up.

use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;

use crate::protocol::Event;
use crate::socket_server::namespace;
use crate::telemetry;

/// The room every authenticated socket is in. Broadcasts go to it, so that a
/// socket taken out of it (a slow reader being evicted) gets nothing more.
pub const ROOM: &str = "chat";

/// How long an evicted socket gets to take its disconnect packet.
const EVICTION_TRIES: u32 = 100;
const EVICTION_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Emits to every socket of the room (every node, in a cluster). When the
/// other nodes cannot be reached, this node's sockets are still served.
pub async fn broadcast<A: Adapter, T: serde::Serialize + ?Sized>(
    io: &SocketIo<A>,
    event: Event,
    data: &T,
) {
    broadcast_except(io, event, data, None).await;
}

/// [`broadcast`], but not to the sockets in room `except`.
pub async fn broadcast_except<A: Adapter, T: serde::Serialize + ?Sized>(
    io: &SocketIo<A>,
    event: Event,
    data: &T,
    except: Option<String>,
) {
    let Some(ns) = namespace(io) else { return };
    match ns
        .to(ROOM)
        .except(Vec::from_iter(except.clone()))
        .emit(event, data)
        .await
    {
        Err(socketioxide::BroadcastError::Adapter(e)) => {
            tracing::warn!(event = event.name(), error = %e, "cluster unreachable: broadcasting on this node only");
            broadcast_local_except(io, event, data, except).await;
        }
        other => settle(io, event, other),
    }
}

/// Emits to this node's sockets of the room.
pub async fn broadcast_local<A: Adapter, T: serde::Serialize + ?Sized>(
    io: &SocketIo<A>,
    event: Event,
    data: &T,
) {
    broadcast_local_except(io, event, data, None).await;
}

/// [`broadcast_local`], but not to the sockets in room `except`.
pub async fn broadcast_local_except<A: Adapter, T: serde::Serialize + ?Sized>(
    io: &SocketIo<A>,
    event: Event,
    data: &T,
    except: Option<String>,
) {
    let Some(ns) = namespace(io) else { return };
    let result = ns
        .local()
        .to(ROOM)
        .except(Vec::from_iter(except))
        .emit(event, data)
        .await;
    settle(io, event, result);
}

/// A socket whose send queue was full has missed a packet: it is taken out of
/// the room at once (no later packet can follow the hole) and disconnected,
/// so that its page reconnects and catches up from the last message it has,
/// instead of going on with a hole in its history.
fn settle<A: Adapter>(
    io: &SocketIo<A>,
    event: Event,
    result: Result<(), socketioxide::BroadcastError>,
) {
    match result {
        Ok(()) => {}
        Err(socketioxide::BroadcastError::Socket(errors)) => {
            let full = errors
                .iter()
                .filter(|e| matches!(e, socketioxide::SocketError::InternalChannelFull))
                .count();
            if full > 0 {
                metrics::counter!(telemetry::BROADCAST_DROPS).increment(full as u64);
                tracing::warn!(
                    event = event.name(),
                    sockets = full,
                    "send queue full: evicting slow readers"
                );
                evict_slow_readers(io);
            }
        }
        Err(e) => tracing::warn!(event = event.name(), error = %e, "broadcast failed"),
    }
}

fn evict_slow_readers<A: Adapter>(io: &SocketIo<A>) {
    let Some(ns) = namespace(io) else { return };
    for socket in ns.local().to(ROOM).sockets() {
        let full = matches!(
            socket.emit(Event::Probe, &()),
            Err(socketioxide::SendError::Socket(
                socketioxide::SocketError::InternalChannelFull
            ))
        );
        if !full {
            continue;
        }
        socket.leave_all();
        metrics::counter!(telemetry::SLOW_READERS_EVICTED).increment(1);
        tracing::warn!(sid = %socket.id, "slow reader: disconnecting it so that it resyncs");
        tokio::spawn(async move {
            for _ in 0..EVICTION_TRIES {
                match socket.clone().disconnect() {
                    Err(socketioxide::SocketError::InternalChannelFull) => {
                        tokio::time::sleep(EVICTION_RETRY).await;
                    }
                    _ => return,
                }
            }
            // The engine's heartbeat closes a socket whose queue stays full.
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// socketioxide takes its namespaces away when it closes (shutdown):
    /// a broadcast still under way then (the `online_users` announcer, a
    /// ban) finds no room and does nothing. It used to panic in `io.to`.
    #[tokio::test]
    async fn broadcasting_without_the_namespace_does_nothing() {
        let (_layer, io) = SocketIo::new_layer();
        broadcast(&io, Event::OnlineUsers, &serde_json::json!({})).await;
        broadcast_local(&io, Event::OnlineUsers, &serde_json::json!({})).await;
        evict_slow_readers(&io);
    }
}
