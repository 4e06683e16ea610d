//! What a run measured: one JSON line on stdout and a readable summary on stderr.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies in microseconds, from 1 µs to an hour, 3 significant digits.
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    pub fn new() -> Self {
        // The bounds are constants that hdrhistogram accepts.
        Latencies(
            Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .unwrap_or_else(|_| Histogram::new(3).expect("3 significant digits is valid")),
        )
    }

    pub fn record_us(&mut self, us: u64) {
        self.0.saturating_record(us.max(1));
    }

    pub fn record(&mut self, d: Duration) {
        self.record_us(d.as_micros().min(u128::from(u64::MAX)) as u64);
    }

    pub fn summary(&self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        let ms = |us: u64| (us as f64 / 1000.0 * 1000.0).round() / 1000.0;
        Some(Percentiles {
            count: self.0.len(),
            p50: ms(self.0.value_at_quantile(0.50)),
            p90: ms(self.0.value_at_quantile(0.90)),
            p99: ms(self.0.value_at_quantile(0.99)),
            max: ms(self.0.max()),
            mean: (self.0.mean() / 1000.0 * 1000.0).round() / 1000.0,
        })
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// One reading of the server process from /proc (Linux).
#[derive(Debug, Clone, Copy)]
pub struct ProcSample {
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// utime + stime, in seconds.
    pub cpu_s: f64,
}

impl ProcSample {
    pub fn read(pid: u32) -> Option<ProcSample> {
        Self::read_path(&format!("/proc/{pid}"))
    }

    pub fn own() -> Option<ProcSample> {
        Self::read_path("/proc/self")
    }

    fn read_path(dir: &str) -> Option<ProcSample> {
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        Some(ProcSample {
            rss_kb: status_kb(&status, "VmRSS:")?,
            hwm_kb: status_kb(&status, "VmHWM:").unwrap_or(0),
            cpu_s: stat_cpu_ticks(&stat)? as f64 / clock_ticks(),
        })
    }
}

fn status_kb(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime (fields 14 and 15 of /proc/PID/stat), after the command name.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The server's resources over the measured part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ServerUsage {
    pub pid: u32,
    pub rss_kb_before: u64,
    pub rss_kb_after: u64,
    pub rss_kb_peak: u64,
    /// CPU seconds (user + system) the server used over the measured window.
    pub cpu_s: f64,
    /// That CPU time over the window's wall time (100 = one core busy).
    pub cpu_pct: f64,
}

impl ServerUsage {
    pub fn between(pid: u32, before: ProcSample, after: ProcSample, wall: Duration) -> Self {
        let cpu_s = (after.cpu_s - before.cpu_s).max(0.0);
        let wall_s = wall.as_secs_f64();
        ServerUsage {
            pid,
            rss_kb_before: before.rss_kb,
            rss_kb_after: after.rss_kb,
            rss_kb_peak: after.hwm_kb,
            cpu_s: round3(cpu_s),
            cpu_pct: if wall_s > 0.0 {
                round3(cpu_s / wall_s * 100.0)
            } else {
                0.0
            },
        }
    }
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Everything a run reports. Fields a mode does not measure are left out.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub label: String,
    pub url: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub elapsed_s: f64,
    pub threads: usize,

    // Users and sockets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockets: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_errors: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_connect_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnects: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ms: Option<Percentiles>,
    /// Time from the first connect until the last socket connected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_all_ms: Option<f64>,
    /// Time from the first connect until every socket held `online_users` with the full count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_ms: Option<f64>,
    /// Sockets that held the full count at the end of the settle phase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled: Option<usize>,
    /// From the settle until every user's history request (`--catch-up`) was answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up_ms: Option<f64>,
    /// History requests that failed or were refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up_errors: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_users_events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_joined_events: Option<u64>,

    // Chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub senders: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acked: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unacked: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Percentiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_ms: Option<Percentiles>,

    // Login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logins: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_errors: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_login_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logins_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_ms: Option<Percentiles>,

    // Resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerUsage>,
    /// Server memory added per connected socket (idle), in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_bytes_per_socket: Option<f64>,
    /// CPU seconds the load generator itself used over the whole run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bench_cpu_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bench_rss_kb: Option<u64>,
    /// The machine's 1-minute load average when the run started: other work
    /// on the same cores shows here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loadavg_at_start: Option<f64>,
}

/// The 1-minute load average (Linux).
pub fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl Report {
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"ok":false,"error":"cannot serialise the report: {e}"}}"#)
        })
    }

    /// The readable summary.
    pub fn summary(&self) -> String {
        let mut out = Vec::new();
        let label = if self.label.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.label)
        };
        out.push(format!(
            "chat-bench {}{} against {}: {} in {:.1} s",
            self.mode,
            label,
            self.url,
            if self.ok { "ok" } else { "FAILED" },
            self.elapsed_s
        ));
        if let Some(e) = &self.error {
            out.push(format!("  error: {e}"));
        }
        let mut line = |name: &str, value: String| out.push(format!("  {name:<22} {value}"));
        if let (Some(s), Some(c)) = (self.sockets, self.connected) {
            line(
                "sockets",
                format!(
                    "{c}/{s} connected, {} connect errors, {} disconnects (users: {})",
                    self.connect_errors.unwrap_or(0),
                    self.disconnects.unwrap_or(0),
                    self.users.unwrap_or(s)
                ),
            );
        }
        if let Some(e) = &self.first_connect_error {
            line("first connect error", e.clone());
        }
        if let Some(p) = &self.connect_ms {
            line("connect", fmt_pct(p));
        }
        if let Some(v) = self.connect_all_ms {
            line("all connected after", format!("{v:.1} ms"));
        }
        if let Some(v) = self.settle_ms {
            line(
                "settled after",
                format!(
                    "{v:.1} ms ({} sockets hold the full count)",
                    self.settled.unwrap_or(0)
                ),
            );
        } else if let Some(s) = self.settled {
            line(
                "settled",
                format!("NOT settled: {s} sockets hold the full count"),
            );
        }
        if let Some(v) = self.catch_up_ms {
            line(
                "caught up after",
                format!(
                    "{v:.1} ms more ({} history requests failed)",
                    self.catch_up_errors.unwrap_or(0)
                ),
            );
        }
        if let (Some(k), Some(r)) = (self.senders, self.rate) {
            line(
                "senders",
                format!(
                    "{k} at {r} msg/s, {} s warm-up + {} s measured",
                    self.warmup_s.unwrap_or(0.0),
                    self.duration_s.unwrap_or(0.0)
                ),
            );
        }
        if let Some(sent) = self.sent {
            line(
                "messages",
                format!(
                    "sent {sent}, acked {}, refused {}, unacked {}",
                    self.acked.unwrap_or(0),
                    self.refused.unwrap_or(0),
                    self.unacked.unwrap_or(0)
                ),
            );
        }
        if let Some(d) = self.delivered {
            line(
                "deliveries",
                format!(
                    "{d} of {} expected, {} lost, {:.0}/s",
                    self.expected.unwrap_or(0),
                    self.lost.unwrap_or(0),
                    self.deliveries_per_s.unwrap_or(0.0)
                ),
            );
        }
        if let Some(p) = &self.latency_ms {
            line("send→receive", fmt_pct(p));
        }
        if let Some(p) = &self.ack_ms {
            line("ack", fmt_pct(p));
        }
        if let Some(n) = self.logins {
            line(
                "logins",
                format!(
                    "{n} at concurrency {}, {} errors, {:.1} logins/s",
                    self.concurrency.unwrap_or(0),
                    self.login_errors.unwrap_or(0),
                    self.logins_per_s.unwrap_or(0.0)
                ),
            );
        }
        if let Some(e) = &self.first_login_error {
            line("first login error", e.clone());
        }
        if let Some(p) = &self.login_ms {
            line("login latency", fmt_pct(p));
        }
        if let Some(s) = &self.server {
            line(
                "server",
                format!(
                    "pid {}: RSS {} → {} kB (peak {} kB), CPU {:.2} s ({:.0}% of a core)",
                    s.pid, s.rss_kb_before, s.rss_kb_after, s.rss_kb_peak, s.cpu_s, s.cpu_pct
                ),
            );
        }
        if let Some(b) = self.server_bytes_per_socket {
            line("server memory/socket", format!("{:.0} bytes", b));
        }
        if let Some(c) = self.bench_cpu_s {
            line(
                "load generator",
                format!(
                    "CPU {c:.2} s, RSS {} kB (it shares the machine's cores with the server); load average at start {:.2}",
                    self.bench_rss_kb.unwrap_or(0),
                    self.loadavg_at_start.unwrap_or(0.0)
                ),
            );
        }
        out.join("\n")
    }
}

