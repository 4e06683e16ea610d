//! `GET /healthz`: 200 when the database (and, in a cluster, Redis) answers,
//! 503 naming what does not.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::state::AppState;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let mut report = Map::new();
    let mut healthy = true;
    let database = match tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".to_owned(),
    };
    healthy &= database == "ok";
    report.insert("database".into(), database.into());
    if let Some(cluster) = &state.cluster {
        let redis = match tokio::time::timeout(CHECK_TIMEOUT, cluster.ping()).await {
            Ok(Ok(())) => "ok".to_owned(),
            Ok(Err(e)) => e,
            Err(_) => "Redis timed out".to_owned(),
        };
        healthy &= redis == "ok";
        report.insert("redis".into(), redis.into());
        report.insert("node".into(), cluster.node_id.to_string().into());
    }
    report.insert("status".into(), json!(if healthy { "ok" } else { "error" }));
    if !healthy {
        tracing::warn!(report = ?report, "health check failed");
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Value::Object(report)))
}
