//! Command-line flags: one subcommand per mode, with the flags every mode shares.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use reqwest::Url;

use crate::error::BenchError;

/// The flood limit of the server (PROTOCOL.md §4): 20 accepted messages in the
/// last 10 seconds per user. Senders stay a little under it.
pub const MAX_RATE_PER_SENDER: f64 = 1.9;

#[derive(Debug, Parser)]
#[command(
    name = "chat-bench",
    version,
    about = "Load generator for the chat room server",
    long_about = "Load generator for the chat room server. It speaks the protocol as the \
browser does: registers (or, when the name is taken, logs in) N users over HTTP, then opens \
their Socket.IO connections over websocket (Engine.IO v4 / Socket.IO v5).\n\n\
Each run prints one JSON line on standard output (machine readable) and a readable \
summary on standard error, and stops by itself: every phase is bounded and a hard \
overall deadline ends the run whatever happens.\n\n\
Only loopback targets are accepted unless --allow-remote is given."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Run(Mode),
    /// Rewrite the tables of docs/BENCHMARKS.md (between its bench markers) from the
    /// runs scripts/bench.sh recorded: one table per profile, the saturation
    /// comparison with the bare server and the targets met or not.
    Report(crate::report_doc::ReportArgs),
    /// Sum a flat `perf report --no-children --sort dso,sym --stdio` (standard input)
    /// by owner (kernel, allocator, each crate family); print the top functions.
    PerfOwners,
}

#[derive(Debug, Subcommand)]
pub enum Mode {
    /// K of the N users send messages at R per second each; every socket measures the
    /// send-to-receive latency of every message, senders the acknowledgement time.
    Chat(ChatArgs),
    /// Hold N sockets open for a duration (answering pings); report connect times and,
    /// with --server-pid, the server's memory per socket.
    Idle(IdleArgs),
    /// N users connect one after another as fast as possible; time until every socket
    /// holds the final `online_users` with count N.
    Join(JoinArgs),
    /// Login storm: N logins over HTTP with bounded concurrency; logins/s and latency.
    Login(LoginArgs),
}

impl Mode {
    pub fn common(&self) -> &Common {
        match self {
            Mode::Chat(a) => &a.common,
            Mode::Idle(a) => &a.common,
            Mode::Join(a) => &a.common,
            Mode::Login(a) => &a.common,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mode::Chat(_) => "chat",
            Mode::Idle(_) => "idle",
            Mode::Join(_) => "join",
            Mode::Login(_) => "login",
        }
    }

    /// How long the run may take at most, whatever happens.
    pub fn hard_deadline(&self) -> Duration {
        let c = self.common();
        if let Some(s) = c.deadline {
            return Duration::from_secs_f64(s);
        }
        // Account set-up and connects scale with the number of users.
        let setup = 60.0 + c.sockets_or(self) as f64 * 0.02;
        let run = match self {
            Mode::Chat(a) => a.warmup + a.duration + a.drain + a.settle_timeout,
            Mode::Idle(a) => a.duration + a.settle_timeout,
            Mode::Join(a) => a.timeout,
            Mode::Login(a) => a.timeout,
        };
        Duration::from_secs_f64(setup * 2.0 + run + 30.0)
    }
}

#[derive(Debug, Args)]
pub struct Common {
    /// Base URL of the chat server (http:// only).
    #[arg(long, env = "CHAT_URL", default_value = "http://127.0.0.1:5000")]
    pub url: String,

    /// Allow a target that is not on this machine (loopback). Only point it at your own deployment.
    #[arg(long, default_value_t = false)]
    pub allow_remote: bool,

    /// Password of the benchmark users (6 to 72 bytes).
    #[arg(long, default_value = "bench-password")]
    pub password: String,

    /// Usernames are PREFIX0, PREFIX1, ...; existing ones are logged in instead of registered.
    #[arg(long, default_value = "bench")]
    pub user_prefix: String,

    /// Registrations/logins in flight at once while setting up the users.
    #[arg(long, default_value_t = 32)]
    pub http_concurrency: usize,

    /// Socket handshakes in flight at once while connecting (default: 1 for join,
    /// i.e. one after another, 64 for the other modes).
    #[arg(long)]
    pub connect_concurrency: Option<usize>,

    /// Server process id: report its RSS (VmRSS) and CPU time (utime+stime) from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Tokio worker threads of the load generator; 1 runs on a current-thread runtime.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,

    /// Hard overall deadline of the run in seconds (default: derived from the other limits).
    #[arg(long)]
    pub deadline: Option<f64>,

    /// A name for this run, copied into the JSON line (e.g. the profile name).
    #[arg(long, default_value = "")]
    pub label: String,
}

impl Common {
    fn sockets_or(&self, mode: &Mode) -> usize {
        match mode {
            Mode::Chat(a) => a.sockets,
            Mode::Idle(a) => a.sockets,
            Mode::Join(a) => a.sockets,
            Mode::Login(a) => a.logins,
        }
    }
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub common: Common,

