//! Who is online, counted per user (not per socket), behind a small trait so
//! that a cluster can keep it in Redis; and the announcer that tells every
//! socket the current list.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::protocol::Event;
pub use crate::protocol::OnlineUsers;
use async_trait::async_trait;
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
#[error("presence store unavailable: {0}")]
pub struct PresenceError(pub String);

#[async_trait]
pub trait Presence: Send + Sync + 'static {
    /// Records one more socket of the user. Returns the number of users online
    /// when this is the user's first socket (the user just joined), else None.
    async fn connect(&self, user_id: i32, username: &str) -> Result<Option<usize>, PresenceError>;
    /// Records one socket fewer. Returns the number of users online when that
    /// was the user's last socket (the user just left), else None.
    async fn disconnect(&self, user_id: i32) -> Result<Option<usize>, PresenceError>;
    async fn online(&self) -> Result<OnlineUsers, PresenceError>;
    /// Sockets the user holds on other nodes (none for a single node).
    async fn sockets_elsewhere(&self, _user_id: i32) -> Result<u64, PresenceError> {
        Ok(0)
    }
}

/// Presence of a single node.
#[derive(Debug, Default)]
pub struct MemoryPresence {
    /// user id → (username, open sockets). A user leaves the map with their last socket.
    users: Mutex<HashMap<i32, (String, usize)>>,
}

impl MemoryPresence {
    /// (user id, username, sockets) of everyone here.
    pub fn entries(&self) -> Vec<(i32, String, usize)> {
        self.lock()
            .iter()
            .map(|(id, (name, n))| (*id, name.clone(), *n))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (String, usize)>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn connect(&self, user_id: i32, username: &str) -> Result<Option<usize>, PresenceError> {
        let mut users = self.lock();
        let entry = users
            .entry(user_id)
            .or_insert_with(|| (username.to_owned(), 0));
        entry.1 += 1;
        Ok((entry.1 == 1).then_some(users.len()))
    }

    async fn disconnect(&self, user_id: i32) -> Result<Option<usize>, PresenceError> {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&user_id) else {
            return Ok(None);
        };
        entry.1 -= 1;
        if entry.1 > 0 {
            return Ok(None);
        }
        users.remove(&user_id);
        Ok(Some(users.len()))
    }

    async fn online(&self) -> Result<OnlineUsers, PresenceError> {
        let mut names: Vec<String> = self.lock().values().map(|(name, _)| name.clone()).collect();
        names.sort_unstable();
        Ok(OnlineUsers {
            count: names.len(),
            users: names,
        })
    }
}

/// Broadcasts `online_users` after presence changes. Changes that arrive while
/// a broadcast is under way are folded into the next one, which always carries
/// the latest state: the last change is never dropped, and a join storm costs
/// one list per interval instead of one per join.
#[derive(Clone, Default)]
pub struct Announcer {
    changes: Arc<Changes>,
}

#[derive(Default)]
struct Changes {
    wake: Notify,
    /// Changes so far (wrapping): how many a pause has seen come in.
    count: AtomicUsize,
}

impl Announcer {
    pub fn changed(&self) {
        self.changes.count.fetch_add(1, Ordering::Relaxed);
        self.changes.wake.notify_one();
    }

    pub fn spawn<A: Adapter>(&self, presence: Arc<dyn Presence>, io: SocketIo<A>, mut pace: Pace) {
        let changes = self.changes.clone();
        tokio::spawn(async move {
            let mut previous = changes.count.load(Ordering::Relaxed);
            loop {
                changes.wake.notified().await;
                // Changes from here on are not in this list.
                let listed = changes.count.load(Ordering::Relaxed);
                let folded = listed.wrapping_sub(previous);
                previous = listed;
                let online = match presence.online().await {
                    Ok(online) => online,
                    Err(e) => {
                        tracing::warn!(error = %e, "presence unavailable");
                        continue;
                    }
                };
                crate::socket::broadcast(&io, Event::OnlineUsers, &online).await;
                if let Some(pause) = pace.pause(online.count) {
                    let unlisted = || changes.count.load(Ordering::Relaxed).wrapping_sub(listed);
                    pace.wait(pause, online.count, folded, unlisted).await;
                }
            }
        });
    }
}

