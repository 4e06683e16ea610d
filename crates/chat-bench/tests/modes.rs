//! chat-bench against the real server: a tiny profile of each mode, checked
//! through the JSON line the run prints on stdout; the refusals; then
//! `chat-bench report` over such a line recorded as scripts/bench.sh records
//! it. (The report's tables and verdicts are unit tests of src/report_doc.rs.)
//!
//! The load generator is the real binary (`CARGO_BIN_EXE_chat-bench`), run as
//! a child process with `--url`. The server is chat-server's app in-process
//! on 127.0.0.1:0 over a fresh SQLite file, served on the test's own
//! current-thread runtime: every other suite runs the server multi-threaded,
//! this one single-threaded (as the saturation profile of scripts/bench.sh
//! runs it with `--worker-threads 1`), so that both runtimes carry real
//! traffic. A child process never blocks that runtime: it is awaited through
//! tokio::process. `--server-pid` is the test process itself, which holds the
//! server: its RSS and CPU are the server's plus the harness's.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Duration;

use clap::Parser;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Any one run of these tiny profiles ends well within this.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// chat-server's app, served in-process on an ephemeral port of 127.0.0.1.
struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// A fresh SQLite file, bcrypt at cost 4, and the per-address limits
    /// (docs/PROTOCOL.md §6.5) lifted: the load generator registers its users
    /// from one address and logs them in again.
    async fn start() -> Server {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let port = addr.port().to_string();
        let config = chat_server::Config::try_parse_from([
            "chat-server",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--database-url",
            &path("chat_app.db"),
            "--upload-dir",
            &path("uploads"),
            "--web-dir",
            &path("web"),
            "--bcrypt-cost",
            "4",
            "--register-limit",
            "0",
            "--login-failures-per-address",
            "0",
        ])
        .expect("the server's flags parse");
        let app = chat_server::build(config)
            .await
            .expect("the app builds on a fresh database");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(chat_server::serve(listener, app, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `chat-bench ARGS --url URL --server-pid PID --label test-NAME`.
    /// Runs `chat-bench ARGS` (one line, split at blanks) against this server.
    async fn bench(&self, name: &str, args: &str) -> Run {
        let (url, pid) = (self.url(), std::process::id().to_string());
        let label = format!("test-{name}");
        let mut all: Vec<&str> = args.split_whitespace().collect();
        all.extend(["--url", &url, "--server-pid", &pid, "--label", &label]);
        run_bench(&all).await
    }

    /// Stops serving: sockets are closed, requests finish.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.task.take().unwrap())
            .await
            .expect("the server stops within 10 s")
            .expect("the server task does not panic")
            .expect("the server stops without an I/O error");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One chat-bench run: its exit status, the JSON line (as printed and
/// parsed), the summary.
struct Run {
    status: ExitStatus,
    line: String,
    json: Value,
    stderr: String,
}

impl Run {
    /// The unsigned integer under `key`.
    #[track_caller]
    fn n(&self, key: &str) -> u64 {
        self.json[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} is a count: {}", self.json))
    }

    /// The number under `key`.
    #[track_caller]
    fn f(&self, key: &str) -> f64 {
        self.json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is a number: {}", self.json))
    }

    /// Exit 0 and `"ok": true`.
    #[track_caller]
    fn assert_ok(&self) {
        assert!(
            self.status.success(),
            "chat-bench exits 0, not {}; stderr:\n{}",
            self.status,
            self.stderr
        );
        assert_eq!(self.json["ok"], true, "{}", self.json);
        assert!(self.json.get("error").is_none(), "{}", self.json);
    }

    /// A non-zero exit, `"ok": false` and an error that mentions `what`.
    #[track_caller]
    fn assert_refused(&self, what: &str) {
        assert!(
            !self.status.success(),
            "chat-bench fails; stderr:\n{}",
            self.stderr
        );
        assert_eq!(self.json["ok"], false, "{}", self.json);
        let error = self.json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("an error sentence: {}", self.json));
        assert!(error.contains(what), "the error mentions {what:?}: {error}");
    }

    /// `field` holds the percentiles in milliseconds: count, p50, p90, p99, max.
    #[track_caller]
    fn assert_percentiles(&self, field: &str) {
        let p = &self.json[field];
        assert!(
            p["count"].as_u64().is_some_and(|c| c > 0),
            "{field}.count: {p}"
        );
        for q in ["p50", "p90", "p99", "max"] {
            assert!(
                p[q].as_f64().is_some_and(|ms| ms >= 0.0),
                "{field}.{q}: {p}"
            );
        }
        assert!(p["p50"].as_f64() <= p["max"].as_f64(), "{field}: {p}");
    }

    /// `--server-pid` was read: the process's RSS and its CPU time.
    #[track_caller]
    fn assert_server_usage(&self) {
        let s = &self.json["server"];
        assert_eq!(s["pid"], std::process::id(), "{s}");
        for kb in ["rss_kb_before", "rss_kb_after"] {
            assert!(s[kb].as_u64().is_some_and(|kb| kb > 0), "{kb}: {s}");
        }
        assert!(s["cpu_s"].as_f64().is_some_and(|c| c >= 0.0), "cpu_s: {s}");
    }
}

/// Runs the binary with exactly these arguments and parses its last JSON line.
async fn run_bench(args: &[&str]) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-bench"));
    cmd.args(args).env_remove("CHAT_URL").kill_on_drop(true);
    let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("chat-bench {args:?} ends within {RUN_LIMIT:?}"))
        .expect("run chat-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = stdout
        .lines()
        .rfind(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("chat-bench {args:?} prints a JSON line; stderr:\n{stderr}"));
    let json = serde_json::from_str(line).unwrap_or_else(|e| panic!("JSON line {line}: {e}"));
    Run {
        status: out.status,
        line: line.to_owned(),
        json,
        stderr,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn chat_delivers_every_acked_message_to_every_socket() {
    let server = Server::start().await;
    let chat = server
        .bench(
            "chat",
            "chat --sockets 10 --senders 3 --rate 1 --warmup 1 --duration 3 --user-prefix tchat",
        )
        .await;
    chat.assert_ok();
    for field in [
        "sent",
        "acked",
        "refused",
        "delivered",
        "expected",
        "lost",
        "deliveries_per_s",
        "latency_ms",
        "ack_ms",
        "connect_errors",
        "server",
    ] {
        assert!(chat.json.get(field).is_some(), "{field}: {}", chat.json);
    }
    for field in ["latency_ms", "ack_ms", "connect_ms"] {
        chat.assert_percentiles(field);
    }
    // Three senders at 1 message/s for 3 s, every one acknowledged.
    assert!(chat.n("sent") >= 9, "{}", chat.json);
    assert_eq!(chat.n("acked"), chat.n("sent"), "{}", chat.json);
    assert_eq!(chat.n("refused"), 0, "{}", chat.json);
    // Each acked message reaches all 10 sockets, the sender's own included.
    assert_eq!(chat.n("expected"), chat.n("acked") * 10, "{}", chat.json);
    assert_eq!(chat.n("delivered"), chat.n("expected"), "{}", chat.json);
    assert_eq!(chat.n("lost"), 0, "{}", chat.json);
    assert_eq!(chat.n("connected"), 10, "{}", chat.json);
    assert_eq!(chat.n("connect_errors"), 0, "{}", chat.json);
    chat.assert_server_usage();
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_rerun_logs_the_existing_users_in() {
    let server = Server::start().await;
    let chat = "chat --sockets 4 --senders 2 --warmup 0 --duration 1 --user-prefix tchat";
    server.bench("chat", chat).await.assert_ok();
    // The same names again: 409 on register, then a login.
    let rerun = server.bench("chat-rerun", chat).await;
    rerun.assert_ok();
    assert_eq!(rerun.n("connected"), 4, "{}", rerun.json);
    assert_eq!(rerun.n("lost"), 0, "{}", rerun.json);
    assert_eq!(rerun.n("delivered"), rerun.n("expected"), "{}", rerun.json);
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn join_settles_with_every_socket() {
    let server = Server::start().await;
    let join = server
        .bench("join", "join --sockets 20 --user-prefix tjoin")
        .await;
    join.assert_ok();
    assert_eq!(join.n("connected"), 20, "{}", join.json);
    // Every socket ends up holding `online_users` with all 20.
    assert_eq!(join.n("settled"), 20, "{}", join.json);
    assert!(join.f("settle_ms") > 0.0, "{}", join.json);
    join.assert_percentiles("connect_ms");
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_reconnect_storm_connects_everyone_at_once_and_catches_up() {
    let server = Server::start().await;
    let storm = server
        .bench(
            "storm",
            "join --sockets 20 --connect-concurrency 20 --catch-up --user-prefix tstorm",
        )
        .await;
    storm.assert_ok();
    assert_eq!(storm.n("connected"), 20, "{}", storm.json);
    assert_eq!(storm.n("settled"), 20, "{}", storm.json);
    // Every user's history request was answered.
    assert_eq!(storm.n("catch_up_errors"), 0, "{}", storm.json);
    assert!(storm.f("catch_up_ms") > 0.0, "{}", storm.json);
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn idle_holds_its_sockets_and_measures_memory() {
    let server = Server::start().await;
    let idle = server
        .bench("idle", "idle --sockets 20 --duration 2 --user-prefix tidle")
        .await;
    idle.assert_ok();
    assert_eq!(idle.n("connected"), 20, "{}", idle.json);
    assert_eq!(idle.n("disconnects"), 0, "{}", idle.json);
    assert_eq!(idle.n("connect_errors"), 0, "{}", idle.json);
    // Bytes per socket may come out negative (the allocator gave memory back).
    assert!(
        idle.json["server_bytes_per_socket"].is_number(),
        "{}",
        idle.json
    );
    idle.assert_server_usage();
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn idle_opens_second_tabs_of_fewer_users() {
    let server = Server::start().await;
    let tabs = server
        .bench(
            "idle-tabs",
            "idle --sockets 20 --users 5 --duration 1 --user-prefix ttabs",
        )
        .await;
    tabs.assert_ok();
    assert_eq!(tabs.n("users"), 5, "{}", tabs.json);
    assert_eq!(tabs.n("connected"), 20, "{}", tabs.json);
    assert_eq!(tabs.n("settled"), 20, "{}", tabs.json);
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn login_storm_logs_every_user_in() {
    let server = Server::start().await;
    let login = server
        .bench(
            "login",
            "login --logins 5 --concurrency 2 --user-prefix tlogin",
        )
        .await;
    login.assert_ok();
    assert_eq!(login.n("logins"), 5, "{}", login.json);
    assert_eq!(login.n("login_errors"), 0, "{}", login.json);
    assert!(login.f("logins_per_s") > 0.0, "{}", login.json);
    login.assert_percentiles("login_ms");
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_non_loopback_target_is_refused() {
    // 192.0.2.1 (TEST-NET-1) is never contacted: the address alone is refused.
    let remote = run_bench(&["join", "--url", "http://192.0.2.1:5000", "--sockets", "1"]).await;
    remote.assert_refused("loopback");
}

#[tokio::test(flavor = "current_thread")]
async fn a_rate_over_the_flood_limit_is_refused() {
    let server = Server::start().await;
    let flood = run_bench(&["chat", "--url", &server.url(), "--rate", "5"]).await;
    flood.assert_refused("flood");
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_wrong_password_is_reported_not_waited_for() {
    let server = Server::start().await;
    let join = "join --sockets 2 --user-prefix tjoin";
    server.bench("join", join).await.assert_ok();
    // The names exist now: register answers 409, the login 401.
    let url = server.url();
    let mut args: Vec<&str> = join.split_whitespace().collect();
    args.extend(["--url", &url, "--password", "wrong-password"]);
    let bad = run_bench(&args).await;
    bad.assert_refused("401");
    server.stop().await;
}

#[tokio::test(flavor = "current_thread")]
async fn report_writes_a_page_from_a_recorded_chat_run() {
    let server = Server::start().await;
    let chat = server
        .bench(
            "chat",
            "chat --sockets 4 --senders 3 --rate 1 --warmup 0 --duration 1 --user-prefix treport",
        )
        .await;
    chat.assert_ok();
    server.stop().await;

    // The line as scripts/bench.sh records it: the run's own text, tagged.
    let out = tempfile::tempdir().unwrap();
    let tagged = format!(
        "{},\"backend\":\"sqlite\",\"profile\":\"chat-100\",\"commit\":\"test\"}}\n",
        chat.line.strip_suffix('}').expect("a JSON object")
    );
    let results = out.path().join("results.jsonl");
    let doc = out.path().join("BENCHMARKS.md");
    std::fs::write(&results, tagged).unwrap();
    let report = run_bench_plain(&[
        "report",
        "--results",
        path_str(&results),
        "--doc",
        path_str(&doc),
    ]);
    assert!(report.status.success(), "chat-bench report: {report:?}");
    let page = std::fs::read_to_string(&doc).expect("the page is written");
    // The profile's table, a row of 3 senders at 1.0 message/s each, and
    // the run itself, key order kept, among the recorded runs.
    for (what, found) in [
        (
            "the chat-100 section",
            page.lines().any(|l| l.starts_with("### chat-100: ")),
        ),
        (
            "the sqlite row",
            page.lines().any(|l| l.starts_with("| sqlite | 3 | 1.0 | ")),
        ),
        (
            "the recorded run",
            page.lines()
                .any(|l| l.starts_with(r#"{"mode": "chat", "label": "test-chat", "#)),
        ),
    ] {
        assert!(found, "the page has {what}:\n{page}");
    }
}

#[test]
fn help_documents_the_modes_and_flags() {
    let help = |args: &[&str]| {
        let out = run_bench_plain(args);
        assert!(out.status.success(), "chat-bench {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    for mode in ["chat", "join", "idle", "login", "report"] {
        assert!(top.contains(mode), "--help names {mode}:\n{top}");
    }
    let chat = help(&["chat", "--help"]);
    for flag in ["--allow-remote", "--url", "--server-pid", "--rate"] {
        assert!(chat.contains(flag), "chat --help documents {flag}:\n{chat}");
    }
    let report = help(&["report", "--help"]);
    assert!(report.contains("--results"), "report --help:\n{report}");
}

/// Runs the binary to the end, outside any runtime (report, --help).
fn run_bench_plain(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chat-bench"))
        .args(args)
        .output()
        .expect("run chat-bench")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}
