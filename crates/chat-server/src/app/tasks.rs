//! The background tasks of a node: the message writer, the write probe, the
//! `online_users` announcer and the periodic sweep.

use std::sync::Arc;
use std::time::Duration;

use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;
use tower_sessions::session_store::ExpiredDeletion;

use crate::messages::writer::{Delivery, WriterTask};
use crate::presence::Pace;
use crate::state::AppState;
use crate::telemetry;

/// `online_users`: up to 8 lists a second go out at once; past that, one per
/// 50 ms plus 250 µs per user online (300 ms at 1,000 users).
fn announce_pace() -> Pace {
    Pace::new(
        8,
        Duration::from_secs(1),
        Duration::from_millis(50),
        Duration::from_micros(250),
    )
}
/// How often idle limiter entries and expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often the node reads what chat-admin did (the operator is promised
/// 10 seconds).
const ADMIN_EVENTS_EVERY: Duration = Duration::from_secs(2);
/// Events applied per read.
const ADMIN_EVENTS_BATCH: i64 = 100;

pub fn spawn<A: Adapter>(
    state: &AppState,
    writer_task: WriterTask,
    delivery: Arc<dyn Delivery>,
    io: &SocketIo<A>,
) {
    writer_task.spawn(delivery);
    state.write_health.spawn_probe(state.db.clone());
    state
        .announcer
        .spawn(state.presence.clone(), io.clone(), announce_pace());

    spawn_admin_events(state.clone(), io.clone());

    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            sweeper.flood.sweep();
            sweeper.lockout.sweep();
            sweeper.counters.sweep();
            sweeper.typing.sweep(std::time::Instant::now());
            telemetry::upkeep();
            if let Err(e) = sweeper.sessions.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
        }
    });
}

/// Reads the events chat-admin records (chat_domain::moderation) after the
/// newest one at the start, and applies each to this node's sockets.
fn spawn_admin_events<A: Adapter>(state: AppState, io: SocketIo<A>) {
    use chat_domain::moderation;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(ADMIN_EVENTS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut cursor: Option<i64> = None;
        loop {
            every.tick().await;
            let Some(after) = cursor else {
                match state.db.run(moderation::last_event_id).await {
                    Ok(id) => cursor = Some(id),
                    Err(e) => tracing::warn!(error = %e, "reading chat-admin events failed"),
                }
                continue;
            };
            let read = state
                .db
                .run(move |conn| moderation::events_after(conn, after, ADMIN_EVENTS_BATCH))
                .await;
            match read {
                Ok((next, events)) => {
                    for event in &events {
                        crate::socket::apply_admin_event(&state, &io, event).await;
                    }
                    cursor = Some(next);
                }
                Err(e) => tracing::warn!(error = %e, "reading chat-admin events failed"),
            }
        }
    });
}
