//! `login`: a login storm over HTTP; logins/s and latency.

use std::time::{Duration, Instant};

use crate::accounts::{ensure_accounts, http_client, login_storm};
use crate::config::{LoginArgs, Target};
use crate::error::BenchError;
use crate::report::{round3, Latencies, Report, ServerUsage};

use super::sample;

pub async fn run(a: &LoginArgs, target: &Target, report: &mut Report) -> Result<(), BenchError> {
    let c = &a.common;
    let n = a.logins;
    report.users = Some(n);
    report.concurrency = Some(a.concurrency);

    let setup = Instant::now();
    let client = http_client(c.http_concurrency.max(a.concurrency))?;
    ensure_accounts(&client, target, c, n).await?;
    report.setup_s = Some(round3(setup.elapsed().as_secs_f64()));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let before = sample(c.server_pid);
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs_f64(a.timeout);
    let results = login_storm(&client, target, c, n, a.concurrency, until).await;
    let wall = t0.elapsed();
    let after = sample(c.server_pid);

    let mut lat = Latencies::new();
    let mut errors = 0;
    let mut first_error = None;
    for r in &results {
        match &r.result {
            Ok(()) => lat.record(r.elapsed),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let ok = results.len() - errors;
    report.logins = Some(results.len());
    report.login_errors = Some(errors);
    report.first_login_error = first_error;
    report.logins_per_s = Some(round3(ok as f64 / wall.as_secs_f64().max(1e-9)));
    report.login_ms = lat.summary();
    if let (Some(pid), Some(b), Some(af)) = (c.server_pid, before, after) {
        report.server = Some(ServerUsage::between(pid, b, af, wall));
    }
    report.ok = errors == 0 && results.len() == n;
    Ok(())
}
