//! Command-line flags, each also read from an environment variable, with the
//! defaults of the Flask deployment.

use std::path::PathBuf;

use chat_domain::StorageArgs;
use clap::Parser;

use crate::security::CspMode;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "chat-server",
    version,
    about = "The chat room server: HTTP API, Socket.IO and the page",
    after_help = "`chat-server healthcheck [--port PORT]` exits 0 when the local server's /healthz answers 200 (the container's health check)."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: String,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// The database, folders and retention the cleanup takes too. An
    /// existing Flask chat_app.db is adopted in place; a missing upload
    /// folder is created.
    #[command(flatten)]
    pub storage: StorageArgs,

    /// Connections in the database pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,

    /// Folder of the page; when it is missing the page built into the binary is served.
    #[arg(long, env = "WEB_DIR", default_value = "web")]
    pub web_dir: PathBuf,

    /// Origins, besides the server's own host, whose pages may open sockets
    /// (comma-separated, e.g. https://chat.example.com).
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// bcrypt work factor for new password hashes (4 to 31).
    #[arg(long, env = "BCRYPT_COST", default_value_t = 12, value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// A login lasts this many days after the last visit.
    #[arg(long, env = "SESSION_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_days: u32,

    /// Largest accepted image upload, in MiB.
    #[arg(long, env = "MAX_UPLOAD_MB", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_upload_mb: u64,

    /// Join a cluster of nodes sharing this Redis (and one PostgreSQL
    /// database): broadcasts, presence and limits then span every node.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// Packets a socket may have waiting to be written. A socket whose queue
    /// overflows has missed a packet and is disconnected, to resync.
    #[arg(long, env = "SEND_QUEUE_PACKETS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(4..))]
    pub send_queue_packets: u32,

    /// Behind a reverse proxy (nginx): take the client's address from the
    /// proxy's X-Real-IP (or the last X-Forwarded-For entry), for the login
    /// lockout. Only set it when every request comes through that proxy.
    #[arg(long, env = "BEHIND_PROXY", default_value_t = false)]
    pub behind_proxy: bool,

    /// Threads running sockets and requests (default: one per core). 1 runs
    /// them on a single-threaded runtime, which leaves the other cores to
    /// whatever shares the machine; bcrypt and database calls always run on
    /// the blocking pool.
    #[arg(long, env = "WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,

    /// Hand memory freed by sockets coming and going back to the system
    /// (glibc's malloc_trim, as bursts of them go and now and then under
    /// churn); false leaves it to the allocator, which keeps it for reuse.
    #[arg(long, env = "MEMORY_TRIM", default_value_t = true, action = clap::ArgAction::Set)]
    pub memory_trim: bool,

    /// Mark the session cookie Secure (serve over HTTPS, e.g. behind a proxy).
    #[arg(long, env = "SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Content-Security-Policy of the page: auto (strict when the served
    /// index.html carries <meta name="chat-csp" content="strict">, compat
    /// otherwise), strict, compat (also inline and https: scripts, styles,
    /// fonts and images, for a Flask-era page) or off.
    #[arg(long, env = "CSP", value_enum, default_value_t = CspMode::Auto)]
    pub csp: CspMode,

    /// Admins (comma-separated, exact usernames): they may delete any
    /// message at any time; `is_admin` in the user object says who they are.
    #[arg(long, env = "ADMIN_USERS", value_delimiter = ',')]
    pub admin_users: Vec<String>,

    /// Seconds after sending during which the author may recall (delete)
    /// their own message.
    #[arg(long, env = "RECALL_SECONDS", default_value_t = 120)]
    pub recall_seconds: u32,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// `chat-server healthcheck`: the container's health check (no curl in the
/// image). Exit 0 when http://HOST:PORT/healthz answers 200 within
/// `--timeout-s` seconds, 1 otherwise. PORT is the server's own variable; the
/// host is not HOST (0.0.0.0 in the image) but the loopback address.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "chat-server healthcheck",
    about = "Exit 0 when the local server's /healthz answers 200"
)]
pub struct HealthcheckArgs {
    /// Port of the server to check.
    #[arg(long, env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// Address of the server to check.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Seconds the whole check may take.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout_s: u64,
}

