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
/// `delete_message`: deletions per user in any 10 seconds, a budget of its
/// own (an admin cleaning up a spam wave is not held to the send limit, and
/// a deleter cannot spend the database's writes without bound).
pub const DELETE_LIMIT: u64 = 60;
pub const DELETE_WINDOW: Duration = Duration::from_secs(10);
/// `ban_user` / `unban_user`: attempts per admin in any 10 seconds, a
/// budget of its own.
pub const BAN_LIMIT: u64 = 30;
pub const BAN_WINDOW: Duration = Duration::from_secs(10);
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

/// The budgets' reasons: Redis key parts, `chat_refusals_total` labels.
pub const REGISTER: &str = "register";
pub const LOGIN_FAILURES_PER_ADDRESS: &str = "login_failures";
pub const UPLOADS: &str = "uploads";
pub const UPLOAD_BYTES: &str = "upload_quota";
pub const DELETES: &str = "deletes";
pub const BANS: &str = "bans";
pub const SOCKETS_PER_USER: &str = "sockets_per_user";
pub const DISK_SPACE: &str = "disk_space";

const TEN_MINUTES: Duration = Duration::from_secs(10 * 60);
const MIB: u64 = 1024 * 1024;

/// The budgets the flags set (None: lifted).
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    /// New accounts per address.
    pub register: Option<Budget>,
    /// Failed logins per address, over all names.
    pub login_failures: Option<Budget>,
    /// Uploads per user.
    pub uploads: Option<Budget>,
    /// Bytes uploaded per user.
    pub upload_bytes: Option<Budget>,
    /// `delete_message` events per user ([`DELETE_LIMIT`]).
    pub deletes: Option<Budget>,
    /// `ban_user` / `unban_user` events per user ([`BAN_LIMIT`]).
    pub bans: Option<Budget>,
}

impl Budgets {
    pub fn new(args: &crate::config::LimitArgs) -> Self {
        Self {
            register: Budget::new(REGISTER, args.register_limit, TEN_MINUTES),
            login_failures: Budget::new(
                LOGIN_FAILURES_PER_ADDRESS,
                args.login_failures_per_address,
                TEN_MINUTES,
            ),
            uploads: Budget::new(UPLOADS, args.upload_limit, Duration::from_secs(60)),
            upload_bytes: Budget::new(
                UPLOAD_BYTES,
                args.upload_quota_mb.saturating_mul(MIB),
                Duration::from_secs(24 * 60 * 60),
            ),
            deletes: Budget::new(DELETES, DELETE_LIMIT, DELETE_WINDOW),
            bans: Budget::new(BANS, BAN_LIMIT, BAN_WINDOW),
        }
    }
}

/// Refuses with 429 (and counts the refusal) when `units` more do not fit
/// in `budget` for `key`; a lifted budget always has room.
pub async fn ensure_room(
    counters: &dyn Counters,
    budget: Option<&Budget>,
    key: &str,
    units: u64,
) -> Result<(), crate::error::AppError> {
    let Some(budget) = budget else { return Ok(()) };
    let wait = counters
        .check(budget, key, units)
        .await
        .map_err(crate::error::AppError::internal)?;
    match wait {
        None => Ok(()),
        Some(retry_after) => {
            crate::telemetry::refused(budget.reason);
            Err(crate::error::AppError::Limited {
                reason: budget.reason,
                retry_after,
            })
        }
    }
}

/// Counts an accepted action against `budget` (nothing when it is lifted).
pub async fn spend(
    counters: &dyn Counters,
    budget: Option<&Budget>,
    key: &str,
    units: u64,
) -> Result<(), crate::error::AppError> {
    match budget {
        Some(budget) => counters
            .record(budget, key, units)
            .await
            .map_err(crate::error::AppError::internal),
        None => Ok(()),
    }
}

/// Units taken from a budget before an action that takes a while (a
/// registration hashing, an upload being written), so that a burst of them
/// cannot all pass the check at once; given back with [`release`] when the
/// action fails (only accepted actions count).
#[derive(Debug)]
pub struct Reservation {
    budget: Budget,
    key: String,
    units: u64,
    token: Token,
}

/// Which entry [`Counters::take`] added, to give back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An entry of [`MemoryCounters`], by its time.
    At(Instant),
    /// A member of a Redis sorted set.
    Member(String),
}

/// Takes `units` of `budget` for `key` if they fit now (checked and counted
/// in one step), or refuses with 429 as [`ensure_room`] does. None when the
/// budget is lifted.
pub async fn reserve(
    counters: &dyn Counters,
    budget: Option<&Budget>,
    key: &str,
    units: u64,
) -> Result<Option<Reservation>, crate::error::AppError> {
    let Some(budget) = budget else {
        return Ok(None);
    };
    let taken = counters
        .take(budget, key, units)
        .await
        .map_err(crate::error::AppError::internal)?;
    match taken {
        Ok(token) => Ok(Some(Reservation {
            budget: *budget,
            key: key.to_owned(),
            units,
            token,
        })),
        Err(retry_after) => {
            crate::telemetry::refused(budget.reason);
            Err(crate::error::AppError::Limited {
                reason: budget.reason,
                retry_after,
            })
        }
    }
}

