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
    waiter: Waiter,
}

/// Who waits for a queued message, and since when.
struct Waiter {
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
            waiter: Waiter {
                stored,
                accepted: Instant::now(),
            },
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
    /// Runs the writer on a thread and runtime of its own. On the shared
    /// runtime each of its wake-ups (a message queued, the store back from
    /// the blocking pool) waited behind every socket task the previous
    /// broadcast woke, a thousand at 1,000 sockets: milliseconds each, before
    /// the next message could go out. It stops with the runtime that spawned
    /// it, as a task of that runtime would.
    pub fn spawn(self, delivery: Arc<dyn Delivery>) {
        let (alive, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _alive = alive;
            std::future::pending::<()>().await
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(4)
            .thread_name("chat-writer-blocking")
            .build();
        let run = self.run(delivery, stopped);
        let spawned = match runtime {
            Ok(runtime) => std::thread::Builder::new()
                .name("chat-writer".into())
                .spawn(move || runtime.block_on(run))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = spawned {
            // Unreachable short of a thread limit; the writer is not optional.
            tracing::error!(error = %e, "no thread for the message writer");
        }
    }

    async fn run(mut self, delivery: Arc<dyn Delivery>, mut stopped: oneshot::Receiver<()>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let received = tokio::select! {
                n = self.rx.recv_many(&mut batch, MAX_BATCH) => n,
                _ = &mut stopped => 0,
            };
            if received == 0 {
                break;
            }
            let (rows, mut waiters): (Vec<NewMessage>, Vec<Waiter>) =
                batch.drain(..).map(|p| (p.message, p.waiter)).unzip();
            match delivery.store_and_deliver(rows).await {
                Ok(stored) => {
                    metrics::counter!(telemetry::MESSAGES_STORED).increment(stored.len() as u64);
                    for (waiter, message) in waiters.into_iter().zip(stored) {
                        metrics::histogram!(telemetry::BROADCAST_SECONDS)
                            .record(waiter.accepted.elapsed().as_secs_f64());
                        let _ = waiter.stored.send(Ok(message));
                    }
                }
                Err(e) => {
                    let unavailable = e.is_unavailable();
                    // The database is away: what queued up meanwhile is
                    // refused now rather than after another wait of its own.
                    if unavailable {
                        while let Ok(pending) = self.rx.try_recv() {
                            waiters.push(pending.waiter);
                        }
                    }
                    tracing::error!(error = %e, count = waiters.len(), "storing messages failed");
                    let cause: crate::error::Cause = Arc::new(e);
                    for waiter in waiters {
                        let err = if unavailable {
                            AppError::Unavailable(Some(cause.clone()))
                        } else {
                            AppError::Internal(cause.clone())
                        };
                        let _ = waiter.stored.send(Err(err));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use chat_domain::MessageType;

    use super::*;

    /// Stores in memory, numbering from 1, and notes the thread it ran on.
    #[derive(Default)]
    struct Recorder {
        stored: Mutex<Vec<Message>>,
        threads: Mutex<Vec<Option<String>>>,
    }

    #[async_trait]
    impl Delivery for Recorder {
        async fn store_and_deliver(
            &self,
            batch: Vec<NewMessage>,
        ) -> Result<Vec<Message>, DomainError> {
            let name = std::thread::current().name().map(str::to_owned);
            self.threads.lock().unwrap().push(name);
            let mut stored = self.stored.lock().unwrap();
            let mut out = Vec::new();
            for m in batch {
                let message = Message {
                    id: stored.len() as i64 + 1,
                    user_id: m.user_id,
                    username: m.username,
                    content: m.content,
                    message_type: "text".into(),
                    timestamp: Some(m.timestamp),
                };
                stored.push(message.clone());
                out.push(message);
            }
            Ok(out)
        }
    }

    fn text(content: &str) -> NewMessage {
        NewMessage {
            user_id: 1,
            username: "alice".into(),
            content: content.into(),
            message_type: MessageType::Text,
            timestamp: chrono::Utc::now().naive_utc(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn messages_are_stored_in_order_off_the_shared_runtime() {
        let (writer, task) = MessageWriter::channel();
        let recorder = Arc::new(Recorder::default());
        task.spawn(recorder.clone());
        let mut queued = Vec::new();
        for i in 0..50 {
            queued.push(writer.enqueue(text(&format!("m{i}"))).await.unwrap());
        }
        for (i, stored) in queued.into_iter().enumerate() {
            let m = stored.await.unwrap();
            assert_eq!((m.id, m.content), (i as i64 + 1, format!("m{i}")));
        }
        let threads = recorder.threads.lock().unwrap().clone();
        assert!(!threads.is_empty());
        assert!(
            threads.iter().all(|t| t.as_deref() == Some("chat-writer")),
            "{threads:?}"
        );
    }

    #[test]
    fn the_writer_stops_with_the_runtime_that_started_it() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (writer, task) = MessageWriter::channel();
        let recorder = Arc::new(Recorder::default());
        runtime.block_on(async {
            task.spawn(recorder.clone());
            writer.enqueue(text("before")).await.unwrap().await.unwrap();
        });
        drop(runtime);
        // The writer lets go of its queue (and of the delivery, which in the
        // server holds the whole state) instead of outliving the server.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&recorder) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer thread is still running"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let after = tokio::runtime::Runtime::new().unwrap();
        let refused = after.block_on(async { writer.enqueue(text("after")).await });
        assert!(refused.is_err());
    }
}