/// What one address or one user may take (docs/PROTOCOL.md, "Limits").
/// Each is lifted with 0. Only accepted actions count; windows slide; with
/// Redis the counts span every node.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// New accounts per client address in any 10 minutes.
    #[arg(long, env = "REGISTER_LIMIT", default_value_t = 20)]
    pub register_limit: u64,

    /// Failed logins per client address, over all names, in any 10 minutes.
    #[arg(long, env = "LOGIN_FAILURES_PER_ADDRESS", default_value_t = 50)]
    pub login_failures_per_address: u64,

    /// Uploads per user in any minute.
    #[arg(long, env = "UPLOAD_LIMIT", default_value_t = 20)]
    pub upload_limit: u64,

    /// Megabytes (MiB) uploaded per user in any 24 hours.
    #[arg(long, env = "UPLOAD_QUOTA_MB", default_value_t = 500)]
    pub upload_quota_mb: u64,

    /// Below this many free megabytes (MiB) on the upload folder's file
    /// system, uploads answer 507 (the database may share that disk).
    #[arg(long, env = "MIN_FREE_MB", default_value_t = 100)]
    pub min_free_mb: u64,

    /// Socket.IO connections (tabs) one user holds at once.
    #[arg(long, env = "SOCKETS_PER_USER", default_value_t = 20)]
    pub sockets_per_user: u64,
}

/// How long a connection may take (docs/PROTOCOL.md, "Limits"); 0 lifts each.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Seconds a connection has to send its request headers, else it is closed.
    #[arg(long, env = "HEADER_TIMEOUT_S", default_value_t = 10)]
    pub header_timeout_s: u64,

    /// Seconds an idle keep-alive connection is kept between requests
    /// (longer than a proxy's usual 60 s).
    #[arg(long, env = "IDLE_TIMEOUT_S", default_value_t = 75)]
    pub idle_timeout_s: u64,

    /// Connections the kernel may hold completed before the server accepts
    /// them (capped by net.core.somaxconn). Past it, new connections are
    /// dropped and their clients retry a second later: when every page
    /// reconnects at once after a restart, keep it above the number of pages.
    #[arg(long, env = "LISTEN_BACKLOG", default_value_t = DEFAULT_LISTEN_BACKLOG, value_parser = clap::value_parser!(u32).range(1..))]
    pub listen_backlog: u32,
}

/// `--listen-backlog`'s default (the benchmarks' bare server listens with it too).
pub const DEFAULT_LISTEN_BACKLOG: u32 = 4096;

impl Config {
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mb * 1024 * 1024
    }

    /// Whether `username` is one of `--admin-users` (exact names).
    pub fn is_admin(&self, username: &str) -> bool {
        self.admin_users
            .iter()
            .any(|a| !a.trim().is_empty() && a.trim() == username)
    }

    /// The author's recall window.
    pub fn recall_window(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.recall_seconds))
    }

    /// Allowed origins normalised for comparison (no trailing slash, lower case).
    pub fn normalized_origins(&self) -> Vec<String> {
        self.allowed_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_flask_deployment() {
        let c = Config::try_parse_from(["chat-server"]).unwrap();
        assert_eq!(c.port, 5000);
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.storage.database_url, "chat_app.db");
        assert_eq!(c.storage.upload_dir, PathBuf::from("uploads"));
        assert_eq!(c.bcrypt_cost, 12);
        assert_eq!(c.storage.retention_days, 7);
        assert_eq!(c.session_days, 7);
        assert_eq!(c.max_upload_bytes(), 5_242_880);
        let l = &c.limits;
        assert_eq!(
            (
                l.register_limit,
                l.login_failures_per_address,
                l.upload_limit
            ),
            (20, 50, 20)
        );
        assert_eq!(
            (l.upload_quota_mb, l.min_free_mb, l.sockets_per_user),
            (500, 100, 20)
        );
        let t = &c.connections;
        assert_eq!((t.header_timeout_s, t.idle_timeout_s), (10, 75));
    }

    #[test]
    fn healthcheck_takes_port_from_the_flag() {
        let h =
            HealthcheckArgs::try_parse_from(["chat-server healthcheck", "--port", "5123"]).unwrap();
        assert_eq!(
            (h.port, h.host.as_str(), h.timeout_s),
            (5123, "127.0.0.1", 3)
        );
    }

    #[test]
    fn admins_are_exact_names_and_recall_defaults_to_two_minutes() {
        let c = Config::try_parse_from(["chat-server", "--admin-users", "Alice, bob,"]).unwrap();
        assert!(c.is_admin("Alice") && c.is_admin("bob"));
        assert!(!c.is_admin("alice") && !c.is_admin(""));
        assert_eq!(c.recall_seconds, 120);
        let none = Config::try_parse_from(["chat-server"]).unwrap();
        assert!(!none.is_admin("Alice"));
    }

    #[test]
    fn origins_are_a_comma_list() {
        let c = Config::try_parse_from([
            "chat-server",
            "--allowed-origins",
            "https://A.example/,http://b.example:8080",
        ])
        .unwrap();
        assert_eq!(
            c.normalized_origins(),
            ["https://a.example", "http://b.example:8080"]
        );
    }
}
