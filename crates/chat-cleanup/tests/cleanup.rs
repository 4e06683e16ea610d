//! Runs the real `chat-cleanup` binary on seeded databases (SQLite and
//! PostgreSQL), upload folders and log folders of known ages.

mod common;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};

use chat_domain::messages::{self, MessageType, NewMessage, Page};
use chat_domain::{timestamps, users};
use chat_testkit::{on_both_backends, Backend, TestDatabase};
use chrono::NaiveDateTime;

const DAY: u64 = 86_400;

/// A file of `len` bytes last modified `age_days` ago.
fn file_aged(path: &Path, age_days: u64, len: usize) {
    fs::write(path, vec![b'x'; len]).unwrap();
    let t = SystemTime::now() - Duration::from_secs(age_days * DAY + 60);
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn days_ago(days: i64) -> NaiveDateTime {
    timestamps::now() - chrono::Duration::days(days) - chrono::Duration::minutes(1)
}

/// A database (chat-testkit's throwaway one: a SQLite file, or a PostgreSQL
/// database dropped afterwards), an upload folder and a log folder for one test.
struct World {
    dir: tempfile::TempDir,
    db_url: String,
    db: TestDatabase,
}

impl World {
    fn sqlite() -> Self {
        Self::new(TestDatabase::sqlite())
    }

    fn on(backend: Backend) -> Self {
        Self::new(TestDatabase::on(backend))
    }

    fn new(db: TestDatabase) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("uploads")).unwrap();
        fs::create_dir(dir.path().join("logs")).unwrap();
        World {
            dir,
            db_url: db.url().to_owned(),
            db,
        }
    }

    fn uploads(&self) -> PathBuf {
        self.dir.path().join("uploads")
    }

    fn logs(&self) -> PathBuf {
        self.dir.path().join("logs")
    }

    fn cleanup(&self, extra: &[&str]) -> Output {
        let mut cmd = common::cleanup_command();
        cmd.arg("--database-url")
            .arg(&self.db_url)
            .arg("--upload-dir")
            .arg(self.uploads())
            .arg("--log-dir")
            .arg(self.logs())
            .args(extra);
        cmd.output().unwrap()
    }

    /// The contents of every stored message, whatever its age.
    fn contents(&self) -> Vec<String> {
        let mut conn = self.db.conn().unwrap();
        let epoch = chrono::DateTime::UNIX_EPOCH.naive_utc();
        let mut all = messages::page(&mut conn, Page::Latest { limit: 10_000 }, epoch)
            .unwrap()
            .into_iter()
            .map(|m| m.content)
            .collect::<Vec<_>>();
        all.sort();
        all
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "chat-cleanup failed ({}):\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

/// The first number on the summary line starting with `key:`.
fn count(o: &Output, key: &str) -> u64 {
    let out = stdout(o);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key:?} line in:\n{out}"));
    line[key.len() + 1..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Counts of one run: messages, images, image bytes, orphans, log files.
fn counts(o: &Output) -> [u64; 5] {
    let images_line = stdout(o);
    let image_bytes = images_line
        .lines()
        .find(|l| l.starts_with("images:"))
        .and_then(|l| l.split('(').nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    [
        count(o, "messages"),
        count(o, "images"),
        image_bytes,
        count(o, "orphan uploads"),
        count(o, "log files"),
    ]
}

const OLD_TEXTS: [&str; 4] = ["old 1", "old 2", "old 3", "eight days old"];
const NEW_TEXTS: [&str; 3] = ["new 1", "new 2", "six days old"];

/// Seeds messages, uploads and logs; returns the files that must stay and
/// the ones that must go.
fn seed(w: &World) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut conn = w.db.conn().unwrap();
    let alice = users::create(
        &mut conn,
        "alice",
        "$2b$04$notarealhashnotarealhashnotarealhashnotarealhashnot",
    )
    .unwrap();
    let bob = users::create(
        &mut conn,
        "bob",
        "$2b$04$notarealhashnotarealhashnotarealhashnotarealhashnot",
    )
    .unwrap();
    let mut put = |user: &users::User, content: &str, kind: MessageType, days: i64| {
        messages::insert(
            &mut conn,
            NewMessage {
                user_id: user.id,
                username: user.username.clone(),
                content: content.to_owned(),
                message_type: kind,
                timestamp: days_ago(days),
            },
        )
        .unwrap();
    };
    for (i, t) in OLD_TEXTS.iter().enumerate() {
        put(
            &alice,
            t,
            MessageType::Text,
            if i == 3 { 8 } else { 10 + i as i64 },
        );
    }
    for (i, t) in NEW_TEXTS.iter().enumerate() {
        put(
            &bob,
            t,
            MessageType::Text,
            if i == 2 { 6 } else { i as i64 },
        );
    }
    put(&alice, "/uploads/old_only.png", MessageType::Image, 10);
    put(&alice, "/uploads/shared.png", MessageType::Image, 12);
    put(&bob, "/uploads/shared.png", MessageType::Image, 1);
    put(&alice, "/uploads/never_saved.png", MessageType::Image, 9);
    put(&alice, "/uploads/../secret.png", MessageType::Image, 9);
    put(&bob, "/uploads/new.png", MessageType::Image, 0);
    put(
        &bob,
        "/uploads/old_file_new_message.png",
        MessageType::Image,
        2,
    );
    put(&alice, "🙂", MessageType::Emoji, 30);
    drop(conn);

    let up = w.uploads();
    let logs = w.logs();
    let gone = vec![
        up.join("old_only.png"),
        up.join("orphan_old.png"),
        logs.join("chat-server.log.2020-01-01"),
        logs.join("chat-server.log"),
        logs.join("app.log.1.gz"),
    ];
    file_aged(&gone[0], 10, 1234);
    file_aged(&gone[1], 9, 77);
    for g in &gone[2..] {
        file_aged(g, 40, 10);
    }
    // The server's partial upload, left by a crash long ago: an orphan.
    let stale_part = up.join(".stale.png.part");
    file_aged(&stale_part, 8, 3);
    let mut gone = gone;
    gone.push(stale_part);
    let stay = vec![
        up.join("shared.png"),
        up.join("new.png"),
        up.join("old_file_new_message.png"),
        up.join("orphan_recent.png"),
        up.join(".gitkeep"),
        up.join(".uploading.png.part"),
        up.join("old_folder").join("inside.png"),
        w.dir.path().join("secret.png"),
        logs.join("chat-server.log.today"),
        logs.join("notes.txt"),
        logs.join("archive.log").join("deep.log"),
        w.dir.path().join("outside.log"),
    ];
    fs::create_dir(up.join("old_folder")).unwrap();
    fs::create_dir(logs.join("archive.log")).unwrap();
    for (s, age) in stay
        .iter()
        .zip([12, 0, 20, 1, 100, 0, 100, 100, 1, 100, 100, 100])
    {
        file_aged(s, age, 5);
    }
    std::os::unix::fs::symlink(w.dir.path().join("outside.log"), logs.join("link.log")).unwrap();
    std::os::unix::fs::symlink(w.dir.path().join("secret.png"), up.join("link.png")).unwrap();
    let stay_links = [logs.join("link.log"), up.join("link.png")];
    let mut stay = stay;
    stay.extend(stay_links);
    (stay, gone)
}

fn all_exist(paths: &[PathBuf]) {
    for p in paths {
        assert!(
            fs::symlink_metadata(p).is_ok(),
            "{} must still be there",
            p.display()
        );
    }
}

fn scenario(w: World) {
    let (stay, gone) = seed(&w);
    let before = w.contents();
    assert_eq!(before.len(), 15);

    // Expected: 4 old texts + 4 old images + 1 old emoji; 1 image file
    // (old_only.png, 1234 bytes); 2 orphans (one a stale .part); 3 log files.
    let expected = [9, 1, 1234, 2, 3];

    let dry = w.cleanup(&["--dry-run"]);
    assert_ok(&dry);
    assert!(stdout(&dry).starts_with("dry run:"), "{}", stdout(&dry));
    assert_eq!(counts(&dry), expected, "dry run:\n{}", stdout(&dry));
    assert_eq!(w.contents(), before, "a dry run removes no message");
    all_exist(&stay);
    all_exist(&gone);

    let real = w.cleanup(&["--batch-size", "2"]);
    assert_ok(&real);
    assert_eq!(
        counts(&real),
        expected,
        "run:\n{}\n{}",
        stdout(&real),
        stderr(&real)
    );
    assert_eq!(count(&real, "failed"), 0);

    let left = w.contents();
    let mut want: Vec<String> = NEW_TEXTS
        .iter()
        .map(|s| s.to_string())
        .chain(
            [
                "/uploads/shared.png",
                "/uploads/new.png",
                "/uploads/old_file_new_message.png",
            ]
            .map(String::from),
        )
        .collect();
    want.sort();
    assert_eq!(left, want);
    all_exist(&stay);
    for g in &gone {
        assert!(!g.exists(), "{} must be removed", g.display());
    }

    // Twice is harmless; the flags also come from the environment.
    let mut again = common::cleanup_command();
    let again = again
        .env("DATABASE_URL", &w.db_url)
        .env("UPLOAD_DIR", w.uploads())
        .env("LOG_DIR", w.logs())
        .env("CLEANUP_BATCH_SIZE", "1")
        .output()
        .unwrap();
    assert_ok(&again);
    assert_eq!(counts(&again), [0; 5], "second run:\n{}", stdout(&again));
    assert_eq!(w.contents(), want);
    all_exist(&stay);
}

on_both_backends! {
    fn removes_exactly_what_is_expired(backend: Backend) {
        scenario(World::on(backend));
    }
}

#[test]
fn retention_flags_move_the_cutoffs() {
    let w = World::sqlite();
    seed(&w);
    // Keep 15 days of messages and uploads, 200 days of logs: only the
    // 30-day-old emoji goes, no file at all (old_file_new_message.png, 20
    // days old, is still referenced).
    let o = w.cleanup(&["--retention-days", "15", "--log-retention-days", "200"]);
    assert_ok(&o);
    assert_eq!(counts(&o), [1, 0, 0, 0, 0], "{}", stdout(&o));
    // Without --log-dir, log files are not touched.
    let mut cmd = common::cleanup_command();
    let o = cmd
        .args(["--database-url", &w.db_url])
        .arg("--upload-dir")
        .arg(w.uploads())
        .output()
        .unwrap();
    assert_ok(&o);
    assert!(stdout(&o).contains("log files: 0 (no --log-dir given)"));
    assert!(w.logs().join("chat-server.log").exists());
}

#[test]
fn a_missing_sqlite_database_is_an_error_and_is_not_created() {
    let w = World::sqlite();
    let missing = w.dir.path().join("nope.db");
    for url in [
        missing.display().to_string(),
        format!("sqlite://{}", missing.display()),
    ] {
        let mut cmd = common::cleanup_command();
        let o = cmd
            .args(["--database-url", &url])
            .arg("--upload-dir")
            .arg(w.uploads())
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
        assert!(stdout(&o).is_empty());
        assert!(!missing.exists(), "the cleanup must not create a database");
    }
}

#[test]
fn an_unreachable_postgres_is_an_error() {
    let w = World::sqlite();
    let mut cmd = common::cleanup_command();
    let o = cmd
        .args([
            "--database-url",
            "postgres://nobody:secret@127.0.0.1:1/chat",
        ])
        .arg("--upload-dir")
        .arg(w.uploads())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("database"), "{err}");
    assert!(
        !err.contains("secret"),
        "the password must not be printed: {err}"
    );
}

#[test]
fn missing_folders_are_errors() {
    let w = World::sqlite();
    seed(&w);
    let before = w.contents();
    let missing = w.dir.path().join("no-such-folder");

    let mut cmd = common::cleanup_command();
    let o = cmd
        .args(["--database-url", &w.db_url])
        .arg("--upload-dir")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("upload folder"), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));

    let mut cmd = common::cleanup_command();
    let o = cmd
        .args(["--database-url", &w.db_url])
        .arg("--upload-dir")
        .arg(w.uploads())
        .arg("--log-dir")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("log folder"), "{}", stderr(&o));

    // Nothing was deleted before the folders were checked.
    assert_eq!(w.contents(), before);
}

