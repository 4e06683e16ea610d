//! Freed memory handed back to the system after sockets come and go.
//!
//! glibc's allocator keeps what a burst freed inside its per-thread arenas:
//! 1,100 idle sockets leaving at once took a node from 42 MB to 51 MB, and a
//! `malloc_trim(0)` brought it to 23 MB (docs/BENCHMARKS.md, target 4). A
//! handshake leaves the same kind of garbage (its request's buffers). So the
//! node counts sockets opened and closed (`--memory-trim`) and trims as a
//! burst of them goes, and now and then under steady churn. Trimming
//! walks each arena under its lock; it runs on the blocking pool and its
//! time is recorded (`chat_memory_trim_seconds`).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::telemetry;

/// How often the turnover is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Sockets opened or closed that make a burst, trimmed as it goes.
const BURST: usize = 64;
/// Checks between trims otherwise (a few sockets at a time).
const GAP: u32 = 30;

/// Counts sockets opened and closed; shared by the socket handlers and the
/// trimming task.
#[derive(Clone, Default)]
pub struct MemoryTrim {
    turnover: Arc<AtomicUsize>,
}

impl MemoryTrim {
    /// A socket was opened or closed; never waits.
    pub fn turnover(&self) {
        self.turnover.fetch_add(1, Relaxed);
    }

    /// The trimming task. Does nothing where the allocator cannot trim.
    pub fn spawn(&self) {
        if !TRIMS {
            return;
        }
        let turnover = self.turnover.clone();
        tokio::spawn(async move {
            let mut rule = Rule::default();
            let mut every = tokio::time::interval(CHECK_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if rule.due(turnover.swap(0, Relaxed)) {
                    match tokio::task::spawn_blocking(trim).await {
                        Ok(took) => {
                            metrics::counter!(telemetry::MEMORY_TRIMS).increment(1);
                            metrics::histogram!(telemetry::MEMORY_TRIM_SECONDS)
                                .record(took.as_secs_f64());
                        }
                        Err(e) => tracing::warn!(error = %e, "memory trim failed"),
                    }
                }
            }
        });
    }
}

/// When to trim: at every check that finds [`BURST`] sockets came or went
/// since the last trim (an exodus's queued frames are freed as it goes, and
/// the sockets a dropped network left behind go one by one for a minute
/// after it), and otherwise once [`GAP`] checks have passed since the last
/// trim, when any came or went since.
#[derive(Debug, Default)]
struct Rule {
    /// Sockets opened and closed since the last trim.
    pending: usize,
    /// Checks since the last trim.
    checks: u32,
}

impl Rule {
    /// `new`: sockets opened and closed since the previous check.
    fn due(&mut self, new: usize) -> bool {
        self.pending += new;
        self.checks = self.checks.saturating_add(1);
        let due = self.pending >= BURST || (self.pending > 0 && self.checks >= GAP);
        if due {
            self.pending = 0;
            self.checks = 0;
        }
        due
    }
}

const TRIMS: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// Returns every arena's free pages to the system; how long it took.
pub fn trim() -> Duration {
    let started = Instant::now();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only takes the allocator's own locks; any thread
    // may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
    started.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of these checks trim.
    fn trims(rule: &mut Rule, counts: impl IntoIterator<Item = usize>) -> usize {
        counts.into_iter().filter(|&n| rule.due(n)).count()
    }

    #[test]
    fn nothing_is_trimmed_while_no_socket_comes_or_goes() {
        assert_eq!(trims(&mut Rule::default(), [0; 100]), 0);
    }

    #[test]
    fn a_few_sockets_are_trimmed_after_once_the_gap_has_passed() {
        let mut rule = Rule::default();
        assert_eq!(trims(&mut rule, [3, 5]), 0);
        assert_eq!(trims(&mut rule, [0; 27]), 0, "29 checks since the start");
        assert!(rule.due(0), "the 30th check: after 8 sockets");
        assert_eq!(trims(&mut rule, [0; 100]), 0, "none came or went since");
    }

    #[test]
    fn steady_churn_is_trimmed_every_gap() {
        let mut rule = Rule::default();
        // A socket opened or closed every other second for 10 minutes.
        let turnover = (0..600).map(|t| usize::from(t % 2 == 0));
        assert_eq!(trims(&mut rule, turnover), 20);
    }

    #[test]
    fn a_mass_exodus_or_storm_is_trimmed_as_it_goes() {
        let mut rule = Rule::default();
        assert_eq!(trims(&mut rule, [400, 500, 200]), 3, "every check of it");
        assert_eq!(
            trims(&mut rule, [10; 7]),
            1,
            "its stragglers, once 64 gathered"
        );
        assert_eq!(trims(&mut rule, [0; 20]), 0);
    }
}
