//! Which nodes are alive. Each node refreshes a key with a short lifetime;
//! the others count the sockets of a node whose key expired out of presence
//! (a `kill -9`, a lost network), announcing `user_left` for its users. A
//! node that finds its own key gone (Redis restarted, or it was counted out
//! while cut off) puts its sockets back.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;

use super::presence::{alive_key, RedisPresence, NODES};
use super::Cluster;
use crate::presence::Announcer;
use crate::protocol::Event;
use crate::socket::announce;

/// How often a node says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(3);
/// How long that lasts: a node silent this long is dead (well within 30 s).
const ALIVE_FOR: Duration = Duration::from_secs(10);

pub fn spawn<A: Adapter>(
    cluster: Cluster,
    presence: Arc<RedisPresence>,
    announcer: Announcer,
    io: SocketIo<A>,
) {
    tokio::spawn(async move {
        let me = alive_key(&cluster.node_id);
        let mut beat = tokio::time::interval(HEARTBEAT);
        loop {
            beat.tick().await;
            let mut conn = cluster.conn.clone();
            let previous: Result<Option<String>, _> = redis::cmd("SET")
                .arg(&me)
                .arg("1")
                .arg("PX")
                .arg(ALIVE_FOR.as_millis() as u64)
                .arg("GET")
                .query_async(&mut conn)
                .await;
            let lost = match previous {
                Ok(previous) => {
                    if cluster.reachability.answered() {
                        tracing::info!("Redis reachable again: rejoining the cluster");
                    }
                    previous.is_none()
                }
                Err(e) => {
                    if cluster.reachability.failed() {
                        tracing::error!(error = %e, "Redis unreachable: serving this node's sockets only");
                    }
                    continue;
                }
            };
            if lost | presence.take_stale() {
                resync(&presence, &announcer, &io).await;
            }
            reap_dead_nodes(&cluster, &presence, &announcer, &io).await;
        }
    });
}

async fn resync<A: Adapter>(presence: &RedisPresence, announcer: &Announcer, io: &SocketIo<A>) {
    match presence.resync().await {
        Ok(changed) => {
            for name in &changed.came {
                announce(announcer, io, Event::UserJoined, name, changed.online).await;
            }
            for name in &changed.left {
                announce(announcer, io, Event::UserLeft, name, changed.online).await;
            }
            announcer.changed();
        }
        Err(e) => tracing::warn!(error = %e, "presence resync failed; will retry"),
    }
}

async fn reap_dead_nodes<A: Adapter>(
    cluster: &Cluster,
    presence: &RedisPresence,
    announcer: &Announcer,
    io: &SocketIo<A>,
) {
    let mut conn = cluster.conn.clone();
    let nodes: Vec<String> = match redis::cmd("SMEMBERS")
        .arg(NODES)
        .query_async(&mut conn)
        .await
    {
        Ok(nodes) => nodes,
        Err(e) => return tracing::warn!(error = %e, "listing nodes failed"),
    };
    for node in nodes.iter().filter(|n| **n != *cluster.node_id) {
        let alive: Result<bool, _> = redis::cmd("EXISTS")
            .arg(alive_key(node))
            .query_async(&mut conn)
            .await;
        if !matches!(alive, Ok(false)) {
            continue;
        }
        match presence.reap(node).await {
            Ok((online, left)) => {
                tracing::warn!(
                    node,
                    users_left = left.len(),
                    "node stopped answering: its sockets are counted out"
                );
                for name in &left {
                    announce(announcer, io, Event::UserLeft, name, online).await;
                }
                announcer.changed();
            }
            Err(e) => tracing::warn!(node, error = %e, "counting a dead node out failed"),
        }
    }
}
