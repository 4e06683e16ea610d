//! Runs the real `chat-cleanup --daily-at`: a scheduled run at the next
//! minute on a seeded SQLite database (the real sleep, about a minute), the
//! stop signals while asleep, `--watch-pid`, `--next-run` and bad times. The
//! calendar itself (zones, DST, missed days) is unit-tested in
//! `src/schedule.rs` with a simulated clock.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use chat_domain::messages::{self, MessageType, NewMessage, Page};
use chat_domain::{timestamps, users, Database, DbOptions};
use chrono::{Timelike, Utc};

fn cleanup() -> Command {
    let mut cmd = common::cleanup_command();
    cmd.env("RUST_LOG", "info").env("TZ", "UTC");
    cmd
}

/// A running scheduler, its output in files; killed if the test fails.
struct Scheduler {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Scheduler {
    fn start(mut cmd: Command, dir: &Path, name: &str) -> Self {
        let out = dir.join(format!("{name}.out"));
        let err = dir.join(format!("{name}.err"));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Scheduler { child, out, err }
    }

    fn stdout(&self) -> String {
        fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until the log contains `text`; panics after `secs`.
    fn wait_log(&mut self, text: &str, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        while !self.stderr().contains(text) {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("exited ({st}) before logging {text:?}:\n{}", self.stderr());
            }
            assert!(
                Instant::now() < end,
                "no {text:?} in the log within {secs}s:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: sends a signal to our own child.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// Its exit status within `secs`.
    fn exit_within(&mut self, secs: u64) -> ExitStatus {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < end,
                "still running {secs}s later:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SQLite database with two messages 10 days old and one of today.
fn seeded(dir: &Path) -> (String, Database) {
    let url = dir.join("chat_app.db").display().to_string();
    let db = Database::open(&url, &DbOptions::default()).unwrap();
    let mut conn = db.conn().unwrap();
    let alice = users::create(
        &mut conn,
        "alice",
        "$2b$04$notarealhashnotarealhashnotarealhashnotarealhashnot",
    )
    .unwrap();
    for (content, days) in [("old 1", 10), ("old 2", 12), ("today", 0)] {
        messages::insert(
            &mut conn,
            NewMessage {
                user_id: alice.id,
                username: alice.username.clone(),
                content: content.to_owned(),
                message_type: MessageType::Text,
                timestamp: timestamps::now()
                    - chrono::Duration::days(days)
                    - chrono::Duration::minutes(1),
            },
        )
        .unwrap();
    }
    (url, db)
}

fn contents(db: &Database) -> Vec<String> {
    let mut conn = db.conn().unwrap();
    let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
    let mut all: Vec<String> = messages::page(&mut conn, Page::Latest { limit: 100 }, epoch)
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    all.sort();
    all
}

/// UTC+8 all year: Asia/Shanghai from the tz database when it is there,
/// else the same offset as a POSIX rule.
fn tz_plus_8() -> &'static str {
    if Path::new("/usr/share/zoneinfo/Asia/Shanghai").is_file() {
        "Asia/Shanghai"
    } else {
        "<+08>-8"
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn runs_at_the_next_minute_keeps_going_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = seeded(dir.path());
    fs::create_dir(dir.path().join("uploads")).unwrap();
    assert_eq!(contents(&db), ["old 1", "old 2", "today"]);

    // The next whole minute on a UTC+8 clock (the one after, if it is
    // too close to start the program in time).
    let tz = tz_plus_8();
    let now = Utc::now() + chrono::Duration::hours(8);
    let ahead = if now.second() >= 50 { 2 } else { 1 };
    let when =
        now.with_second(0).unwrap().with_nanosecond(0).unwrap() + chrono::Duration::minutes(ahead);
    let at = when.format("%H:%M").to_string();
    let want_next = format!("{}+08:00", when.format("%Y-%m-%dT%H:%M:%S"));

    let mut cmd = cleanup();
    cmd.env("TZ", tz)
        .args(["--database-url", &url])
        .arg("--upload-dir")
        .arg(dir.path().join("uploads"))
        .args(["--daily-at", &at]);
    let o = cleanup()
        .env("TZ", tz)
        .args(["--database-url", &url, "--daily-at", &at, "--next-run"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), want_next);
    let mut good = Scheduler::start(cmd, dir.path(), "good");

    // A second scheduler whose runs fail (no upload folder): logged, and it goes on.
    let mut cmd = cleanup();
    cmd.env("TZ", tz)
        .args(["--database-url", &url])
        .arg("--upload-dir")
        .arg(dir.path().join("missing"))
        .args(["--daily-at", &at]);
    let mut bad = Scheduler::start(cmd, dir.path(), "bad");

    // A third whose run hangs: a "PostgreSQL" that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut cmd = cleanup();
    cmd.env("TZ", tz)
        .args([
            "--database-url",
            &format!("postgres://u@127.0.0.1:{port}/chat"),
        ])
        .arg("--upload-dir")
        .arg(dir.path().join("uploads"))
        .args(["--daily-at", &at]);
    let mut stuck = Scheduler::start(cmd, dir.path(), "stuck");

    good.wait_log(&format!("next={want_next}"), 10);
    assert!(
        good.stderr().contains(&format!("zone=TZ={tz}")),
        "{}",
        good.stderr()
    );
    assert_eq!(
        contents(&db),
        ["old 1", "old 2", "today"],
        "not before its time"
    );

    good.wait_log("daily cleanup finished", 140);
    let ran_at = Utc::now() + chrono::Duration::hours(8);
    assert!(
        ran_at >= when && ran_at < when + chrono::Duration::seconds(30),
        "ran at {ran_at}, due {when}"
    );
    assert_eq!(contents(&db), ["today"]);
    let out = good.stdout();
    assert!(out.starts_with("messages: 2 (removed"), "{out}");
    assert!(out.contains("\nfailed: 0"), "{out}");
    // The next run is tomorrow's, and it keeps running.
    let tomorrow = format!(
        "{}+08:00",
        (when + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%S")
    );
    assert!(
        good.stderr()
            .contains(&format!("daily cleanup finished next={tomorrow}")),
        "{}",
        good.stderr()
    );

    // SIGTERM in the middle of a run: exit 0 at once, the run abandoned.
    stuck.wait_log("daily cleanup starting", 30);
    let t = Instant::now();
    stuck.signal(libc::SIGTERM);
    let st = stuck.exit_within(5);
    assert!(st.success(), "{st}:\n{}", stuck.stderr());
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        stuck.stderr().contains("stopping during a run"),
        "{}",
        stuck.stderr()
    );
    drop(silent);

    bad.wait_log("daily cleanup failed", 30);
    assert!(bad.stderr().contains("does not exist"), "{}", bad.stderr());
    std::thread::sleep(Duration::from_millis(300));
    assert!(good.running() && bad.running());

    // SIGTERM while sleeping until tomorrow: exit 0, at once.
    for s in [&mut good, &mut bad] {
        s.signal(libc::SIGTERM);
        let st = s.exit_within(5);
        assert!(st.success(), "{st}:\n{}", s.stderr());
        assert!(s.stderr().contains("stopping"), "{}", s.stderr());
    }
}

#[test]
fn each_stop_signal_while_sleeping_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        let mut cmd = cleanup();
        cmd.args(["--daily-at", "02:00"]);
        let mut s = Scheduler::start(cmd, dir.path(), "sig");
        s.wait_log("daily cleanup scheduled", 10);
        let t = Instant::now();
        s.signal(sig);
        let st = s.exit_within(5);
        assert!(st.success(), "signal {sig}: {st}\n{}", s.stderr());
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}

#[test]
fn watch_pid_exits_0_once_the_process_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut watched = Command::new("sleep").arg("60").spawn().unwrap();
    let mut cmd = cleanup();
    cmd.args(["--daily-at", "02:00", "--watch-pid"])
        .arg(watched.id().to_string());
    let mut s = Scheduler::start(cmd, dir.path(), "watch");
    s.wait_log("daily cleanup scheduled", 10);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(s.running(), "it must wait while the process lives");
    watched.kill().unwrap();
    watched.wait().unwrap();
    let st = s.exit_within(5);
    assert!(st.success(), "{st}\n{}", s.stderr());
    assert!(s.stderr().contains("is gone"), "{}", s.stderr());
}

#[test]
fn next_run_follows_tz_and_cleanup_at() {
    let next = |tz: &str, args: &[&str], cleanup_at: Option<&str>| {
        let mut cmd = cleanup();
        cmd.env("TZ", tz).args(args).arg("--next-run");
        if let Some(v) = cleanup_at {
            cmd.env("CLEANUP_AT", v);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    let t = next("UTC", &["--daily-at", "02:00"], None);
    assert!(t.ends_with("T02:00:00+00:00"), "{t}");
    let t = next(tz_plus_8(), &["--daily-at", "2:05"], None);
    assert!(t.ends_with("T02:05:00+08:00"), "{t}");
    if Path::new("/usr/share/zoneinfo/America/New_York").is_file() {
        let t = next("America/New_York", &["--daily-at", "02:00"], None);
        assert!(
            t.ends_with("T02:00:00-05:00")
                || t.ends_with("T02:00:00-04:00")
                || t.ends_with("T03:00:00-04:00"),
            "{t}"
        );
    }
    // A bare --daily-at takes CLEANUP_AT, else 02:00; an explicit time wins.
    assert!(next("UTC", &["--daily-at"], Some("03:15")).ends_with("T03:15:00+00:00"));
    assert!(next("UTC", &["--daily-at"], None).ends_with("T02:00:00+00:00"));
    assert!(next("UTC", &["--daily-at", "04:00"], Some("03:15")).ends_with("T04:00:00+00:00"));
}

#[test]
fn bad_times_are_usage_errors() {
    for bad in ["24:00", "2:5", "12:60", "abc", "", "02:00:00", "off"] {
        let o = cleanup()
            .args(["--daily-at", bad, "--next-run"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("HH:MM") && err.contains("--daily-at"), "{err}");
        assert!(o.stdout.is_empty());
    }
    let o = cleanup()
        .env("CLEANUP_AT", "25:00")
        .args(["--daily-at", "--next-run"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("CLEANUP_AT"),
        "{}",
        text(&o)
    );
    let o = cleanup().arg("--next-run").output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "--next-run without --daily-at: {}",
        text(&o)
    );
}

#[test]
fn help_documents_the_schedule() {
    let o = cleanup().arg("--help").output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let help = String::from_utf8_lossy(&o.stdout);
    for s in [
        "--daily-at [<HH:MM>]",
        "CLEANUP_AT",
        "--next-run",
        "--watch-pid <PID>",
        "TZ",
        "Missed days",
        "tzdata",
    ] {
        assert!(help.contains(s), "--help lacks {s}:\n{help}");
    }
}

#[test]
fn cleanup_at_alone_is_a_single_run() {
    // The image sets CLEANUP_AT; `docker exec ... chat-cleanup` must still run once and exit.
    let dir = tempfile::tempdir().unwrap();
    let (url, db) = seeded(dir.path());
    fs::create_dir(dir.path().join("uploads")).unwrap();
    let mut cmd = cleanup();
    cmd.env("CLEANUP_AT", "02:00")
        .args(["--database-url", &url])
        .arg("--upload-dir")
        .arg(dir.path().join("uploads"));
    let mut s = Scheduler::start(cmd, dir.path(), "once");
    let st = s.exit_within(20);
    assert!(st.success(), "{st}\n{}", s.stderr());
    assert!(
        s.stdout().starts_with("messages: 2 (removed"),
        "{}",
        s.stdout()
    );
    assert_eq!(contents(&db), ["today"]);
}
