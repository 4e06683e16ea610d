//! The flood limit on messages and the lockout after failed logins, behind
//! small traits so that a cluster can count in Redis instead of in memory.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

/// PROTOCOL.md: 20 accepted messages per 10 seconds, per user, across sockets.
pub const FLOOD_LIMIT: usize = 20;
pub const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// Failed logins for one name from one address before the lockout.
pub const LOGIN_FAILURES: usize = 5;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
#[error("rate limit store unavailable: {0}")]
pub struct LimitError(pub String);

#[async_trait]
pub trait FloodLimiter: Send + Sync + 'static {
    /// Counts one message of `user_id` and answers true if it is within the
    /// limit; answers false (counting nothing) when the user is over it.
    async fn try_acquire(&self, user_id: i32) -> Result<bool, LimitError>;
    /// Forgets what no longer counts (called periodically).
    fn sweep(&self) {}
}

#[async_trait]
pub trait LoginLockout: Send + Sync + 'static {
    /// How long `key` stays locked, if it is.
    async fn locked_for(&self, key: &str) -> Result<Option<Duration>, LimitError>;
    async fn record_failure(&self, key: &str) -> Result<(), LimitError>;
    /// A successful login forgets the failures.
    async fn clear(&self, key: &str) -> Result<(), LimitError>;
    /// Forgets what no longer counts (called periodically).
    fn sweep(&self) {}
}

/// Per-key timestamps of the events within a sliding window.
#[derive(Debug)]
pub struct SlidingWindow<K> {
    limit: usize,
    window: Duration,
    events: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Eq + Hash + Clone> SlidingWindow<K> {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
            q.pop_front();
        }
    }

    /// Records an event for `key` if fewer than `limit` are in the window.
    pub fn try_hit(&self, key: &K, now: Instant) -> bool {
        let mut map = self.lock();
        let q = map.entry(key.clone()).or_default();
        Self::prune(q, now, self.window);
        if q.len() >= self.limit {
            return false;
        }
        q.push_back(now);
        true
    }

    /// Records an event for `key` unconditionally.
    pub fn hit(&self, key: &K, now: Instant) {
        let mut map = self.lock();
        let q = map.entry(key.clone()).or_default();
        Self::prune(q, now, self.window);
        q.push_back(now);
    }

    /// When `key` has reached the limit: how long until the oldest event leaves the window.
    pub fn blocked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let mut map = self.lock();
        let q = map.get_mut(key)?;
        Self::prune(q, now, self.window);
        if q.len() < self.limit {
            return None;
        }
        q.front()
            .map(|oldest| self.window.saturating_sub(now.duration_since(*oldest)))
    }

    pub fn clear(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Forgets keys with no event in the window, so memory follows activity.
    pub fn sweep(&self, now: Instant) {
        let window = self.window;
        self.lock().retain(|_, q| {
            Self::prune(q, now, window);
            !q.is_empty()
        });
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The single-node flood limiter.
#[derive(Debug)]
pub struct MemoryFloodLimiter(pub SlidingWindow<i32>);

impl Default for MemoryFloodLimiter {
    fn default() -> Self {
        Self(SlidingWindow::new(FLOOD_LIMIT, FLOOD_WINDOW))
    }
}

#[async_trait]
impl FloodLimiter for MemoryFloodLimiter {
    async fn try_acquire(&self, user_id: i32) -> Result<bool, LimitError> {
        Ok(self.0.try_hit(&user_id, Instant::now()))
    }

    fn sweep(&self) {
        self.0.sweep(Instant::now());
    }
}

/// The single-node login lockout.
#[derive(Debug)]
pub struct MemoryLoginLockout(pub SlidingWindow<String>);

impl Default for MemoryLoginLockout {
    fn default() -> Self {
        Self(SlidingWindow::new(LOGIN_FAILURES, LOGIN_WINDOW))
    }
}

#[async_trait]
impl LoginLockout for MemoryLoginLockout {
    async fn locked_for(&self, key: &str) -> Result<Option<Duration>, LimitError> {
        Ok(self.0.blocked_for(&key.to_owned(), Instant::now()))
    }

    async fn record_failure(&self, key: &str) -> Result<(), LimitError> {
        self.0.hit(&key.to_owned(), Instant::now());
        Ok(())
    }

    async fn clear(&self, key: &str) -> Result<(), LimitError> {
        self.0.clear(&key.to_owned());
        Ok(())
    }

    fn sweep(&self) {
        self.0.sweep(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_admits_the_limit_then_refuses_until_it_slides() {
        let w = SlidingWindow::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(w.try_hit(&1, t0));
        assert!(w.try_hit(&1, t0 + Duration::from_secs(1)));
        assert!(w.try_hit(&1, t0 + Duration::from_secs(2)));
        assert!(
            !w.try_hit(&1, t0 + Duration::from_secs(3)),
            "fourth within the window"
        );
        assert!(
            w.try_hit(&2, t0 + Duration::from_secs(3)),
            "other keys are unaffected"
        );
        assert!(
            w.try_hit(&1, t0 + Duration::from_secs(10)),
            "the first left the window"
        );
    }

    #[test]
    fn refusals_are_not_counted() {
        let w = SlidingWindow::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(w.try_hit(&1, t0));
        for s in 1..9 {
            assert!(!w.try_hit(&1, t0 + Duration::from_secs(s)));
        }
        assert!(w.try_hit(&1, t0 + Duration::from_secs(10)));
    }

    #[test]
    fn blocked_for_tells_the_remaining_time() {
        let w = SlidingWindow::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        w.hit(&"k", t0);
        assert_eq!(w.blocked_for(&"k", t0), None);
        w.hit(&"k", t0 + Duration::from_secs(10));
        assert_eq!(
            w.blocked_for(&"k", t0 + Duration::from_secs(20)),
            Some(Duration::from_secs(40))
        );
        w.clear(&"k");
        assert_eq!(w.blocked_for(&"k", t0 + Duration::from_secs(20)), None);
    }

    #[test]
    fn sweep_forgets_idle_keys() {
        let w = SlidingWindow::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        w.hit(&1, t0);
        w.hit(&2, t0 + Duration::from_secs(5));
        w.sweep(t0 + Duration::from_secs(11));
        assert_eq!(w.len(), 1);
    }
}