/// How long the announcer waits after a broadcast before the next one. Changes
/// now and then go out at once; past a burst of them, lists go to every socket
/// at a pace that slows with the room's size (each costs users x users bytes),
/// so that a join storm sends a handful of lists instead of one per join. The
/// pace holds until a whole window has gone by without a paced list: a storm
/// longer than the window does not earn a fresh burst every window.
#[derive(Debug)]
pub struct Pace {
    /// Broadcasts within `window` that go out at once.
    burst: usize,
    window: Duration,
    base: Duration,
    per_user: Duration,
    /// A pause ends early once this long goes by without a change (and
    /// enough changes wait, `wait`).
    quiet: Duration,
    recent: std::collections::VecDeque<tokio::time::Instant>,
    /// When the last pause ends (or ended).
    paced_until: Option<tokio::time::Instant>,
}

/// A pause ends early only after a tenth of the room (or a burst) has changed
/// since the list before it or the one before that: early lists then cost at
/// most twenty users' worth of bytes per change, what a few `user_joined`
/// frames cost, whatever the room's size.
const EARLY_SHARE_OF_ROOM: usize = 10;

impl Pace {
    pub fn new(
        burst: usize,
        window: Duration,
        base: Duration,
        per_user: Duration,
        quiet: Duration,
    ) -> Self {
        Self {
            burst,
            window,
            base,
            per_user,
            quiet,
            recent: Default::default(),
            paced_until: None,
        }
    }

