//! Who the others were told is typing (PROTOCOL.md §6.9), behind a small
//! trait so that a cluster keeps it in Redis: then the 2-second pacing and
//! the `false` after a `true` hold for a user whose tabs are on several nodes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

#[async_trait]
pub trait TypingState: Send + Sync + 'static {
    /// What to forward for a `typing` event of `user`, if anything: a `true`
    /// at most once per [`TYPING_EVERY`], a `false` only after a `true`.
    async fn typing(&self, user: i32, typing: bool) -> Option<bool>;
    /// The user sent a message or left: whether the others must be told
    /// `false` (they were last told `true`).
    async fn stopped(&self, user: i32) -> bool;
    /// The user's last socket left.
    fn forget(&self, _user: i32) {}
    /// Drops what no longer counts (called periodically).
    fn sweep(&self) {}
}

/// At most one `typing: true` per user per this long is forwarded.
pub const TYPING_EVERY: Duration = Duration::from_secs(2);
/// How long the others' having been told `true` is remembered: a page drops
/// a `true` it has not seen renewed for 6 s, so after this nobody shows it.
pub const TOLD_FOR: Duration = Duration::from_secs(30);

/// What the others were last told about each user typing on this node. An
/// entry lives while the user is typing or was told so within
/// [`TYPING_EVERY`]; the sweep and a user's leaving remove the rest, so the
/// map is bounded by the users connected here.
#[derive(Debug, Default)]
pub struct TypingTracker {
    users: Mutex<HashMap<i32, Told>>,
}

#[derive(Debug, Clone, Copy)]
struct Told {
    /// The others were last told `true`.
    typing: bool,
    /// When a `true` was last forwarded.
    at: Instant,
}

impl TypingTracker {
    /// What to forward for a `typing` event of `user` at `now`, if anything.
    pub fn typing_at(&self, user: i32, typing: bool, now: Instant) -> Option<bool> {
        let mut users = self.lock();
        match (typing, users.get(&user).copied()) {
            (true, Some(told)) if now.duration_since(told.at) < TYPING_EVERY => {
                // The others still see this user typing, or were told
                // `false` only just now: renewing it so soon says nothing new.
                None
            }
            (true, _) => {
                users.insert(
                    user,
                    Told {
                        typing: true,
                        at: now,
                    },
                );
                Some(true)
            }
            (false, Some(told)) if told.typing => {
                users.insert(
                    user,
                    Told {
                        typing: false,
                        ..told
                    },
                );
                Some(false)
            }
            (false, _) => None,
        }
    }

    /// [`TypingState::stopped`], on this node.
    pub fn stopped_here(&self, user: i32) -> bool {
        let mut users = self.lock();
        match users.get_mut(&user) {
            Some(told) if told.typing => {
                told.typing = false;
                true
            }
            _ => false,
        }
    }

    /// The user left this node.
    pub fn forget_here(&self, user: i32) {
        self.lock().remove(&user);
    }

    /// Drops entries that hold nothing the next event needs.
    /// A `true` not renewed for [`TOLD_FOR`] is shown by no page any more:
    /// it goes too, so a user whose leaving went unseen is not kept.
    pub fn sweep_at(&self, now: Instant) {
        self.lock().retain(|_, told| {
            let age = now.duration_since(told.at);
            age < TYPING_EVERY || (told.typing && age < TOLD_FOR)
        });
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Told>> {
        // A panic while holding the map leaves nothing half-written.
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl TypingState for TypingTracker {
    async fn typing(&self, user: i32, typing: bool) -> Option<bool> {
        self.typing_at(user, typing, Instant::now())
    }

    async fn stopped(&self, user: i32) -> bool {
        self.stopped_here(user)
    }

    fn forget(&self, user: i32) {
        self.forget_here(user);
    }

    fn sweep(&self) {
        self.sweep_at(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_true_per_two_seconds_and_false_only_after_true() {
        let t = TypingTracker::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(t.typing_at(1, false, at(0)), None, "nobody was told true");
        assert_eq!(t.typing_at(1, true, at(0)), Some(true));
        assert_eq!(t.typing_at(1, true, at(1_999)), None);
        assert_eq!(t.typing_at(1, true, at(2_000)), Some(true), "a renewal");
        assert_eq!(t.typing_at(2, true, at(2_000)), Some(true), "per user");
        assert_eq!(t.typing_at(1, false, at(2_100)), Some(false));
        assert_eq!(t.typing_at(1, false, at(2_200)), None);
        assert_eq!(
            t.typing_at(1, true, at(2_300)),
            None,
            "true again within 2 s"
        );
        assert_eq!(t.typing_at(1, true, at(4_000)), Some(true));
        assert!(t.stopped_here(1));
        assert!(!t.stopped_here(1), "told false once");
        assert!(!t.stopped_here(3), "never typed");
    }

    #[test]
    fn entries_go_when_they_hold_nothing() {
        let t = TypingTracker::default();
        let t0 = Instant::now();
        t.typing_at(1, true, t0);
        t.typing_at(2, true, t0);
        t.typing_at(2, false, t0);
        t.sweep_at(t0 + Duration::from_secs(3));
        assert_eq!(t.len(), 1, "the one still typing stays");
        t.typing_at(3, true, t0);
        t.sweep_at(t0 + TOLD_FOR);
        assert!(
            t.is_empty(),
            "a true nobody renewed goes after {TOLD_FOR:?}"
        );
        t.typing_at(1, true, t0);
        t.forget_here(1);
        assert!(t.is_empty());
    }
}