#[test]
fn help_documents_every_flag() {
    let o = common::cleanup_command().arg("--help").output().unwrap();
    assert_ok(&o);
    let help = stdout(&o);
    for flag in [
        "--database-url",
        "DATABASE_URL",
        "--upload-dir",
        "UPLOAD_DIR",
        "--log-dir",
        "LOG_DIR",
        "--retention-days",
        "RETENTION_DAYS",
        "--log-retention-days",
        "LOG_RETENTION_DAYS",
        "--batch-size",
        "CLEANUP_BATCH_SIZE",
        "--dry-run",
        "*.log.*",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}

on_both_backends! {
    /// Deleted messages (PROTOCOL.md §6.7: the row keeps id, author, times)
    /// age out with the rest: an old one is removed, a recent one stays, and
    /// neither counts as an image.
    fn deleted_messages_age_out_with_the_rest(backend: Backend) {
        use chat_domain::deletion::{self, Deleter};
        let w = World::on(backend);
        let mut conn = w.db.conn().unwrap();
        let alice = users::create(
            &mut conn,
            "alice",
            "$2b$04$notarealhashnotarealhashnotarealhashnotarealhashnot",
        )
        .unwrap();
        let admin = Deleter { user_id: alice.id, is_admin: true };
        let mut store = |content: &str, kind, at| {
            let m = messages::insert(
                &mut conn,
                NewMessage {
                    user_id: alice.id,
                    username: "alice".into(),
                    content: content.into(),
                    message_type: kind,
                    timestamp: at,
                },
            )
            .unwrap();
            m.id
        };
        let old = store("/uploads/old.png", MessageType::Image, days_ago(8));
        let recent = store("recent", MessageType::Text, days_ago(1));
        store("kept", MessageType::Text, days_ago(1));
        let recall = chrono::Duration::seconds(120);
        for id in [old, recent] {
            deletion::delete(&mut conn, id, admin, timestamps::now(), recall).unwrap();
        }
        drop(conn);

        let out = w.cleanup(&[]);
        assert_ok(&out);
        assert_eq!(count(&out, "messages"), 1, "{}", stdout(&out));
        assert_eq!(count(&out, "images"), 0, "{}", stdout(&out));
        assert_eq!(w.contents(), vec!["kept".to_owned()]);
        let mut conn = w.db.conn().unwrap();
        let listed = deletion::deleted_since(&mut conn, None, days_ago(30)).unwrap();
        assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), vec![recent]);
    }
}
