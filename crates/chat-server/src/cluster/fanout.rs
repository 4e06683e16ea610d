//! `new_message` across nodes, exactly once and in id order on every socket.
//!
//! Ids come from PostgreSQL. A node stores a batch and publishes it to one
//! Redis channel while holding a PostgreSQL advisory lock, so publications
//! follow id order across the whole cluster; every node, the sender's
//! included, emits what arrives on that channel to its own sockets, in
//! arrival order, skipping ids it has already emitted. The cost: one batch
//! in flight across the cluster at a time (each holds the lock for its
//! insert and one Redis round trip), which group commit amortises.
//!
//! When Redis cannot be reached a node emits its own messages to its own
//! sockets; once resubscribed it replays from the database what it missed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chat_domain::{DomainError, Message, Messages, NewMessage, Page};
use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind};
use serde::Deserialize;
use serde_json::value::RawValue;
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;
use tokio::sync::mpsc;

use super::Cluster;
use crate::messages::writer::Delivery;
use crate::protocol::Event;
use crate::socket::broadcast_local;

const CHANNEL: &str = "chat:new_message";
/// Pushes waiting for the subscriber task; past this a gap is replayed.
const PUSH_QUEUE: usize = 65_536;
const REPLAY_PAGE: i64 = 200;

/// What this node has emitted to its sockets.
#[derive(Debug, Default)]
struct Emitted {
    /// Every id up to this one was emitted (or deliberately passed over).
    through: i64,
    /// Ids emitted beyond `through` while Redis was unreachable.
    fallback: BTreeSet<i64>,
}

#[derive(Clone, Default)]
pub struct Fanout {
    emitted: Arc<Mutex<Emitted>>,
}

impl Fanout {
    fn lock(&self) -> std::sync::MutexGuard<'_, Emitted> {
        self.emitted.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves past `id`; true when it still has to be emitted here (not
    /// already emitted, live or while Redis was unreachable).
    fn claim(&self, id: i64) -> bool {
        let mut e = self.lock();
        if id <= e.through {
            return false;
        }
        e.through = id;
        let emitted = e.fallback.contains(&id);
        e.fallback.retain(|f| *f > id);
        !emitted
    }
}

/// Delivery for a node of a cluster.
pub struct ClusterDelivery<A: Adapter> {
    pub messages: Messages,
    pub redis: ConnectionManager,
    pub reachability: super::Reachability,
    pub io: SocketIo<A>,
    pub fanout: Fanout,
}

fn publish_all(redis: &mut ConnectionManager, stored: &[Message]) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for message in stored {
        let json = serde_json::to_string(message).map_err(|e| {
            redis::RedisError::from((redis::ErrorKind::Client, "encoding", e.to_string()))
        })?;
        pipe.cmd("PUBLISH").arg(CHANNEL).arg(json).ignore();
    }
    tokio::runtime::Handle::current().block_on(pipe.query_async::<()>(redis))
}

#[async_trait]
impl<A: Adapter> Delivery for ClusterDelivery<A> {
    async fn store_and_deliver(&self, batch: Vec<NewMessage>) -> Result<Vec<Message>, DomainError> {
        // While Redis is known to be away, deliver here at once rather than
        // wait on a timeout while holding the order lock.
        let mut redis = self.reachability.is_up().then(|| self.redis.clone());
        // Published under the order lock, so that every node sees ids in order.
        let (stored, published) = self
            .messages
            .store_in_order(batch, move |stored| match redis.as_mut() {
                Some(redis) => publish_all(redis, stored),
                None => Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "Redis unreachable",
                ))),
            })
            .await?;
        if let Err(e) = published {
            if self.reachability.failed() {
                tracing::warn!(error = %e, "Redis unreachable: messages delivered on this node only");
            }
            for message in &stored {
                self.fanout.lock().fallback.insert(message.id);
                broadcast_local(&self.io, Event::NewMessage, message).await;
            }
        }
        Ok(stored)
    }
}

enum Push {
    Message(Vec<u8>),
    Subscribed,
}

#[derive(Deserialize)]
struct Head {
    id: i64,
}