fn fmt_pct(p: &Percentiles) -> String {
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        p.p50, p.p90, p.p99, p.max, p.count
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_in_milliseconds() {
        let mut l = Latencies::new();
        for us in 1..=1000 {
            l.record_us(us * 10);
        }
        let p = l.summary().unwrap();
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 5.0).abs() < 0.01, "{p:?}");
        assert!((p.p99 - 9.9).abs() < 0.02, "{p:?}");
        assert!((p.max - 10.0).abs() < 0.02, "{p:?}");
        assert!(Latencies::new().summary().is_none());
    }

    #[test]
    fn proc_stat_is_parsed() {
        let stat = "1234 (chat server) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(stat_cpu_ticks(stat), Some(300));
        assert_eq!(
            status_kb("Name: x\nVmRSS:\t  20480 kB\n", "VmRSS:"),
            Some(20480)
        );
        let own = ProcSample::own().unwrap();
        assert!(own.rss_kb > 0);
    }

    #[test]
    fn absent_fields_are_left_out() {
        let r = Report {
            mode: "login",
            logins: Some(5),
            ..Report::default()
        };
        let v: serde_json::Value = serde_json::from_str(&r.json_line()).unwrap();
        assert_eq!(v["logins"], 5);
        assert!(v.get("delivered").is_none());
    }
}
