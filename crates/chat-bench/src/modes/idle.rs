//! `idle`: hold N sockets open for a while; connect times and the server's
//! memory per socket.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{connect_all, report_connected, sample, stop_all, Ctx, Phase};
use crate::accounts::{ensure_accounts, http_client};
use crate::config::{IdleArgs, Target};
use crate::error::BenchError;
use crate::report::{round3, Report, ServerUsage};

pub async fn run(a: &IdleArgs, target: &Target, report: &mut Report) -> Result<(), BenchError> {
    let c = &a.common;
    let n = a.sockets;
    let users = a.users.unwrap_or(n);
    report.users = Some(users);
    report.duration_s = Some(a.duration);

    let setup = Instant::now();
    let client = http_client(c.http_concurrency)?;
    let accounts = ensure_accounts(&client, target, c, users).await?;
    report.setup_s = Some(round3(setup.elapsed().as_secs_f64()));
    drop(client);
    // Let the server return to rest before its baseline is read.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Every user's first socket first, then the second tabs.
    let plan = (0..n).map(|i| (i % users, None)).collect();
    let ctx = Ctx::new(users);
    let (phase_tx, phase_rx) = watch::channel(Phase::Listen);
    let before = sample(c.server_pid);
    let t0 = Instant::now();
    let connect_until = Instant::now() + Duration::from_secs(60 + n as u64 / 20);
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

    tokio::time::sleep(Duration::from_secs_f64(a.duration)).await;
    let after = sample(c.server_pid);
    let wall = t0.elapsed();
    let alive = ctx.alive.load(Relaxed);
    let outs = stop_all(&phase_tx, conn.handles).await;
    let disconnects = outs.iter().filter(|o| o.dropped).count();
    report.disconnects = Some(disconnects);
    report.online_users_events = Some(ctx.online_events.load(Relaxed));
    report.user_joined_events = Some(ctx.joined_events.load(Relaxed));
    if let (Some(pid), Some(b), Some(af)) = (c.server_pid, before, after) {
        let usage = ServerUsage::between(pid, b, af, wall);
        if alive > 0 {
            let grown = usage.rss_kb_after as f64 - usage.rss_kb_before as f64;
            report.server_bytes_per_socket = Some(round3(grown * 1024.0 / alive as f64));
        }
        report.server = Some(usage);
    }
    report.ok = report.connect_errors == Some(0) && disconnects == 0 && report.settle_ms.is_some();
    Ok(())
}
