//! What the modes share: the clock, the run's counters, the connect phase and
//! the loop that drives one socket.

pub mod chat;
pub mod idle;
pub mod join;
pub mod login;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::accounts::Account;
use crate::client::{self, Frame, Ws};
use crate::config::Target;
use crate::report::{Latencies, ProcSample, Report};

/// Microseconds since the process's clock base: the send time carried in messages.
pub fn now_us() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// What the socket tasks are told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connect and listen.
    Listen,
    /// Senders send from `start` until `end` (process clock, µs).
    Send { start_us: u64, end_us: u64 },
    /// Close and report.
    Stop,
}

/// A socket that sends: every `interval`, first at start + `offset`.
#[derive(Debug, Clone, Copy)]
pub struct SenderCfg {
    pub index: usize,
    pub interval_us: u64,
    pub offset_us: u64,
}

/// Counters shared by all the sockets of a run.
pub struct Ctx {
    /// Tells this run's messages from anyone else's.
    pub run_id: u32,
    /// The `online_users` count at which a socket has seen everyone arrive.
    pub full_count: usize,
    /// Latencies of messages sent from this time on are recorded (µs).
    pub measure_from_us: AtomicU64,
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub refused: AtomicU64,
    /// Deliveries so far, over all sockets (for the drain phase).
    pub delivered: AtomicU64,
    pub alive: AtomicUsize,
    pub settled: AtomicUsize,
    /// When the last socket settled (µs).
    pub last_settle_us: AtomicU64,
    pub online_events: AtomicU64,
    pub joined_events: AtomicU64,
    pub latency: Mutex<Latencies>,
    pub ack_latency: Mutex<Latencies>,
}

impl Ctx {
    pub fn new(full_count: usize) -> Arc<Ctx> {
        Arc::new(Ctx {
            run_id: rand::random::<u32>(),
            full_count,
            measure_from_us: AtomicU64::new(u64::MAX),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            alive: AtomicUsize::new(0),
            settled: AtomicUsize::new(0),
            last_settle_us: AtomicU64::new(0),
            online_events: AtomicU64::new(0),
            joined_events: AtomicU64::new(0),
            latency: Mutex::new(Latencies::new()),
            ack_latency: Mutex::new(Latencies::new()),
        })
    }

    fn merge(&self, into: &Mutex<Latencies>, samples: &mut Vec<u32>) {
        if samples.is_empty() {
            return;
        }
        let mut h = into.lock().unwrap_or_else(|p| p.into_inner());
        for &us in samples.iter() {
            h.record_us(u64::from(us));
        }
        samples.clear();
    }
}

/// What one socket saw, added up at the end.
#[derive(Debug, Default)]
pub struct SocketOutcome {
    pub delivered: u64,
    /// Deliveries of messages sent in the measured window.
    pub delivered_window: u64,
    /// The connection ended before it was told to stop.
    pub dropped: bool,
    /// Sends still waiting for their acknowledgement at the end.
    pub unacked: u64,
}

/// The text of a benchmark message: `bench <run> <sender> <seq> <send_us>`.
pub fn message_text(run_id: u32, sender: usize, seq: u64, send_us: u64) -> String {
    format!("bench {run_id} {sender} {seq} {send_us}")
}

/// The send time of a benchmark message of run `run_id`.
pub fn parse_message(content: &str, run_id: u32) -> Option<u64> {
    let mut parts = content.split(' ');
    if parts.next()? != "bench" || parts.next()?.parse::<u32>().ok()? != run_id {
        return None;
    }
    let _sender = parts.next()?;
    let _seq = parts.next()?;
    parts.next()?.parse().ok()
}

const FLUSH_SAMPLES: usize = 256;

