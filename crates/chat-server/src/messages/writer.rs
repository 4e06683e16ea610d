//! The one path every chat message takes: stored first, then broadcast, in id
//! order. A single task owns it, so ids and broadcasts never cross; what
//! arrives while a write is under way is committed together in the next one.

use std::sync::Arc;

use async_trait::async_trait;
use chat_domain::{DomainError, Message, Messages, NewMessage};
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::{AppError, AppResult};
use crate::protocol::Event;
use crate::telemetry;

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 256;
/// Messages waiting to be stored before senders wait too.
const QUEUE: usize = 8192;

/// Where accepted messages go: stored, then delivered to every socket of the
/// room in id order.
#[async_trait]
pub trait Delivery: Send + Sync + 'static {
    async fn store_and_deliver(&self, batch: Vec<NewMessage>) -> Result<Vec<Message>, DomainError>;
}

/// One node: store, then broadcast through this node's Socket.IO server.
pub struct LocalDelivery<A: Adapter> {
    pub messages: Messages,
    pub io: SocketIo<A>,
}

#[async_trait]
impl<A: Adapter> Delivery for LocalDelivery<A> {
    async fn store_and_deliver(&self, batch: Vec<NewMessage>) -> Result<Vec<Message>, DomainError> {
        let stored = self.messages.store(batch).await?;
        for message in &stored {
            crate::socket::broadcast(&self.io, Event::NewMessage, message).await;
        }
        Ok(stored)
    }
}

struct Pending {
    message: NewMessage,
    accepted: Instant,
    stored: oneshot::Sender<AppResult<Message>>,
}

#[derive(Clone)]
pub struct MessageWriter {
    queue: mpsc::Sender<Pending>,
}

impl MessageWriter {
    /// The writer handle and the receiving end for [`WriterTask::spawn`].
    pub fn channel() -> (Self, WriterTask) {
        let (queue, rx) = mpsc::channel(QUEUE);
        (Self { queue }, WriterTask { rx })
    }

    /// Queues the message; the queue's order is the order of ids and
    /// broadcasts. The returned [`Stored`] resolves once both are done.
    pub async fn enqueue(&self, message: NewMessage) -> AppResult<Stored> {
        let (stored, rx) = oneshot::channel();
        let pending = Pending {
            message,
            stored,
            accepted: Instant::now(),
        };
        self.queue
            .send(pending)
            .await
            .map_err(|_| AppError::internal("message writer stopped"))?;
        Ok(Stored(rx))
    }
}

/// A queued message: resolves to it, stored and broadcast, or to why not.
pub struct Stored(oneshot::Receiver<AppResult<Message>>);

impl std::future::Future for Stored {
    type Output = AppResult<Message>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|_| Err(AppError::internal("message writer stopped"))))
    }
}

pub struct WriterTask {
    rx: mpsc::Receiver<Pending>,
}

impl WriterTask {
    pub fn spawn(mut self, delivery: Arc<dyn Delivery>) {
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while self.rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let rows: Vec<NewMessage> = batch.iter().map(|p| p.message.clone()).collect();
                match delivery.store_and_deliver(rows).await {
                    Ok(stored) => {
                        metrics::counter!(telemetry::MESSAGES_STORED)
                            .increment(stored.len() as u64);
                        for (pending, message) in batch.drain(..).zip(stored) {
                            metrics::histogram!(telemetry::BROADCAST_SECONDS)
                                .record(pending.accepted.elapsed().as_secs_f64());
                            let _ = pending.stored.send(Ok(message));
                        }
                    }
                    Err(e) => {
                        let unavailable = e.is_unavailable();
                        // The database is away: what queued up meanwhile is
                        // refused now rather than after another wait of its own.
                        if unavailable {
                            while let Ok(pending) = self.rx.try_recv() {
                                batch.push(pending);
                            }
                        }
                        tracing::error!(error = %e, count = batch.len(), "storing messages failed");
                        let cause: crate::error::Cause = Arc::new(e);
                        for pending in batch.drain(..) {
                            let err = if unavailable {
                                AppError::Unavailable(Some(cause.clone()))
                            } else {
                                AppError::Internal(cause.clone())
                            };
                            let _ = pending.stored.send(Err(err));
                        }
                    }
                }
            }
        });
    }
}
