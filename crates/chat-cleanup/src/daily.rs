//! `chat-cleanup --daily-at HH:MM`: stays running, sleeps until the next
//! HH:MM of the local zone, runs one cleanup ([`crate::run_and_report`], as a
//! plain run), and again the next day. The calendar is [`crate::schedule`];
//! this module adds the real clock, the sleeps and the signals.
//!
//! - The wall clock is read at least every [`MAX_NAP`]: sleeps run on the
//!   monotonic clock, which stands still during a suspend and ignores
//!   changes of the wall clock.
//! - SIGTERM, SIGINT and SIGHUP are blocked and waited for with
//!   `sigtimedwait`, which is also how it sleeps: a signal ends the wait at
//!   once and the scheduler exits 0, asleep or not. A run in progress is
//!   left unfinished (each batch of deletions is its own transaction; the
//!   next run does the rest).
//! - With `--watch-pid PID`, it also exits 0 within a second of PID's end.

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Local, SecondsFormat, Utc};

use crate::schedule::{self, DailyAt, Schedule, Step};
use crate::{run_and_report, Config};

/// Longest sleep between two looks at the wall clock.
pub const MAX_NAP: Duration = Duration::from_secs(60);
/// With `--watch-pid`: how often the process is looked for.
pub const WATCH_EVERY: Duration = Duration::from_secs(1);
/// While a run goes on: how often its end is looked for.
const RUN_POLL: Duration = Duration::from_millis(100);
/// A run this late (or later) is logged as a catch-up run.
const LATE: chrono::Duration = chrono::Duration::minutes(1);

/// An instant on the local clock, RFC 3339 with the offset.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The next run of `at` from now, local zone.
pub fn next_run_from_now(at: DailyAt) -> DateTime<Utc> {
    schedule::next_run(&Local, at, Utc::now())
}

/// "5h 03m", "12m 07s", "9s".
pub fn human(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m"),
    }
}

/// Which zone the local clock is in, for the log.
fn zone() -> String {
    match std::env::var("TZ") {
        Ok(tz) if !tz.is_empty() => format!("TZ={tz}"),
        _ => "the system's local time".to_owned(),
    }
}

/// Logs a warning when TZ names a zone that the tz database on this machine
/// does not have (chrono then falls back to the system's zone, or UTC).
pub fn check_tz() {
    if let Some(w) = tz_warning() {
        tracing::warn!("{w}");
    }
}

fn tz_warning() -> Option<String> {
    let tz = std::env::var("TZ").ok()?;
    let name = tz.strip_prefix(':').unwrap_or(&tz);
    // Names such as Europe/Paris; POSIX rules (CET-1CEST,M3.5.0,M10.5.0/3)
    // and absolute paths are left to chrono.
    if !name.contains('/') || name.starts_with('/') || name.contains(',') {
        return None;
    }
    let dir = std::env::var("TZDIR").unwrap_or_else(|_| "/usr/share/zoneinfo".to_owned());
    let file = std::path::Path::new(&dir).join(name);
    (!file.is_file()).then(|| {
        format!(
            "TZ={tz}: no such zone in {dir} (is tzdata installed?); times are read in the system's zone or UTC"
        )
    })
}

/// Why the scheduler stops.
enum Stop {
    Signal(i32),
    WatchedGone(i32),
}

/// Runs the schedule until a signal (or the end of `--watch-pid`): exit
/// status 0 then; 1 only if the signals cannot be set up.
pub fn run_daily(cfg: &Config, at: DailyAt) -> ExitCode {
    // Before any thread exists, so that every thread inherits the mask.
    let signals = match Signals::block() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot block the stop signals");
            eprintln!("chat-cleanup: error: cannot block the stop signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let nap = if cfg.watch_pid.is_some() {
        WATCH_EVERY
    } else {
        MAX_NAP
    };
    let mut schedule = Schedule::new(Local, at, Utc::now());
    tracing::info!(
        at = %at,
        zone = %zone(),
        next = %local_time(schedule.due()),
        wait = %human(schedule.due() - Utc::now()),
        watch_pid = cfg.watch_pid,
        dry_run = cfg.dry_run,
        "daily cleanup scheduled"
    );
    loop {
        let now = Utc::now();
        match schedule.step(now, nap) {
            Step::Wait(d) => {
                if let Some(stop) = wait(&signals, d, cfg.watch_pid) {
                    return stopped(stop, false);
                }
            }
            Step::Run => {
                let late = now - schedule.due();
                if late >= LATE {
                    tracing::warn!(
                        due = %local_time(schedule.due()),
                        late = %human(late),
                        "the run time passed unnoticed (machine suspended or clock changed): running once now"
                    );
                }
                tracing::info!("daily cleanup starting");
                let ok = match run_once(cfg, &signals) {
                    Ok(ok) => ok,
                    Err(stop) => return stopped(stop, true),
                };
                let missed = schedule.ran(Utc::now());
                if missed > 0 {
                    tracing::warn!(
                        missed,
                        "run times passed during the sleep or the run; not made up one by one"
                    );
                }
                let next = local_time(schedule.due());
                let wait = human(schedule.due() - Utc::now());
                if ok {
                    tracing::info!(%next, %wait, "daily cleanup finished");
                } else {
                    tracing::warn!(%next, %wait, "daily cleanup failed (see above); the schedule goes on");
                }
            }
        }
    }
}