    /// Sockets (one user each).
    #[arg(long, short = 'n', default_value_t = 100)]
    pub sockets: usize,

    /// How many of the users send messages.
    #[arg(long, short = 'k', default_value_t = 10)]
    pub senders: usize,

    /// Messages per second per sender (at most 1.9: the server refuses more than 20 per 10 s).
    #[arg(long, short = 'r', default_value_t = 1.0)]
    pub rate: f64,

    /// Seconds of measured sending, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Seconds of sending before measuring (latencies of those messages are not recorded).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,

    /// Seconds to wait after the last send for the remaining deliveries.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,

    /// Seconds to wait, after connecting, for the join announcements to settle.
    #[arg(long, default_value_t = 60.0)]
    pub settle_timeout: f64,
}

#[derive(Debug, Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub common: Common,

    /// Sockets to hold open.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub sockets: usize,

    /// Users the sockets belong to (default: one user per socket). With fewer users the
    /// extra sockets are second tabs, which the server announces to nobody.
    #[arg(long)]
    pub users: Option<usize>,

    /// Seconds to hold the sockets once they are all connected.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,

    /// Seconds to wait, after connecting, for the join announcements to settle.
    #[arg(long, default_value_t = 120.0)]
    pub settle_timeout: f64,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    #[command(flatten)]
    pub common: Common,

    /// Users (one socket each) that join.
    #[arg(long, short = 'n', default_value_t = 100)]
    pub sockets: usize,

    /// Seconds after which an unsettled join is reported as such.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,

    /// Once everyone has settled, every user asks for the history at once
    /// (`GET /api/messages?after_id=0&limit=50`), as reconnected pages catch
    /// up; the time until the last answer is `catch_up_ms`. chat-server only.
    #[arg(long)]
    pub catch_up: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub common: Common,

    /// Logins to perform (over as many users).
    #[arg(long, short = 'n', default_value_t = 50)]
    pub logins: usize,

    /// Logins in flight at once.
    #[arg(long, short = 'c', default_value_t = 16)]
    pub concurrency: usize,

    /// Seconds after which the storm is cut short.
    #[arg(long, default_value_t = 300.0)]
    pub timeout: f64,
}

/// The server to talk to, checked and resolved.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL of the HTTP API, without a trailing slash.
    pub http_base: String,
    /// Where the websocket handshake goes.
    pub ws_url: String,
    /// The address the sockets connect to.
    pub addr: SocketAddr,
}

