//! The one path every chat message takes: stored first, then broadcast, in id
//! order. A single task owns it, so ids and broadcasts never cross; what
//! arrives while a write is under way is committed together in the next one.

use chat_domain::{messages, Database, Message, NewMessage};
use socketioxide::SocketIo;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::error::{AppError, AppResult};
use crate::telemetry;

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 256;
/// Messages waiting to be stored before senders wait too.
const QUEUE: usize = 8192;

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
    /// The writer handle and the receiving end for [`MessageWriter::spawn`].
    pub fn channel() -> (Self, WriterTask) {
        let (queue, rx) = mpsc::channel(QUEUE);
        (Self { queue }, WriterTask { rx })
    }

    /// Stores the message and broadcasts it; resolves once both are done.
    pub async fn submit(&self, message: NewMessage) -> AppResult<Message> {
        let (stored, rx) = oneshot::channel();
        self.queue
            .send(Pending {
                message,
                stored,
                accepted: Instant::now(),
            })
            .await
            .map_err(|_| AppError::internal("message writer stopped"))?;
        rx.await
            .map_err(|_| AppError::internal("message writer stopped"))?
    }
}

pub struct WriterTask {
    rx: mpsc::Receiver<Pending>,
}

impl WriterTask {
    pub fn spawn(mut self, db: Database, io: SocketIo) {
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while self.rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let rows: Vec<NewMessage> = batch.iter().map(|p| p.message.clone()).collect();
                let result = db
                    .run(move |conn| messages::insert_batch(conn, &rows))
                    .await;
                match result {
                    Ok(stored) => {
                        metrics::counter!(telemetry::MESSAGES_STORED)
                            .increment(stored.len() as u64);
                        for (pending, message) in batch.drain(..).zip(stored) {
                            let result = io.emit("new_message", &message).await;
                            crate::socket::note_broadcast("new_message", result);
                            metrics::histogram!(telemetry::BROADCAST_SECONDS)
                                .record(pending.accepted.elapsed().as_secs_f64());
                            let _ = pending.stored.send(Ok(message));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, count = batch.len(), "storing messages failed");
                        let err = AppError::from(e);
                        for pending in batch.drain(..) {
                            let _ = pending.stored.send(Err(clone_err(&err)));
                        }
                    }
                }
            }
        });
    }
}

fn clone_err(e: &AppError) -> AppError {
    match e {
        AppError::Unavailable => AppError::Unavailable,
        other => AppError::Internal(other.to_string()),
    }
}
