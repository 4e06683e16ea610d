//! `GET /metrics` in the Prometheus text format, and the names of what is
//! measured (documented in the README).

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const SOCKETS_CONNECTED: &str = "chat_sockets_connected";
pub const USERS_ONLINE: &str = "chat_users_online";
pub const MESSAGES_STORED: &str = "chat_messages_stored_total";
pub const MESSAGES_REFUSED: &str = "chat_messages_refused_total";
pub const MESSAGES_DELETED: &str = "chat_messages_deleted_total";
pub const DELETES_REFUSED: &str = "chat_deletes_refused_total";
pub const USERS_BANNED: &str = "chat_users_banned_total";
pub const BANS_REFUSED: &str = "chat_bans_refused_total";
pub const TYPING_REFUSED: &str = "chat_typing_refused_total";
pub const ADMIN_EVENTS_APPLIED: &str = "chat_admin_events_applied_total";
pub const BROADCAST_SECONDS: &str = "chat_message_broadcast_seconds";
pub const BROADCAST_DROPS: &str = "chat_broadcast_drops_total";
pub const SLOW_READERS_EVICTED: &str = "chat_slow_readers_evicted_total";
pub const LOGINS: &str = "chat_logins_total";
/// Requests, connections and sockets refused by a limit, by `reason`
/// (docs/PROTOCOL.md, "Limits").
pub const REFUSALS: &str = "chat_refusals_total";
pub const HTTP_CONNECTIONS_OPEN: &str = "chat_http_connections_open";
pub const HANDSHAKE_SECONDS: &str = "chat_handshake_seconds";
pub const MEMORY_TRIMS: &str = "chat_memory_trims_total";
pub const MEMORY_TRIM_SECONDS: &str = "chat_memory_trim_seconds";

/// Counts one refusal by a limit.
pub fn refused(reason: &'static str) {
    metrics::counter!(REFUSALS, "reason" => reason).increment(1);
}
/// Recorded by the domain crate in every `Database::run`: waiting for a blocking
/// thread, then for a pooled connection, then the work itself.
pub const DB_POOL_WAIT_SECONDS: &str = chat_domain::db::POOL_WAIT_METRIC;
pub const DB_QUEUE_WAIT_SECONDS: &str = chat_domain::db::QUEUE_WAIT_METRIC;
pub const DB_QUERY_SECONDS: &str = chat_domain::db::QUERY_METRIC;

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (several apps in one test process
/// share it). None when another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    metrics::describe_gauge!(SOCKETS_CONNECTED, "Socket.IO connections open on this node");
    metrics::describe_gauge!(USERS_ONLINE, "Users online in the room");
    metrics::describe_counter!(MESSAGES_STORED, "Chat messages stored and broadcast");
    metrics::describe_counter!(MESSAGES_REFUSED, "send_message refusals, by reason");
    metrics::describe_counter!(MESSAGES_DELETED, "Messages recalled or deleted");
    metrics::describe_counter!(DELETES_REFUSED, "delete_message refusals, by reason");
    metrics::describe_counter!(
        USERS_BANNED,
        "Users banned (by admins in the room or by chat-admin)"
    );
    metrics::describe_counter!(BANS_REFUSED, "ban_user / unban_user refusals, by reason");
    metrics::describe_counter!(TYPING_REFUSED, "Malformed typing events, by reason");
    metrics::describe_counter!(
        ADMIN_EVENTS_APPLIED,
        "chat-admin actions applied to this node's sockets, by action"
    );
    metrics::describe_counter!(REFUSALS, "Refusals by a limit, by reason");
    metrics::describe_gauge!(
        HTTP_CONNECTIONS_OPEN,
        "TCP connections open to the HTTP server (websockets included)"
    );
    metrics::describe_histogram!(
        BROADCAST_SECONDS,
        metrics::Unit::Seconds,
        "From send_message accepted to new_message broadcast"
    );
    metrics::describe_counter!(
        BROADCAST_DROPS,
        "Packets a socket's full send queue could not take (that socket is disconnected)"
    );
    metrics::describe_counter!(
        SLOW_READERS_EVICTED,
        "Sockets disconnected because their send queue was full (they resync on reconnect)"
    );
    metrics::describe_counter!(LOGINS, "Login attempts, by result");
    metrics::describe_histogram!(
        chat_domain::room::ORDER_LOCK_WAIT_METRIC,
        metrics::Unit::Seconds,
        "Cluster: time waiting for the message order lock (PostgreSQL advisory lock)"
    );
    metrics::describe_histogram!(
        chat_domain::room::ORDER_LOCK_HELD_METRIC,
        metrics::Unit::Seconds,
        "Cluster: time the order lock was held per batch (insert, commit, publication)"
    );
    metrics::describe_counter!(
        MEMORY_TRIMS,
        "Freed memory handed back to the system after sockets came and went"
    );
    metrics::describe_histogram!(
        MEMORY_TRIM_SECONDS,
        metrics::Unit::Seconds,
        "Time one memory trim took (each arena is locked in turn)"
    );
    for (name, what) in WAITS {
        metrics::describe_histogram!(*name, metrics::Unit::Seconds, *what);
    }
}

/// The waits a slow request may be stuck in, each a histogram in seconds.
const WAITS: &[(&str, &str)] = &[
    (
        HANDSHAKE_SECONDS,
        "Socket.IO handshake: the session and the account read, a socket slot taken",
    ),
    (
        DB_QUEUE_WAIT_SECONDS,
        "Time database work waited for a blocking thread",
    ),
    (
        DB_POOL_WAIT_SECONDS,
        "Time waiting for a database connection",
    ),
    (
        DB_QUERY_SECONDS,
        "Time database work took with its connection in hand",
    ),
];

pub async fn render() -> impl IntoResponse {
    let body = HANDLE
        .get()
        .cloned()
        .flatten()
        .map(|h| h.render())
        .unwrap_or_default();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}

/// Drains histogram buffers; called periodically.
pub fn upkeep() {
    if let Some(Some(h)) = HANDLE.get() {
        h.run_upkeep();
    }
}