/// Gives back a reservation whose action failed. A failure to give back is
/// logged: the units then count until their window passes.
pub async fn release(counters: &dyn Counters, reservation: Option<Reservation>) {
    let Some(r) = reservation else { return };
    if let Err(e) = counters
        .give_back(&r.budget, &r.key, r.units, &r.token)
        .await
    {
        tracing::warn!(error = %e, reason = r.budget.reason, "a reservation was not given back");
    }
}

/// A sliding-window budget of PROTOCOL.md's Limits table: at most `max`
/// units per key in any `window` (units are events, or bytes for a quota).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Names the counts (a Redis key part) and the refusal in the metrics.
    pub reason: &'static str,
    pub max: u64,
    pub window: Duration,
}

impl Budget {
    /// The budget, or None when the limit is lifted (0).
    pub fn new(reason: &'static str, max: u64, window: Duration) -> Option<Self> {
        (max > 0).then_some(Self {
            reason,
            max,
            window,
        })
    }
}

/// Counts against budgets. Only accepted actions count: callers `check`
/// before the action and `record` after it succeeded.
#[async_trait]
pub trait Counters: Send + Sync + 'static {
    /// None when `units` more fit in `key`'s window now; else how long until
    /// they would (the whole window when they never can).
    async fn check(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
    ) -> Result<Option<Duration>, LimitError>;
    async fn record(&self, budget: &Budget, key: &str, units: u64) -> Result<(), LimitError>;
    /// `check` and `record` in one step: the entry's token when `units` fit
    /// (and are now counted), else how long until they would.
    async fn take(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
    ) -> Result<Result<Token, Duration>, LimitError>;
    /// Removes the entry that `take` added.
    async fn give_back(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        token: &Token,
    ) -> Result<(), LimitError>;
    /// Forgets what no longer counts (called periodically).
    fn sweep(&self) {}
}

/// The units recorded under one key, with their time, oldest first, and the
/// window they count in.
type Entries = (Duration, VecDeque<(Instant, u64)>);

