//! `GET /healthz`: 200 when the server can do its job, 503 naming what it
//! cannot. The database must answer a read now and have committed the write
//! probe lately (a database that can be read but not written, e.g. a full
//! disk, would otherwise look healthy); in a cluster, Redis must answer.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chat_domain::Database;
use tokio::time::Instant;

use crate::protocol::Health;
use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the write probe runs, even on an idle server.
const PROBE_EVERY: Duration = Duration::from_secs(3);
/// A probe that has not finished by then counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The write probe's latest outcome, shared by its task and `/healthz`.
#[derive(Debug, Clone, Default)]
pub struct WriteHealth(Arc<Mutex<Option<Result<Instant, String>>>>);

impl WriteHealth {
    fn record(&self, outcome: Result<Instant, String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    /// `None` when writes work (or no probe has finished yet), the reason otherwise.
    pub fn problem(&self) -> Option<String> {
        match &*self.0.lock().unwrap_or_else(PoisonError::into_inner) {
            None => None,
            Some(Err(reason)) => Some(reason.clone()),
            // A probe stuck behind a lock for longer than it may take.
            Some(Ok(at)) if at.elapsed() > PROBE_EVERY + PROBE_TIMEOUT => {
                Some("database writes: no answer".to_owned())
            }
            Some(Ok(_)) => None,
        }
    }

    /// Probes every few seconds for as long as the server runs.
    pub fn spawn_probe(&self, db: Database) {
        let health = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let outcome = match tokio::time::timeout(PROBE_TIMEOUT, db.probe_write()).await {
                    Ok(Ok(())) => Ok(Instant::now()),
                    Ok(Err(e)) => Err(format!("database writes failing: {e}")),
                    Err(_) => Err("database writes: no answer".to_owned()),
                };
                match (&outcome, health.problem()) {
                    (Err(reason), None) => tracing::error!(%reason, "database writes failing"),
                    (Ok(_), Some(_)) => tracing::info!("database writes work again"),
                    _ => {}
                }
                health.record(outcome);
            }
        });
    }
}

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let mut healthy = true;
    let database = match tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => state
            .write_health
            .problem()
            .unwrap_or_else(|| "ok".to_owned()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    healthy &= database == "ok";
    let (mut redis, mut node) = (None, None);
    if let Some(cluster) = &state.cluster {
        let answer = match tokio::time::timeout(CHECK_TIMEOUT, cluster.ping()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => e,
            Err(_) => "Redis timed out".to_owned(),
        };
        healthy &= answer == "ok";
        redis = Some(answer);
        node = Some(cluster.node_id.to_string());
    }
    let report = Health {
        database,
        node,
        redis,
        status: if healthy { "ok" } else { "error" },
    };
    if !healthy {
        tracing::warn!(report = ?report, "health check failed");
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}
