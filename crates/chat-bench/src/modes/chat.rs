//! `chat`: K of N users send at R messages/s; every socket measures the
//! send-to-receive latency of every message, senders the acknowledgement time.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::watch;

use super::{connect_all, now_us, report_connected, sample, stop_all, Ctx, Phase, SenderCfg};
use crate::accounts::{ensure_accounts, http_client};
use crate::config::{ChatArgs, Target};
use crate::error::BenchError;
use crate::report::{round3, Report, ServerUsage};

pub async fn run(a: &ChatArgs, target: &Target, report: &mut Report) -> Result<(), BenchError> {
    let c = &a.common;
    let n = a.sockets;
    report.users = Some(n);
    report.senders = Some(a.senders);
    report.rate = Some(a.rate);
    report.warmup_s = Some(a.warmup);
    report.duration_s = Some(a.duration);

    let setup = Instant::now();
    let client = http_client(c.http_concurrency)?;
    let accounts = ensure_accounts(&client, target, c, n).await?;
    report.setup_s = Some(round3(setup.elapsed().as_secs_f64()));

    // Senders spread over the users, each starting at a random point of its period.
    let interval_us = (1_000_000.0 / a.rate) as u64;
    let mut rng = rand::rng();
    let mut plan: Vec<(usize, Option<SenderCfg>)> = (0..n).map(|i| (i, None)).collect();
    for s in 0..a.senders {
        let i = s * n / a.senders;
        plan[i].1 = Some(SenderCfg {
            index: s,
            interval_us,
            offset_us: rng.random_range(0..interval_us.max(1)),
        });
    }

    let ctx = Ctx::new(n);
    let (phase_tx, phase_rx) = watch::channel(Phase::Listen);
    let connect_until = Instant::now() + Duration::from_secs(60 + n as u64 / 50);
    let conc = c.connect_concurrency.unwrap_or(64);
    let conn = connect_all(
        target,
        &accounts,
        plan,
        conc,
        &ctx,
        &phase_rx,
        connect_until,
    )
    .await;
    let settle_until = Instant::now() + Duration::from_secs_f64(a.settle_timeout);
    report_connected(report, &ctx, &conn, n, settle_until).await?;
    // Let the last announcements of the join storm pass before sending.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let start_us = now_us() + 100_000;
    let measure_us = start_us + (a.warmup * 1e6) as u64;
    let end_us = measure_us + (a.duration * 1e6) as u64;
    ctx.measure_from_us.store(measure_us, Relaxed);
    let _ = phase_tx.send(Phase::Send { start_us, end_us });

    sleep_until_us(measure_us).await;
    let before = sample(c.server_pid);
    let measured_at = Instant::now();
    sleep_until_us(end_us).await;
    let after = sample(c.server_pid);
    let measured = measured_at.elapsed();

    // Drain: wait for the outstanding acks and deliveries.
    let drain_until = Instant::now() + Duration::from_secs_f64(a.drain);
    loop {
        let sent = ctx.sent.load(Relaxed);
        let acked = ctx.acked.load(Relaxed);
        let answered = acked + ctx.refused.load(Relaxed);
        let alive = ctx.alive.load(Relaxed) as u64;
        if answered >= sent && ctx.delivered.load(Relaxed) >= acked * alive {
            break;
        }
        if Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let outs = stop_all(&phase_tx, conn.handles).await;
    let survivors: Vec<_> = outs.iter().filter(|o| !o.dropped).collect();
    let acked = ctx.acked.load(Relaxed);
    let delivered: u64 = survivors.iter().map(|o| o.delivered).sum();
    let window: u64 = survivors.iter().map(|o| o.delivered_window).sum();
    let expected = acked * survivors.len() as u64;
    report.disconnects = Some(outs.len() - survivors.len());
    report.sent = Some(ctx.sent.load(Relaxed));
    report.acked = Some(acked);
    report.refused = Some(ctx.refused.load(Relaxed));
    report.unacked = Some(outs.iter().map(|o| o.unacked).sum());
    report.delivered = Some(delivered);
    report.expected = Some(expected);
    report.lost = Some(expected.saturating_sub(delivered));
    report.deliveries_per_s = Some(round3(window as f64 / a.duration.max(1e-9)));
    report.latency_ms = ctx
        .latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .summary();
    report.ack_ms = ctx
        .ack_latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .summary();
    report.online_users_events = Some(ctx.online_events.load(Relaxed));
    report.user_joined_events = Some(ctx.joined_events.load(Relaxed));
    if let (Some(pid), Some(b), Some(af)) = (c.server_pid, before, after) {
        report.server = Some(ServerUsage::between(pid, b, af, measured));
    }
    report.ok = report.lost == Some(0)
        && report.refused == Some(0)
        && report.connect_errors == Some(0)
        && report.disconnects == Some(0)
        && report.sent.unwrap_or(0) > 0
        && report.unacked == Some(0);
    Ok(())
}

async fn sleep_until_us(us: u64) {
    let now = now_us();
    if us > now {
        tokio::time::sleep(Duration::from_micros(us - now)).await;
    }
}
