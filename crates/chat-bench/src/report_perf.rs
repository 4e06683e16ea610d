//! `chat-bench perf-owners`: a flat `perf report --no-children --sort dso,sym
//! --stdio` (on standard input) summed by who owns each sampled function —
//! the kernel, the allocator, each crate family — then the top functions.
//! scripts/profile.sh writes its reports with it.

use std::fmt::Write as _;
use std::io::Read as _;

type Test = fn(&str, &str) -> bool;

/// Owners in the order they are tried: the first that claims a function has it.
const OWNERS: [(&str, Test); 11] = [
    ("kernel (TCP loopback, syscalls, scheduler)", |dso, sym| {
        dso.contains("kernel") || sym.starts_with("[k]")
    }),
    ("allocator and memcpy (libc)", |dso, _| dso.contains("libc")),
    ("bcrypt (password hashing)", |_, sym| {
        sym.contains("bcrypt") || sym.contains("blowfish")
    }),
    ("SQLite", |_, sym| sym.contains("sqlite3")),
    ("engineioxide / socketioxide", |_, sym| {
        sym.contains("engineioxide") || sym.contains("socketioxide")
    }),
    ("tungstenite (websocket frames)", |_, sym| {
        sym.contains("tungstenite")
    }),
    ("serde / serde_json", |_, sym| sym.contains("serde")),
    ("tokio (scheduler, channels, timers)", |_, sym| {
        sym.contains("tokio")
    }),
    ("hyper / axum / tower", |_, sym| {
        ["hyper", "axum", "tower"].iter().any(|k| sym.contains(k))
    }),
    ("this server (chat_server, chat_domain)", |_, sym| {
        sym.contains("chat_server") || sym.contains("chat_domain")
    }),
    ("diesel / r2d2", |_, sym| {
        sym.contains("diesel") || sym.contains("r2d2")
    }),
];
const OTHER: &str = "other (std, hashing, the rest)";

/// One sampled function: its share of the samples (%), its DSO and symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub share: f64,
    pub dso: String,
    pub sym: String,
}

/// A line `  12.34%  chat-server  [.] symbol` (or `[k]` for the kernel).
pub fn parse_line(line: &str) -> Option<Sample> {
    let rest = line.trim_start();
    let (share, rest) = rest.split_once('%')?;
    if share.is_empty() || !share.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let share: f64 = share.parse().ok()?;
    let rest = rest.strip_prefix(char::is_whitespace)?.trim_start();
    let (dso, rest) = rest.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let kernel = rest.starts_with("[k]");
    if !(kernel || rest.starts_with("[.]")) {
        return None;
    }
    let sym = rest[3..].strip_prefix(char::is_whitespace)?.trim();
    let dso = if line.contains("[k]") && !dso.contains("kernel") {
        "[kernel]"
    } else {
        dso
    };
    Some(Sample {
        share,
        dso: dso.to_owned(),
        sym: sym.to_owned(),
    })
}

pub fn owner(s: &Sample) -> &'static str {
    OWNERS
        .iter()
        .find(|(_, test)| test(&s.dso, &s.sym))
        .map_or(OTHER, |(name, _)| name)
}

/// The report: the owners' shares, largest first, then the top 15 functions.
pub fn summarise(perf_report: &str) -> String {
    let samples: Vec<Sample> = perf_report.lines().filter_map(parse_line).collect();
    let mut totals: Vec<(&str, f64)> = Vec::new();
    for s in &samples {
        let o = owner(s);
        match totals.iter_mut().find(|(name, _)| *name == o) {
            Some(t) => t.1 += s.share,
            None => totals.push((o, s.share)),
        }
    }
    totals.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = String::from("\n| owner | share of the server's samples |\n|---|---|\n");
    for (name, share) in totals {
        let _ = writeln!(out, "| {name} | {share:.1} % |");
    }
    out.push_str("\ntop functions:\n");
    let mut top: Vec<&Sample> = samples.iter().collect();
    top.sort_by(|a, b| b.share.total_cmp(&a.share));
    for s in top.into_iter().take(15) {
        let sym: String = s.sym.chars().take(110).collect();
        let _ = writeln!(out, "  {:5.2} %  {sym}  ({})", s.share, s.dso);
    }
    out
}

pub fn run() -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading standard input: {e}"))?;
    print!("{}", summarise(&String::from_utf8_lossy(&input)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `perf report` and the summary scripts/lib/profile_owners.py made of it.
    fn fixture(name: &str) -> String {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/perf");
        std::fs::read_to_string(format!("{dir}/{name}")).unwrap()
    }

    #[test]
    fn samples_are_read() {
        assert_eq!(
            parse_line("    20.50%  [kernel.kallsyms]    [k] tcp_sendmsg_locked\n"),
            Some(Sample {
                share: 20.5,
                dso: "[kernel.kallsyms]".into(),
                sym: "tcp_sendmsg_locked".into()
            })
        );
        assert_eq!(
            parse_line("     2.00%  [unknown]  [k] 0xffff").unwrap().dso,
            "[kernel]"
        );
        assert_eq!(parse_line("# Overhead  Shared Object"), None);
        assert_eq!(parse_line("   1.0%  x  [?] y"), None);
        assert_eq!(parse_line(""), None);
    }

    #[test]
    fn shares_are_summed_by_owner() {
        assert_eq!(
            summarise(&fixture("perf-report.txt")),
            fixture("owners.txt")
        );
    }

    #[test]
    fn at_most_fifteen_functions_and_110_characters() {
        let long = "x".repeat(200);
        let report: String = (0..20)
            .map(|i| format!("  {}.00%  bin  [.] {long}{i}\n", 20 - i))
            .collect();
        let out = summarise(&report);
        let top: Vec<&str> = out.lines().filter(|l| l.starts_with("  ")).collect();
        assert_eq!(top.len(), 15);
        assert_eq!(top[0], format!("  20.00 %  {}  (bin)", "x".repeat(110)));
    }
}
