//! `join`: N users connect, one after another or `--connect-concurrency` at
//! a time (a reconnect storm); the time until every socket holds the final
//! `online_users` with count N, and with `--catch-up` the time until every
//! user's history request that follows was answered.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{connect_all, fill_connect, sample, stop_all, wait_settled, Ctx, Phase};
use crate::accounts::{catch_up, ensure_accounts, http_client, Account};
use crate::config::{JoinArgs, Target};
use crate::error::BenchError;
use crate::report::{round3, Report, ServerUsage};

pub async fn run(a: &JoinArgs, target: &Target, report: &mut Report) -> Result<(), BenchError> {
    let c = &a.common;
    let n = a.sockets;
    report.users = Some(n);

    let setup = Instant::now();
    let client = http_client(c.http_concurrency)?;
    let accounts = ensure_accounts(&client, target, c, n).await?;
    report.setup_s = Some(round3(setup.elapsed().as_secs_f64()));
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let ctx = Ctx::new(n);
    let (phase_tx, phase_rx) = watch::channel(Phase::Listen);
    let before = sample(c.server_pid);
    let until = Instant::now() + Duration::from_secs_f64(a.timeout);
    let plan = (0..n).map(|i| (i, None)).collect();
    let conc = c.connect_concurrency.unwrap_or(1);
    let conn = connect_all(target, &accounts, plan, conc, &ctx, &phase_rx, until).await;
    fill_connect(report, &conn, n);
    if conn.handles.is_empty() {
        return Err(BenchError::NoSocket(conn.first_error.unwrap_or_default()));
    }
    let connected = conn.handles.len();
    let settled = wait_settled(&ctx, connected, conn.started_us, until).await;
    let wall = conn.started.elapsed();
    if a.catch_up && settled.is_some() {
        let (ms, errors) = catch_up_all(target, &accounts).await?;
        report.catch_up_ms = Some(ms);
        report.catch_up_errors = Some(errors);
    }
    let after = sample(c.server_pid);
    report.settle_ms = settled.map(|d| round3(d.as_secs_f64() * 1000.0));
    report.settled = Some(ctx.settled.load(Relaxed));
    report.online_users_events = Some(ctx.online_events.load(Relaxed));
    report.user_joined_events = Some(ctx.joined_events.load(Relaxed));

    let outs = stop_all(&phase_tx, conn.handles).await;
    let disconnects = outs.iter().filter(|o| o.dropped).count();
    report.disconnects = Some(disconnects);
    if let (Some(pid), Some(b), Some(af)) = (c.server_pid, before, after) {
        report.server = Some(ServerUsage::between(pid, b, af, wall));
    }
    report.ok = report.connect_errors == Some(0)
        && disconnects == 0
        && settled.is_some()
        && report.catch_up_errors.unwrap_or(0) == 0;
    Ok(())
}

/// Every user asks for the history at once; the time until the last answer
/// (ms) and how many failed.
async fn catch_up_all(target: &Target, accounts: &[Account]) -> Result<(f64, usize), BenchError> {
    let client = http_client(accounts.len())?;
    let started = Instant::now();
    let answers =
        futures::future::join_all(accounts.iter().map(|a| catch_up(&client, target, a))).await;
    let ms = round3(started.elapsed().as_secs_f64() * 1000.0);
    Ok((ms, answers.iter().filter(|r| r.is_err()).count()))
}
