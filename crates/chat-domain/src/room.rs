//! The room's messages as the server uses them: history inside the
//! retention window, storing a batch (in one order across nodes), the newest
//! id. Blocking Diesel work runs off the async workers.

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;

use crate::db::{Database, DbConnection};
use crate::deletion::{self, DeleteError, Deleted, DeletedNotice, Deleter};
use crate::error::Result;
use crate::messages::{self, Message, NewMessage, Page};

/// The PostgreSQL advisory lock that orders the nodes' inserts: whoever holds
/// it inserts and then publishes, so ids reach every node in id order. Any
/// constant will do, as long as every node uses the same one.
const ORDER_LOCK: i64 = 0x63_68_61_74; // "chat"

/// Time a node waited for the order lock, and held it (insert, commit and
/// `then`: the publication). Their counts are the batches; the cluster's
/// ceiling on stored messages is the batch size over the time held.
pub const ORDER_LOCK_WAIT_METRIC: &str = "chat_order_lock_wait_seconds";
pub const ORDER_LOCK_HELD_METRIC: &str = "chat_order_lock_held_seconds";

#[derive(Clone, Debug)]
pub struct Messages {
    db: Database,
    retention: chrono::Duration,
}

impl Messages {
    pub fn new(db: Database, retention_days: u32) -> Self {
        Self {
            db,
            retention: chrono::Duration::days(i64::from(retention_days)),
        }
    }

    /// The oldest time still inside the retention window: nothing older is shown.
    pub fn retention_cutoff(&self) -> NaiveDateTime {
        crate::timestamps::now() - self.retention
    }

    /// A page of the retention window, oldest first.
    pub async fn page(&self, page: Page) -> Result<Vec<Message>> {
        let since = self.retention_cutoff();
        self.db
            .run(move |conn| messages::page(conn, page, since))
            .await
    }

    /// Stores a batch in one statement; ids follow the batch's order.
    pub async fn store(&self, batch: Vec<NewMessage>) -> Result<Vec<Message>> {
        self.db
            .run(move |conn| messages::insert_batch(conn, &batch))
            .await
    }

    /// Stores a batch and runs `then` on what was stored before any other
    /// node can store its own (PostgreSQL: under the order lock), so that
    /// what `then` publishes goes out in id order. Runs on the blocking pool.
    pub async fn store_in_order<R, F>(
        &self,
        batch: Vec<NewMessage>,
        then: F,
    ) -> Result<(Vec<Message>, R)>
    where
        F: FnOnce(&[Message]) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.db
            .run(move |conn| {
                let locked = matches!(conn, DbConnection::Pg(_));
                let asked = std::time::Instant::now();
                if locked {
                    conn.batch_execute(&format!("SELECT pg_advisory_lock({ORDER_LOCK})"))?;
                }
                let held = std::time::Instant::now();
                let result = messages::insert_batch(conn, &batch).map(|stored| {
                    let after = then(&stored);
                    (stored, after)
                });
                // A connection that cannot unlock is broken, and PostgreSQL
                // drops the lock with it.
                if locked {
                    if let Err(e) =
                        conn.batch_execute(&format!("SELECT pg_advisory_unlock({ORDER_LOCK})"))
                    {
                        tracing::error!(error = %e, "releasing the message order lock failed");
                    }
                    metrics::histogram!(ORDER_LOCK_WAIT_METRIC)
                        .record(held.duration_since(asked).as_secs_f64());
                    metrics::histogram!(ORDER_LOCK_HELD_METRIC)
                        .record(held.elapsed().as_secs_f64());
                }
                result
            })
            .await
    }

    /// Deletes message `id` if `by` may (PROTOCOL.md §6): the author within
    /// `recall` of its time, an admin any time.
    pub async fn delete(
        &self,
        id: i64,
        by: Deleter,
        recall: chrono::Duration,
    ) -> std::result::Result<Deleted, DeleteError> {
        let now = crate::timestamps::now();
        self.db
            .run(move |conn| Ok(deletion::delete(conn, id, by, now, recall)))
            .await?
    }

    /// Deletions at or after `since` (all when None) of messages inside the
    /// retention window, oldest first.
    pub async fn deleted_since(&self, since: Option<NaiveDateTime>) -> Result<Vec<DeletedNotice>> {
        let window = self.retention_cutoff();
        self.db
            .run(move |conn| deletion::deleted_since(conn, since, window))
            .await
    }

    /// The newest stored id (0 when there are none).
    pub async fn newest_id(&self) -> Result<i64> {
        self.db.run(messages::max_id).await
    }
}