/// The single-node counters, per (budget, key).
#[derive(Debug, Default)]
pub struct MemoryCounters {
    events: Mutex<HashMap<(&'static str, String), Entries>>,
}

impl MemoryCounters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(&'static str, String), Entries>> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `check` of a budget at `now`.
    pub fn check_at(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        now: Instant,
    ) -> Option<Duration> {
        let mut map = self.lock();
        let Some((_, q)) = map.get_mut(&(budget.reason, key.to_owned())) else {
            return (units > budget.max).then_some(budget.window);
        };
        prune_weighted(q, now, budget.window);
        wait_for_room(q.iter().copied(), budget, units, now)
    }

    pub fn record_at(&self, budget: &Budget, key: &str, units: u64, now: Instant) {
        let mut map = self.lock();
        let (window, q) = map
            .entry((budget.reason, key.to_owned()))
            .or_insert_with(|| (budget.window, VecDeque::new()));
        prune_weighted(q, now, *window);
        q.push_back((now, units));
    }

    /// The `take` of a budget at `now`.
    pub fn take_at(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        now: Instant,
    ) -> Result<Instant, Duration> {
        let mut map = self.lock();
        let (window, q) = map
            .entry((budget.reason, key.to_owned()))
            .or_insert_with(|| (budget.window, VecDeque::new()));
        prune_weighted(q, now, *window);
        match wait_for_room(q.iter().copied(), budget, units, now) {
            Some(wait) => Err(wait),
            None => {
                q.push_back((now, units));
                Ok(now)
            }
        }
    }

    /// Removes the entry of `units` taken at `at` (one of them, when several
    /// share that instant: they are alike).
    pub fn give_back_at(&self, budget: &Budget, key: &str, units: u64, at: Instant) {
        let mut map = self.lock();
        if let Some((_, q)) = map.get_mut(&(budget.reason, key.to_owned())) {
            if let Some(i) = q.iter().rposition(|&entry| entry == (at, units)) {
                q.remove(i);
            }
        }
    }

    /// Forgets keys with nothing left in their window, so memory follows activity.
    pub fn sweep_at(&self, now: Instant) {
        self.lock().retain(|_, (window, q)| {
            prune_weighted(q, now, *window);
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

fn prune_weighted(q: &mut VecDeque<(Instant, u64)>, now: Instant, window: Duration) {
    while q
        .front()
        .is_some_and(|(t, _)| now.duration_since(*t) >= window)
    {
        q.pop_front();
    }
}

/// How long until `units` more fit, given the entries in the window (oldest
/// first): None when they fit now.
fn wait_for_room(
    entries: impl Iterator<Item = (Instant, u64)>,
    budget: &Budget,
    units: u64,
    now: Instant,
) -> Option<Duration> {
    if units > budget.max {
        return Some(budget.window);
    }
    let entries: Vec<_> = entries.collect();
    let used: u64 = entries.iter().map(|(_, u)| u).sum();
    let mut over = (used + units).checked_sub(budget.max).filter(|&o| o > 0)?;
    // The oldest entries leave first; room comes when enough have left.
    for (t, u) in entries {
        if u >= over {
            return Some(budget.window.saturating_sub(now.duration_since(t)));
        }
        over -= u;
    }
    Some(budget.window)
}

#[async_trait]
impl Counters for MemoryCounters {
    async fn check(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
    ) -> Result<Option<Duration>, LimitError> {
        Ok(self.check_at(budget, key, units, Instant::now()))
    }

    async fn record(&self, budget: &Budget, key: &str, units: u64) -> Result<(), LimitError> {
        self.record_at(budget, key, units, Instant::now());
        Ok(())
    }

    async fn take(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
    ) -> Result<Result<Token, Duration>, LimitError> {
        Ok(self
            .take_at(budget, key, units, Instant::now())
            .map(Token::At))
    }

    async fn give_back(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        token: &Token,
    ) -> Result<(), LimitError> {
        if let Token::At(at) = token {
            self.give_back_at(budget, key, units, *at);
        }
        Ok(())
    }

    fn sweep(&self) {
        self.sweep_at(Instant::now());
    }
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

    fn budget(max: u64, secs: u64) -> Budget {
        Budget::new("test", max, Duration::from_secs(secs)).unwrap()
    }

    #[test]
    fn a_budget_of_zero_is_no_limit() {
        assert_eq!(Budget::new("x", 0, Duration::from_secs(1)), None);
    }

    #[test]
    fn a_count_budget_admits_max_then_tells_when_the_oldest_leaves() {
        let (c, b, t0) = (MemoryCounters::default(), budget(3, 600), Instant::now());
        for s in 0..3 {
            let t = t0 + Duration::from_secs(s);
            assert_eq!(c.check_at(&b, "10.0.0.1", 1, t), None);
            c.record_at(&b, "10.0.0.1", 1, t);
        }
        let t = t0 + Duration::from_secs(100);
        assert_eq!(
            c.check_at(&b, "10.0.0.1", 1, t),
            Some(Duration::from_secs(500))
        );
        assert_eq!(
            c.check_at(&b, "10.0.0.2", 1, t),
            None,
            "other keys are unaffected"
        );
        assert_eq!(
            c.check_at(&b, "10.0.0.1", 1, t0 + Duration::from_secs(600)),
            None
        );
    }

    #[test]
    fn take_counts_at_once_and_a_given_back_entry_frees_its_place() {
        let (c, b, t0) = (MemoryCounters::default(), budget(2, 600), Instant::now());
        let first = c.take_at(&b, "k", 1, t0).unwrap();
        let second = c.take_at(&b, "k", 1, t0 + Duration::from_secs(1)).unwrap();
        let t = t0 + Duration::from_secs(2);
        assert_eq!(c.take_at(&b, "k", 1, t), Err(Duration::from_secs(598)));
        c.give_back_at(&b, "k", 1, second);
        assert!(c.take_at(&b, "k", 1, t).is_ok(), "the place is free again");
        assert_eq!(c.check_at(&b, "k", 1, t), Some(Duration::from_secs(598)));
        c.give_back_at(&b, "k", 1, first);
        assert_eq!(c.check_at(&b, "k", 1, t), None);
    }

    #[test]
    fn a_byte_quota_counts_sizes_and_waits_for_enough_to_leave() {
        let (c, b, t0) = (MemoryCounters::default(), budget(1000, 100), Instant::now());
        c.record_at(&b, "7", 400, t0);
        c.record_at(&b, "7", 400, t0 + Duration::from_secs(10));
        let t = t0 + Duration::from_secs(20);
        assert_eq!(c.check_at(&b, "7", 200, t), None, "exactly the quota fits");
        // 300 more need the first 400 gone (at 100 s): 80 s from now.
        assert_eq!(c.check_at(&b, "7", 300, t), Some(Duration::from_secs(80)));
        // 700 more need both gone (at 110 s).
        assert_eq!(c.check_at(&b, "7", 700, t), Some(Duration::from_secs(90)));
        assert_eq!(
            c.check_at(&b, "7", 1001, t),
            Some(Duration::from_secs(100)),
            "never fits"
        );
    }

    #[test]
    fn counters_of_different_budgets_are_apart_and_swept() {
        let c = MemoryCounters::default();
        let t0 = Instant::now();
        c.record_at(&budget(1, 10), "k", 1, t0);
        let other = Budget::new("other", 1, Duration::from_secs(10)).unwrap();
        assert_eq!(c.check_at(&other, "k", 1, t0), None);
        c.record_at(&other, "k", 1, t0 + Duration::from_secs(5));
        c.sweep_at(t0 + Duration::from_secs(12));
        assert_eq!(c.len(), 1);
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
