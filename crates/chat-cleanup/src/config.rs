//! Command-line flags, each also read from the environment. Names and defaults
//! are the server's, so one environment file serves both programs.

use std::time::Duration;

use chat_domain::StorageArgs;
use clap::Parser;

use crate::schedule::DailyAt;

/// Applies the chat room's retention: deletes messages older than
/// --retention-days (in batches, so a running server is never locked out for
/// long), the uploaded images that only those messages referenced, uploads that
/// no message references and that are older than --retention-days, and log
/// files older than --log-retention-days. Prints a summary on stdout; logs go
/// to stderr (RUST_LOG sets the level, default info).
///
/// Safe to run while the server runs, and to run twice. Meant for cron or a
/// systemd timer, once a day; or, with --daily-at, it stays running and
/// cleans every day at a fixed local time (the Docker image does that).
#[derive(Debug, Clone, Parser)]
#[command(name = "chat-cleanup", version, about, long_about, after_long_help = AFTER_HELP)]
pub struct Config {
    /// The database, folders and retention the server takes too. The cleanup
    /// never creates anything: a SQLite file, the upload folder and (when
    /// given) the log folder must exist; without a log folder no log file is
    /// touched.
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Log files last written more than this many days ago are deleted.
    #[arg(long, env = "LOG_RETENTION_DAYS", default_value_t = 30, value_name = "DAYS",
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub log_retention_days: u32,

    /// Messages deleted per transaction.
    #[arg(long, env = "CLEANUP_BATCH_SIZE", default_value_t = 500, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,

    /// Pause between two full batches, in milliseconds, leaving the database
    /// to the server.
    #[arg(long, env = "CLEANUP_BATCH_PAUSE_MS", default_value_t = 50, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub batch_pause_ms: u64,

    /// Report what would be removed, and remove nothing.
    #[arg(long, env = "CLEANUP_DRY_RUN")]
    pub dry_run: bool,

    /// Stay running and clean every day at HH:MM, local time (the zone of TZ,
    /// else the system's). Without a value, the time comes from CLEANUP_AT,
    /// else 02:00; CLEANUP_AT alone never starts the schedule, so a plain
    /// `chat-cleanup` still runs once. Exits 0 on SIGTERM, SIGINT or SIGHUP.
    #[arg(long, value_name = "HH:MM", help_heading = "Daily schedule")]
    pub daily_at: Option<Option<DailyAt>>,

    /// With --daily-at: print when the next run would be (local time, RFC
    /// 3339) and exit, having checked every setting.
    #[arg(long, requires = "daily_at", help_heading = "Daily schedule")]
    pub next_run: bool,

    /// With --daily-at: exit (status 0) once process PID is gone. The
    /// container's entrypoint passes the server's PID.
    #[arg(long, value_name = "PID", requires = "daily_at", help_heading = "Daily schedule",
          value_parser = clap::value_parser!(i32).range(1..))]
    pub watch_pid: Option<i32>,
}

/// Where a bare `--daily-at` takes its time from.
pub const DAILY_AT_ENV: &str = "CLEANUP_AT";
/// The time of a bare `--daily-at` when CLEANUP_AT is not set.
pub const DAILY_AT_DEFAULT: &str = "02:00";