/// Subscribes this node to the message channel and emits what arrives.
pub async fn spawn_subscriber<A: Adapter>(
    cluster: &Cluster,
    messages: Messages,
    io: SocketIo<A>,
    fanout: Fanout,
) -> redis::RedisResult<()> {
    let (tx, mut rx) = mpsc::channel(PUSH_QUEUE);
    let gap = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gap_in = gap.clone();
    let config = super::manager_config()
        .set_automatic_resubscription()
        .set_push_sender(move |push: PushInfo| {
            let item = match push.kind {
                PushKind::Message if push.data.len() >= 2 => {
                    match redis::from_redis_value::<Vec<u8>>(push.data[1].clone()) {
                        Ok(payload) => Push::Message(payload),
                        Err(_) => return Ok::<(), std::convert::Infallible>(()),
                    }
                }
                PushKind::Subscribe => Push::Subscribed,
                _ => return Ok(()),
            };
            if tx.try_send(item).is_err() {
                gap_in.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            Ok(())
        });
    let mut conn = cluster
        .client()
        .get_connection_manager_with_config(config)
        .await?;
    // Start after what is stored now: sockets load history over HTTP.
    let start = messages.newest_id().await.unwrap_or(0);
    fanout.lock().through = start;
    conn.subscribe(CHANNEL).await?;
    super::keep_alive(conn.clone());

    let reachability = cluster.reachability.clone();
    tokio::spawn(async move {
        let _keep = conn;
        let mut first = true;
        while let Some(push) = rx.recv().await {
            match push {
                Push::Message(payload) => {
                    let Some((id, text)) = read(payload) else {
                        continue;
                    };
                    // A gap in the ids may be messages this node missed (a
                    // full queue, an outage, a node that could only deliver
                    // its own): the database has them, in order.
                    let skipped = id > fanout.lock().through + 1;
                    if gap.swap(false, std::sync::atomic::Ordering::SeqCst) || skipped {
                        replay(&messages, &io, &fanout, Some(id)).await;
                    }
                    if fanout.claim(id) {
                        match RawValue::from_string(text) {
                            Ok(raw) => broadcast_local(&io, Event::NewMessage, &raw).await,
                            Err(e) => {
                                tracing::warn!(error = %e, "unreadable message on the message channel")
                            }
                        }
                    }
                }
                Push::Subscribed if first => first = false,
                Push::Subscribed => {
                    if reachability.answered() {
                        tracing::info!("Redis reachable again: rejoining the cluster");
                    }
                    tracing::info!("message channel resubscribed: replaying what was missed");
                    replay(&messages, &io, &fanout, None).await;
                }
            }
        }
    });
    Ok(())
}

/// The id and text of a message from the channel.
fn read(payload: Vec<u8>) -> Option<(i64, String)> {
    let Ok(text) = String::from_utf8(payload) else {
        tracing::warn!("non-UTF-8 message on the message channel");
        return None;
    };
    match serde_json::from_str::<Head>(&text) {
        Ok(head) => Some((head.id, text)),
        Err(_) => {
            tracing::warn!("unreadable message on the message channel");
            None
        }
    }
}

/// Emits, in id order, the stored messages this node has not emitted (those
/// before `until` only, when given).
async fn replay<A: Adapter>(
    messages: &Messages,
    io: &SocketIo<A>,
    fanout: &Fanout,
    until: Option<i64>,
) {
    loop {
        let after = fanout.lock().through;
        let page = Page::After {
            id: after,
            limit: REPLAY_PAGE,
        };
        let missed = match messages.page(page).await {
            Ok(missed) => missed,
            Err(e) => return tracing::warn!(error = %e, "replaying missed messages failed"),
        };
        let full = missed.len() as i64 == REPLAY_PAGE;
        for message in &missed {
            if until.is_some_and(|u| message.id >= u) {
                return;
            }
            if fanout.claim(message.id) {
                broadcast_local(io, Event::NewMessage, message).await;
            }
        }
        if missed.is_empty() || !full {
            // Ids passed over by a page (deleted, or beyond the window) count as done.
            return;
        }
    }
}