/// Drives one connected socket until told to stop or the server goes away:
/// answers pings, counts events, measures latencies, and sends when it is a sender.
pub async fn drive(
    mut ws: Ws,
    ctx: Arc<Ctx>,
    sender: Option<SenderCfg>,
    mut phase: watch::Receiver<Phase>,
) -> SocketOutcome {
    let mut out = SocketOutcome::default();
    let mut settled = false;
    let mut latencies: Vec<u32> = Vec::new();
    let mut acks: Vec<u32> = Vec::new();
    // (ack id, send time) of sends waiting for their acknowledgement.
    let mut pending: Vec<(u64, u64)> = Vec::new();
    let mut seq: u64 = 0;
    let mut next_send_us: Option<u64> = None;
    let mut end_us = 0;
    let base = Instant::now();
    let base_us = now_us();

    let apply = |p: Phase, next_send_us: &mut Option<u64>, end_us: &mut u64| -> bool {
        match p {
            Phase::Listen => true,
            Phase::Send {
                start_us,
                end_us: e,
            } => {
                if let Some(s) = sender {
                    *next_send_us = Some(start_us + s.offset_us);
                    *end_us = e;
                }
                true
            }
            Phase::Stop => false,
        }
    };
    let initial = *phase.borrow_and_update();
    if !apply(initial, &mut next_send_us, &mut end_us) {
        return out;
    }

    loop {
        let send_at = next_send_us.map(|us| {
            tokio::time::Instant::from_std(base + Duration::from_micros(us.saturating_sub(base_us)))
        });
        tokio::select! {
            biased;
            changed = phase.changed() => {
                let p = if changed.is_ok() { *phase.borrow_and_update() } else { Phase::Stop };
                if !apply(p, &mut next_send_us, &mut end_us) {
                    break;
                }
            }
            msg = ws.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        out.dropped = true;
                        break;
                    }
                    Some(Ok(_)) => continue,
                };
                match client::parse(&text) {
                    Frame::Ping => {
                        let pong = ws.send(Message::text("3")).await;
                        if pong.is_err() {
                            out.dropped = true;
                            break;
                        }
                    }
                    Frame::Event { name: "new_message", data } => {
                        let Some(content) = client::message_content(data) else { continue };
                        let Some(send_us) = parse_message(&content, ctx.run_id) else { continue };
                        out.delivered += 1;
                        ctx.delivered.fetch_add(1, Relaxed);
                        if send_us >= ctx.measure_from_us.load(Relaxed) {
                            out.delivered_window += 1;
                            let lat = now_us().saturating_sub(send_us);
                            latencies.push(lat.min(u64::from(u32::MAX)) as u32);
                            if latencies.len() >= FLUSH_SAMPLES {
                                ctx.merge(&ctx.latency, &mut latencies);
                            }
                        }
                    }
                    Frame::Event { name: "online_users", data } => {
                        ctx.online_events.fetch_add(1, Relaxed);
                        if !settled && client::online_count(data).is_some_and(|c| c >= ctx.full_count) {
                            settled = true;
                            ctx.settled.fetch_add(1, Relaxed);
                            ctx.last_settle_us.fetch_max(now_us(), Relaxed);
                        }
                    }
                    Frame::Event { name: "user_joined", .. } => {
                        ctx.joined_events.fetch_add(1, Relaxed);
                    }
                    Frame::Ack { id, data } => {
                        let Some(pos) = pending.iter().position(|(p, _)| *p == id) else { continue };
                        let (_, send_us) = pending.swap_remove(pos);
                        match client::ack_success(data) {
                            Some(true) => {
                                ctx.acked.fetch_add(1, Relaxed);
                                if send_us >= ctx.measure_from_us.load(Relaxed) {
                                    let lat = now_us().saturating_sub(send_us);
                                    acks.push(lat.min(u64::from(u32::MAX)) as u32);
                                }
                            }
                            _ => {
                                ctx.refused.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    Frame::Close | Frame::Disconnect => {
                        out.dropped = true;
                        break;
                    }
                    _ => {}
                }
            }
            () = sleep_until_opt(send_at) => {
                let now = now_us();
                let (Some(s), Some(due)) = (sender, next_send_us) else { continue };
                if now >= end_us {
                    next_send_us = None;
                    continue;
                }
                seq += 1;
                let text = message_text(ctx.run_id, s.index, seq, now);
                let frame = client::encode_event_with_ack(
                    seq,
                    "send_message",
                    &serde_json::json!({ "content": text, "message_type": "text" }),
                );
                pending.push((seq, now));
                ctx.sent.fetch_add(1, Relaxed);
                // Keep to the schedule, but never catch up with a burst
                // (the flood limit counts every message).
                next_send_us = Some((due + s.interval_us).max(now + s.interval_us / 2));
                if ws.send(Message::text(frame)).await.is_err() {
                    out.dropped = true;
                    break;
                }
            }
        }
    }
    ctx.merge(&ctx.latency, &mut latencies);
    ctx.merge(&ctx.ack_latency, &mut acks);
    out.unacked = pending.len() as u64;
    ctx.alive.fetch_sub(1, Relaxed);
    if !out.dropped {
        let _ = ws.close(None).await;
    }
    out
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The sockets of a run, connected.
pub struct Connected {
    pub handles: Vec<JoinHandle<SocketOutcome>>,
    pub connect: Latencies,
    pub errors: usize,
    pub first_error: Option<String>,
    /// From the first connect to the last one that succeeded.
    pub all_connected: Duration,
    pub started: Instant,
    pub started_us: u64,
}

/// Connects one socket per entry of `plan` (account index, sender role),
/// `concurrency` handshakes at a time, and starts driving each at once.
pub async fn connect_all(
    target: &Target,
    accounts: &[Account],
    plan: Vec<(usize, Option<SenderCfg>)>,
    concurrency: usize,
    ctx: &Arc<Ctx>,
    phase: &watch::Receiver<Phase>,
    until: Instant,
) -> Connected {
    let started = Instant::now();
    let started_us = now_us();
    let results: Vec<Result<(Duration, JoinHandle<SocketOutcome>), String>> =
        futures::stream::iter(plan)
            .map(|(account, sender)| {
                let Account { username, cookie } = &accounts[account];
                async move {
                    let t = Instant::now();
                    let ws = match tokio::time::timeout_at(
                        until.into(),
                        client::connect(target, cookie),
                    )
                    .await
                    {
                        Ok(Ok(ws)) => ws,
                        Ok(Err(e)) => return Err(format!("{username}: {e}")),
                        Err(_) => return Err("not connected before the deadline".to_owned()),
                    };
                    let elapsed = t.elapsed();
                    ctx.alive.fetch_add(1, Relaxed);
                    let handle = tokio::spawn(drive(ws, ctx.clone(), sender, phase.clone()));
                    Ok((elapsed, handle))
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    let all_connected = started.elapsed();
    let mut c = Connected {
        handles: Vec::with_capacity(results.len()),
        connect: Latencies::new(),
        errors: 0,
        first_error: None,
        all_connected,
        started,
        started_us,
    };
    for r in results {
        match r {
            Ok((d, h)) => {
                c.connect.record(d);
                c.handles.push(h);
            }
            Err(e) => {
                c.errors += 1;
                c.first_error.get_or_insert(e);
            }
        }
    }
    c
}

/// Waits until every live socket has seen the full `online_users` count, or
/// until `until`. Returns the time from `since_us` to the last socket settling.
pub async fn wait_settled(
    ctx: &Ctx,
    connected: usize,
    since_us: u64,
    until: Instant,
) -> Option<Duration> {
    loop {
        if ctx.settled.load(Relaxed) >= connected {
            let last = ctx.last_settle_us.load(Relaxed);
            return Some(Duration::from_micros(last.saturating_sub(since_us)));
        }
        if Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Tells every socket to stop and adds up what they saw.
pub async fn stop_all(
    phase: &watch::Sender<Phase>,
    handles: Vec<JoinHandle<SocketOutcome>>,
) -> Vec<SocketOutcome> {
    let _ = phase.send(Phase::Stop);
    let mut outs = Vec::with_capacity(handles.len());
    for h in handles {
        match tokio::time::timeout(Duration::from_secs(10), h).await {
            Ok(Ok(o)) => outs.push(o),
            Ok(Err(_)) | Err(_) => outs.push(SocketOutcome {
                dropped: true,
                ..SocketOutcome::default()
            }),
        }
    }
    outs
}

/// Fills the fields every socket mode reports.
pub fn fill_connect(report: &mut Report, c: &Connected, sockets: usize) {
    report.sockets = Some(sockets);
    report.connected = Some(c.handles.len());
    report.connect_errors = Some(c.errors);
    report.first_connect_error = c.first_error.clone();
    report.connect_ms = c.connect.summary();
    report.connect_all_ms = Some(crate::report::round3(
        c.all_connected.as_secs_f64() * 1000.0,
    ));
}

/// Reports the connects, fails when no socket connected, then waits (until
/// `settle_until`) for every socket to hold the full `online_users` count and
/// reports that too.
pub async fn report_connected(
    report: &mut Report,
    ctx: &Ctx,
    conn: &Connected,
    sockets: usize,
    settle_until: Instant,
) -> Result<(), crate::error::BenchError> {
    fill_connect(report, conn, sockets);
    if conn.handles.is_empty() {
        let first = conn.first_error.clone().unwrap_or_default();
        return Err(crate::error::BenchError::NoSocket(first));
    }
    let settled = wait_settled(ctx, conn.handles.len(), conn.started_us, settle_until).await;
    report.settle_ms = settled.map(|d| crate::report::round3(d.as_secs_f64() * 1000.0));
    report.settled = Some(ctx.settled.load(Relaxed));
    Ok(())
}

pub fn sample(pid: Option<u32>) -> Option<ProcSample> {
    pid.and_then(ProcSample::read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_their_send_time() {
        let t = message_text(42, 3, 7, 123_456);
        assert_eq!(t, "bench 42 3 7 123456");
        assert_eq!(parse_message(&t, 42), Some(123_456));
        assert_eq!(parse_message(&t, 43), None, "another run's message");
        assert_eq!(parse_message("hello", 42), None);
        assert_eq!(parse_message("bench 42 3 7", 42), None);
        assert_eq!(parse_message("bench 42 3 7 x", 42), None);
    }
}