const AFTER_HELP: &str = "\
What is removed:
  messages     written before now - RETENTION_DAYS (UTC); rows without a time stay
  images       /uploads/<name> files of the removed image messages that no
               remaining message references
  uploads      regular files in UPLOAD_DIR not starting with '.' (except the
               server's partial uploads .<name>.part), last modified before
               now - RETENTION_DAYS, that no message references
  log files    regular files directly in LOG_DIR named *.log or *.log.* (e.g.
               chat-server.log, chat-server.log.2025-06-26, app.log.1.gz), not
               starting with '.', last modified before now - LOG_RETENTION_DAYS
Never removed: folders, symbolic links (nor what they point to), anything
outside UPLOAD_DIR and LOG_DIR, files of other names.

Daily schedule (--daily-at HH:MM):
  Each run is the same as a plain run; its summary goes to stdout, and a run
  that fails is logged and the schedule goes on. A time the clock skips that
  day (daylight saving starts) runs at the first minute after the jump; a time
  the clock shows twice (it ends) runs once, the first time. Missed days are
  not made up one by one: if the time passed while the machine was suspended,
  the clock moved or a run lasted past it, it runs once on noticing, then at
  the next HH:MM. The clock is read at least every minute. Names of zones
  (TZ=Europe/Paris) need the tz database (/usr/share/zoneinfo, tzdata).

Exit status: 0 done (also when there was nothing to do), or --daily-at stopped
by a signal or --watch-pid; 1 the database could not be opened, a folder is
missing, or some file could not be removed (the summary is printed anyway);
2 invalid flags.";

impl Config {
    pub fn retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.storage.retention_days))
    }

    pub fn log_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.log_retention_days) * 86_400)
    }

    pub fn upload_retention(&self) -> Duration {
        Duration::from_secs(u64::from(self.storage.retention_days) * 86_400)
    }

    pub fn batch_pause(&self) -> Duration {
        Duration::from_millis(self.batch_pause_ms)
    }

    /// The time of `--daily-at`, `None` without the flag. A bare
    /// `--daily-at` takes `cleanup_at` (the value of CLEANUP_AT), else 02:00.
    pub fn daily_at(&self, cleanup_at: Option<&str>) -> Result<Option<DailyAt>, String> {
        match self.daily_at {
            None => Ok(None),
            Some(Some(at)) => Ok(Some(at)),
            Some(None) => {
                let v = cleanup_at.unwrap_or(DAILY_AT_DEFAULT);
                v.parse().map(Some).map_err(|e: String| {
                    format!("invalid value '{v}' of {DAILY_AT_ENV} for a bare '--daily-at': {e}")
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_server() {
        let env = [
            "UPLOAD_DIR",
            "RETENTION_DAYS",
            "LOG_RETENTION_DAYS",
            "CLEANUP_BATCH_SIZE",
            "CLEANUP_DRY_RUN",
        ];
        if env.iter().any(|v| std::env::var_os(v).is_some()) {
            return; // the environment overrides the defaults
        }
        let c = Config::try_parse_from(["chat-cleanup"]).unwrap();
        assert_eq!(c.storage.upload_dir, std::path::PathBuf::from("uploads"));
        assert_eq!(c.storage.retention_days, 7);
        assert_eq!(c.log_retention_days, 30);
        assert_eq!(c.batch_size, 500);
        assert!(!c.dry_run);
    }

    #[test]
    fn daily_at_flag_value_env_and_default() {
        let parse = |args: &[&str]| Config::try_parse_from([&["chat-cleanup"], args].concat());
        let two = DailyAt::new(2, 0).unwrap();
        let c = parse(&[]).unwrap();
        assert_eq!(
            c.daily_at(Some("03:15")),
            Ok(None),
            "CLEANUP_AT alone is no schedule"
        );
        let c = parse(&["--daily-at", "04:05"]).unwrap();
        assert_eq!(c.daily_at(Some("03:15")), Ok(DailyAt::new(4, 5)));
        let c = parse(&["--daily-at=4:05", "--dry-run"]).unwrap();
        assert_eq!(c.daily_at(None), Ok(DailyAt::new(4, 5)));
        assert!(c.dry_run);
        let c = parse(&["--daily-at", "--dry-run"]).unwrap();
        assert!(c.dry_run);
        assert_eq!(c.daily_at(Some("03:15")), Ok(DailyAt::new(3, 15)));
        assert_eq!(c.daily_at(None), Ok(Some(two)));
        let e = c.daily_at(Some("off")).unwrap_err();
        assert!(e.contains("CLEANUP_AT") && e.contains("HH:MM"), "{e}");
        for bad in ["24:00", "2:5", "12:60", "abc", "", "02:00:00"] {
            let e = parse(&["--daily-at", bad]).expect_err(bad);
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            assert!(e.to_string().contains("HH:MM"), "{e}");
        }
        assert!(
            parse(&["--next-run"]).is_err(),
            "--next-run needs --daily-at"
        );
        assert!(
            parse(&["--watch-pid", "1"]).is_err(),
            "--watch-pid needs --daily-at"
        );
        assert!(parse(&["--daily-at", "02:00", "--watch-pid", "0"]).is_err());
        let c = parse(&["--daily-at", "02:00", "--watch-pid", "42", "--next-run"]).unwrap();
        assert_eq!((c.watch_pid, c.next_run), (Some(42), true));
    }

    #[test]
    fn zero_days_is_refused() {
        assert!(Config::try_parse_from(["chat-cleanup", "--retention-days", "0"]).is_err());
        assert!(Config::try_parse_from(["chat-cleanup", "--batch-size", "0"]).is_err());
    }
}