/// One cleanup on a worker thread, while this one watches for a stop.
fn run_once(cfg: &Config, signals: &Signals) -> Result<bool, Stop> {
    let job = cfg.clone();
    let worker = thread::Builder::new()
        .name("cleanup".to_owned())
        .spawn(move || run_and_report(&job));
    let worker = match worker {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the cleanup thread");
            return Ok(false);
        }
    };
    loop {
        if worker.is_finished() {
            return Ok(worker.join().unwrap_or_else(|_| {
                tracing::error!("the cleanup panicked");
                false
            }));
        }
        if let Some(stop) = wait(signals, RUN_POLL, cfg.watch_pid) {
            return Err(stop);
        }
    }
}

fn wait(signals: &Signals, d: Duration, watch: Option<i32>) -> Option<Stop> {
    if let Some(sig) = signals.wait(d) {
        return Some(Stop::Signal(sig));
    }
    match watch {
        Some(pid) if !alive(pid) => Some(Stop::WatchedGone(pid)),
        _ => None,
    }
}

fn stopped(stop: Stop, during_run: bool) -> ExitCode {
    let what = if during_run {
        "stopping during a run (the next run finishes its work)"
    } else {
        "stopping"
    };
    match stop {
        Stop::Signal(sig) => tracing::info!(signal = signal_name(sig), "{what}"),
        Stop::WatchedGone(pid) => tracing::info!(watch_pid = pid, "process {pid} is gone; {what}"),
    }
    ExitCode::SUCCESS
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}

/// Whether process `pid` exists (a zombie not yet reaped counts).
fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// SIGTERM, SIGINT and SIGHUP, blocked in every thread and waited for.
struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    fn block() -> std::io::Result<Self> {
        // SAFETY: plain calls on a sigset_t owned here; pthread_sigmask
        // changes this thread's mask, which threads started later inherit.
        unsafe {
            let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(set.as_mut_ptr());
            let mut set = set.assume_init();
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                libc::sigaddset(&mut set, sig);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(std::io::Error::from_raw_os_error(rc));
            }
            Ok(Signals { set })
        }
    }

    /// Waits up to `d` for one of the signals; its number, or `None` when
    /// the time is up.
    fn wait(&self, d: Duration) -> Option<i32> {
        let ts = libc::timespec {
            tv_sec: d.as_secs().try_into().unwrap_or(libc::time_t::MAX),
            tv_nsec: d.subsec_nanos() as libc::c_long,
        };
        loop {
            // SAFETY: the set and the timespec live across the call; no siginfo is asked for.
            let sig = unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &ts) };
            if sig > 0 {
                return Some(sig);
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EAGAIN) => return None,
                // Another signal's handler ran: wait again (a little longer at worst).
                Some(libc::EINTR) => continue,
                _ => {
                    thread::sleep(d);
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        let s = chrono::Duration::seconds;
        assert_eq!(human(s(9)), "9s");
        assert_eq!(human(s(-3)), "0s");
        assert_eq!(human(s(12 * 60 + 7)), "12m 07s");
        assert_eq!(human(s(5 * 3600 + 3 * 60 + 59)), "5h 03m");
        assert_eq!(human(s(24 * 3600)), "24h 00m");
    }

    #[test]
    fn our_own_process_is_alive_and_a_free_pid_is_not() {
        assert!(alive(std::process::id() as i32));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!alive(pid));
    }
}