impl Target {
    pub async fn resolve(common: &Common) -> Result<Target, BenchError> {
        let url = Url::parse(&common.url)
            .map_err(|e| BenchError::Config(format!("--url {}: {e}", common.url)))?;
        if url.scheme() != "http" {
            return Err(BenchError::Config(format!(
                "--url {}: only http:// is supported (no TLS in the load generator)",
                common.url
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| BenchError::Config(format!("--url {}: no host", common.url)))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let lookup_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
            .await
            .map_err(|e| BenchError::Config(format!("cannot resolve {host}: {e}")))?
            .collect();
        let addr = *addrs
            .first()
            .ok_or_else(|| BenchError::Config(format!("{host} resolves to no address")))?;
        if !common.allow_remote && !addrs.iter().all(|a| is_loopback(a.ip())) {
            return Err(BenchError::Config(format!(
                "{host} is not a loopback address: pass --allow-remote to load a server \
                 on another machine (only one you operate)"
            )));
        }
        let path = url.path().trim_end_matches('/');
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        Ok(Target {
            http_base: format!("http://{authority}{path}"),
            ws_url: format!("ws://{authority}{path}/socket.io/?EIO=4&transport=websocket"),
            addr,
        })
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Checks that do not need the network.
pub fn validate(mode: &Mode) -> Result<(), BenchError> {
    let c = mode.common();
    let pw = c.password.len();
    if !(6..=72).contains(&pw) {
        return Err(BenchError::Config(
            "--password must be 6 to 72 bytes".into(),
        ));
    }
    if c.http_concurrency == 0 || c.connect_concurrency == Some(0) || c.threads == 0 {
        return Err(BenchError::Config(
            "--http-concurrency, --connect-concurrency and --threads must be at least 1".into(),
        ));
    }
    let n = c.sockets_or(mode);
    let longest = format!("{}{}", c.user_prefix, n.saturating_sub(1));
    let chars = longest.chars().count();
    if c.user_prefix.chars().count() < 1
        || chars > 20
        || format!("{}0", c.user_prefix).chars().count() < 2
        || !c
            .user_prefix
            .chars()
            .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-')
    {
        return Err(BenchError::Config(format!(
            "--user-prefix {:?}: usernames must be 2 to 20 letters, digits, _ or - (the longest would be {longest:?})",
            c.user_prefix
        )));
    }
    if n == 0 {
        return Err(BenchError::Config("at least one user is needed".into()));
    }
    let positive = |name: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(BenchError::Config(format!(
                "{name} must be a non-negative number"
            )))
        }
    };
    match mode {
        Mode::Chat(a) => {
            positive("--duration", a.duration)?;
            positive("--warmup", a.warmup)?;
            positive("--drain", a.drain)?;
            positive("--settle-timeout", a.settle_timeout)?;
            if a.senders > a.sockets {
                return Err(BenchError::Config(
                    "--senders cannot exceed --sockets".into(),
                ));
            }
            if !(a.rate > 0.0 && a.rate <= MAX_RATE_PER_SENDER) {
                return Err(BenchError::Config(format!(
                    "--rate must be above 0 and at most {MAX_RATE_PER_SENDER} messages/s per sender \
                     (the server's flood limit is 20 messages per 10 s per user)"
                )));
            }
        }
        Mode::Idle(a) => {
            positive("--duration", a.duration)?;
            positive("--settle-timeout", a.settle_timeout)?;
            if let Some(u) = a.users {
                if u == 0 || u > a.sockets {
                    return Err(BenchError::Config(
                        "--users must be between 1 and --sockets".into(),
                    ));
                }
            }
        }
        Mode::Join(a) => positive("--timeout", a.timeout)?,
        Mode::Login(a) => {
            positive("--timeout", a.timeout)?;
            if a.concurrency == 0 {
                return Err(BenchError::Config(
                    "--concurrency must be at least 1".into(),
                ));
            }
        }
    }
    if let Some(d) = c.deadline {
        positive("--deadline", d)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(cli: Cli) -> Mode {
        match cli.command {
            Command::Run(m) => m,
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn report_and_perf_owners_are_subcommands() {
        let cli = Cli::try_parse_from(["chat-bench", "report", "--results", "r.jsonl", "--print"])
            .unwrap();
        match cli.command {
            Command::Report(a) => {
                assert_eq!(a.results, std::path::PathBuf::from("r.jsonl"));
                assert_eq!(a.doc, std::path::PathBuf::from("docs/BENCHMARKS.md"));
                assert!(a.print);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["chat-bench", "perf-owners"]).unwrap();
        assert!(matches!(cli.command, Command::PerfOwners));
        assert!(matches!(
            mode(Cli::try_parse_from(["chat-bench", "login"]).unwrap()),
            Mode::Login(_)
        ));
    }

    fn common(url: &str, allow_remote: bool) -> Common {
        let mut c = match Cli::try_parse_from(["chat-bench", "join", "--url", url])
            .unwrap()
            .command
        {
            Command::Run(Mode::Join(a)) => a.common,
            _ => unreachable!(),
        };
        c.allow_remote = allow_remote;
        c
    }

    #[tokio::test]
    async fn loopback_targets_only_by_default() {
        let t = Target::resolve(&common("http://127.0.0.1:5000", false))
            .await
            .unwrap();
        assert_eq!(
            t.ws_url,
            "ws://127.0.0.1:5000/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(t.http_base, "http://127.0.0.1:5000");
        assert!(Target::resolve(&common("http://[::1]:5000/", false))
            .await
            .is_ok());
        assert!(Target::resolve(&common("http://127.3.4.5:80/chat/", false))
            .await
            .is_ok());
        for remote in [
            "http://10.0.0.1:5000",
            "http://192.168.1.2",
            "http://8.8.8.8",
        ] {
            assert!(matches!(
                Target::resolve(&common(remote, false)).await,
                Err(BenchError::Config(_))
            ));
        }
        assert!(Target::resolve(&common("https://127.0.0.1", false))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn a_path_prefix_is_kept() {
        let t = Target::resolve(&common("http://127.0.0.1:8080/chat/", false))
            .await
            .unwrap();
        assert_eq!(t.http_base, "http://127.0.0.1:8080/chat");
        assert_eq!(
            t.ws_url,
            "ws://127.0.0.1:8080/chat/socket.io/?EIO=4&transport=websocket"
        );
    }

    #[test]
    fn the_flood_limit_is_respected() {
        let cli = Cli::try_parse_from(["chat-bench", "chat", "--rate", "2.5"]).unwrap();
        assert!(validate(&mode(cli)).is_err());
        let cli = Cli::try_parse_from(["chat-bench", "chat", "--rate", "1"]).unwrap();
        assert!(validate(&mode(cli)).is_ok());
        let cli = Cli::try_parse_from(["chat-bench", "chat", "-n", "5", "-k", "6"]).unwrap();
        assert!(validate(&mode(cli)).is_err());
    }

    #[test]
    fn usernames_stay_within_bounds() {
        let cli = Cli::try_parse_from(["chat-bench", "idle", "-n", "10000", "--user-prefix", "b"])
            .unwrap();
        assert!(validate(&mode(cli)).is_ok());
        let cli = Cli::try_parse_from([
            "chat-bench",
            "idle",
            "-n",
            "10000",
            "--user-prefix",
            "averyveryverylongname",
        ])
        .unwrap();
        assert!(validate(&mode(cli)).is_err());
        let cli = Cli::try_parse_from(["chat-bench", "idle", "--user-prefix", "a b"]).unwrap();
        assert!(validate(&mode(cli)).is_err());
    }
}
