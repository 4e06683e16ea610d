//! `last_seen_at` (`chat-admin users`), written in batches: a login, or a
//! user's first socket joining or last one leaving, marks the user, and one
//! UPDATE a second records everyone marked since. A reconnect storm of 1,000
//! users is one statement instead of 1,000 commits queued behind the
//! handshakes' own queries; the time recorded is at most a second late.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_domain::Accounts;
use tokio::sync::Notify;

/// How long marks gather before they are written together.
const GATHER: Duration = Duration::from_secs(1);

#[derive(Clone, Default)]
pub struct LastSeen {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Users marked since the last write; at most every user once.
    marked: Mutex<HashSet<i32>>,
    wake: Notify,
}

impl LastSeen {
    /// Marks the user as seen now; never waits.
    pub fn record(&self, user_id: i32) {
        let first = {
            let mut marked = self.lock();
            let first = marked.is_empty();
            marked.insert(user_id);
            first
        };
        if first {
            // A permit is kept when the writer is busy writing: no mark is
            // left behind.
            self.inner.wake.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<i32>> {
        self.inner.marked.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self) -> Vec<i32> {
        std::mem::take(&mut *self.lock()).into_iter().collect()
    }

    /// The writer: when something is marked, waits a second for more, then
    /// writes them all. A failure only costs those times (logged).
    pub fn spawn_writer(&self, accounts: Accounts) {
        let seen = self.clone();
        tokio::spawn(async move {
            loop {
                seen.inner.wake.notified().await;
                tokio::time::sleep(GATHER).await;
                let users = seen.take();
                if users.is_empty() {
                    continue;
                }
                let count = users.len();
                if let Err(e) = accounts.touch(users).await {
                    tracing::debug!(error = %e, count, "last-seen times not recorded");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_gather_once_per_user_until_taken() {
        let seen = LastSeen::default();
        for id in [3, 1, 3, 2, 1] {
            seen.record(id);
        }
        let mut taken = seen.take();
        taken.sort_unstable();
        assert_eq!(taken, [1, 2, 3]);
        assert!(seen.take().is_empty());
    }
}