    /// Records a broadcast; the pause before the next one, if any.
    pub fn pause(&mut self, online: usize) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        let storm_goes_on = self
            .paced_until
            .is_some_and(|end| now.saturating_duration_since(end) < self.window);
        if self.recent.len() <= self.burst && !storm_goes_on {
            return None;
        }
        let pause = self.base + self.per_user * u32::try_from(online).unwrap_or(u32::MAX);
        self.paced_until = Some(now + pause);
        Some(pause)
    }

    /// Sleeps `pause`, but a storm's last list goes out once its joins stop
    /// rather than at the next tick. The pause ends when nothing changed for
    /// `quiet` and either many changes wait (`unlisted`) or many were folded
    /// into the list just sent (`folded`: a storm's tail after its last paced
    /// list may be short). A trickle of joins, which never piles up that
    /// many, keeps the pace.
    pub async fn wait(
        &self,
        pause: Duration,
        online: usize,
        folded: usize,
        unlisted: impl Fn() -> usize,
    ) {
        let end = tokio::time::Instant::now() + pause;
        let many = self.burst.max(online / EARLY_SHARE_OF_ROOM);
        // At least one: a pause that ended with nothing to send would let
        // the next change out unpaced.
        let enough = if folded >= many { 1 } else { many };
        let mut seen = unlisted();
        loop {
            let step = tokio::time::Instant::now() + self.quiet;
            if step >= end {
                tokio::time::sleep_until(end).await;
                return;
            }
            tokio::time::sleep_until(step).await;
            let now = unlisted();
            if now >= enough && now == seen {
                return;
            }
            seen = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pace with a one-second window and a 50 ms base pause.
    fn pace(burst: usize, per_user: Duration) -> Pace {
        Pace::new(
            burst,
            Duration::from_secs(1),
            Duration::from_millis(50),
            per_user,
            QUIET,
        )
    }

    const QUIET: Duration = Duration::from_millis(25);

    /// How long the pause after a paced list at 1,000 users (300 ms) lasts
    /// when that list folded `folded` changes and `joins` more come, one
    /// every `every`, counted as the announcer counts them.
    async fn pause_with(folded: usize, joins: usize, every: Duration) -> Duration {
        let pace = pace(8, Duration::from_micros(250));
        let counter = Arc::new(AtomicUsize::new(0));
        let joining = counter.clone();
        tokio::spawn(async move {
            for _ in 0..joins {
                tokio::time::sleep(every).await;
                joining.fetch_add(1, Ordering::Relaxed);
            }
        });
        let started = tokio::time::Instant::now();
        pace.wait(Duration::from_millis(300), 1000, folded, || {
            counter.load(Ordering::Relaxed)
        })
        .await;
        started.elapsed()
    }

    /// The pause ended one quiet step (25 to 50 ms) after the last join.
    fn ended_quietly_after(waited: Duration, last_join_ms: u64) {
        let last = Duration::from_millis(last_join_ms);
        assert!(
            waited >= last + QUIET && waited <= last + 2 * QUIET,
            "ended {waited:?} into the pause, the last join at {last:?}"
        );
    }

    const WHOLE_PAUSE: Duration = Duration::from_millis(300);

    #[tokio::test(start_paused = true)]
    async fn a_storms_last_list_goes_out_once_its_joins_stop() {
        // 150 joins in the first 150 ms of the pause, then none.
        let waited = pause_with(5, 150, Duration::from_millis(1)).await;
        ended_quietly_after(waited, 150);
    }

    #[tokio::test(start_paused = true)]
    async fn a_storms_short_tail_goes_out_once_it_stops() {
        // The list before folded 400 joins; 20 more come in 20 ms.
        let waited = pause_with(400, 20, Duration::from_millis(1)).await;
        ended_quietly_after(waited, 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_of_joins_keeps_the_pace() {
        // One join every 40 ms: quiet between joins, but never a tenth of the room.
        let waited = pause_with(1, 10, Duration::from_millis(40)).await;
        assert_eq!(waited, WHOLE_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_storm_a_quiet_pause_with_nothing_to_send_keeps_the_pace() {
        assert_eq!(pause_with(400, 0, Duration::ZERO).await, WHOLE_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_storm_that_goes_on_keeps_the_pace() {
        let waited = pause_with(400, 1000, Duration::from_millis(1)).await;
        assert_eq!(waited, WHOLE_PAUSE);
    }

    #[tokio::test(start_paused = true)]
    async fn lists_go_out_at_once_until_a_burst_then_paced_by_room_size() {
        let mut pace = pace(2, Duration::from_micros(250));
        assert_eq!(pace.pause(1000), None);
        assert_eq!(pace.pause(1000), None);
        assert_eq!(
            pace.pause(1000),
            Some(Duration::from_millis(300)),
            "third within the window"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            pace.pause(1000),
            None,
            "a quiet room gets changes at once again"
        );
    }

    /// The announcer during a storm: it sends, pauses as told, sends again;
    /// every one of `lists` is paced by `expected`.
    async fn storm(pace: &mut Pace, online: usize, lists: usize, expected: Duration) {
        for list in 0..lists {
            let pause = pace.pause(online);
            assert_eq!(pause, Some(expected), "list {list} of the storm");
            tokio::time::advance(expected).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_storm_longer_than_the_window_stays_paced() {
        let mut pace = pace(2, Duration::from_micros(250));
        assert_eq!(pace.pause(2000), None);
        assert_eq!(pace.pause(2000), None);
        // Eleven seconds of joins.
        storm(&mut pace, 2000, 20, Duration::from_millis(550)).await;
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(
            pace.pause(2000),
            None,
            "after a quiet window, at once again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_longer_than_the_window_do_not_end_the_storm() {
        let mut pace = pace(1, Duration::from_millis(1));
        assert_eq!(pace.pause(4000), None);
        storm(&mut pace, 4000, 5, Duration::from_millis(4050)).await;
    }

    #[tokio::test]
    async fn users_are_counted_once_whatever_their_sockets() {
        let p = MemoryPresence::default();
        assert_eq!(p.connect(1, "bob").await.unwrap(), Some(1));
        assert_eq!(p.connect(2, "alice").await.unwrap(), Some(2));
        assert_eq!(p.connect(1, "bob").await.unwrap(), None, "second tab");
        assert_eq!(
            p.online().await.unwrap(),
            OnlineUsers {
                count: 2,
                users: vec!["alice".into(), "bob".into()]
            }
        );
        assert_eq!(p.disconnect(1).await.unwrap(), None, "one tab left");
        assert_eq!(p.disconnect(1).await.unwrap(), Some(1), "last tab left");
        assert_eq!(p.disconnect(1).await.unwrap(), None, "unknown user");
        assert_eq!(p.online().await.unwrap().users, vec!["alice".to_string()]);
    }
}
