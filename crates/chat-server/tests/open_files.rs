//! At start the server raises its open-files limit from the soft to the hard
//! one (every socket is a descriptor), and logs both.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The soft and hard "Max open files" of a live process.
fn open_files_limits(pid: u32) -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    Some((numbers.next()?, numbers.next()?))
}

#[test]
fn the_open_files_limit_is_raised_to_the_hard_limit_at_start() {
    let dir = tempfile::tempdir().expect("a temp folder");
    let log = dir.path().join("server.log");
    // Started with a low soft limit, as a default shell gives (1,024 or less).
    let mut server = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--host", "127.0.0.1", "--port", "0", "--bcrypt-cost", "4"])
        .arg("--database-url")
        .arg(dir.path().join("chat.db"))
        .arg("--upload-dir")
        .arg(dir.path().join("uploads"))
        .stdout(Stdio::from(
            std::fs::File::create(&log).expect("a log file"),
        ))
        .stderr(Stdio::null())
        .spawn()
        .expect("start chat-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    while Instant::now() < deadline {
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        if logged.contains("open files limit") {
            seen = open_files_limits(server.id());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.kill();
    let _ = server.wait();
    let (soft, hard) = seen.expect("the server logged its open files limit");
    assert!(
        hard > 256,
        "this machine's hard limit ({hard}) leaves nothing to raise"
    );
    assert_eq!(soft, hard, "the soft limit is raised to the hard one");
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("was=256"),
        "the old soft limit is logged: {logged}"
    );
}
