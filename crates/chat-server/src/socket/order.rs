//! What one socket sends is checked, stored and broadcast in the order it was
//! sent. socketioxide runs every event handler as its own task, so handlers
//! of one socket race; but it runs their extractors synchronously, in packet
//! order. [`Turn`] is taken there: each event's turn waits for the previous
//! event's turn to be released, which the handler does once its message is
//! queued for the writer (or refused), so one refusal never blocks the next.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use socketioxide::adapter::Adapter;
use socketioxide::handler::FromMessageParts;
use socketioxide::socket::Socket;
use tokio::sync::oneshot;

use super::SocketContext;

/// Per socket (in its [`SocketContext`]): the release of the latest turn taken.
#[derive(Debug, Default)]
pub struct SocketOrder(Mutex<Option<oneshot::Receiver<()>>>);

impl SocketOrder {
    /// The next turn: it comes after every turn taken before it.
    pub fn take(&self) -> Turn {
        let (release, released) = oneshot::channel();
        let before = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(released);
        Turn { before, release }
    }
}

/// An event's place in its socket's order. Dropping it lets the next one go.
#[derive(Debug)]
pub struct Turn {
    before: Option<oneshot::Receiver<()>>,
    release: oneshot::Sender<()>,
}

impl Turn {
    /// Waits until every earlier event of the socket has released its turn.
    pub async fn wait(&mut self) {
        if let Some(before) = self.before.take() {
            // Err only means the earlier handler is gone: its turn is over too.
            let _ = before.await;
        }
    }

    /// Lets the socket's next event go (dropping the turn does the same).
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

impl<A: Adapter> FromMessageParts<A> for Turn {
    type Error = Infallible;

    fn from_message_parts(
        s: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        _: &Option<i64>,
    ) -> Result<Self, Infallible> {
        // A socket without its context (never: the handshake inserts it) goes unordered.
        Ok(match s.extensions.get::<SocketContext>() {
            Some(context) => context.order().take(),
            None => SocketOrder::default().take(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn turns_pass_in_the_order_they_were_taken() {
        let order = SocketOrder::default();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut handles = Vec::new();
        for i in 0..20u64 {
            let mut turn = order.take();
            let tx = tx.clone();
            handles.push(tokio::spawn(async move {
                // Later turns would win this race without the order.
                tokio::time::sleep(Duration::from_millis(20 - i)).await;
                turn.wait().await;
                tx.send(i).unwrap();
                turn.release();
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        drop(tx);
        let mut seen = Vec::new();
        while let Some(i) = rx.recv().await {
            seen.push(i);
        }
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_dropped_turn_lets_the_next_one_go() {
        let order = SocketOrder::default();
        let first = order.take();
        let mut second = order.take();
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), second.wait())
            .await
            .expect("the second turn goes once the first is dropped");
    }
}
