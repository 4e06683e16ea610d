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

    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            sweeper.flood.sweep();
            sweeper.lockout.sweep();
            sweeper.counters.sweep();
            telemetry::upkeep();
            if let Err(e) = sweeper.sessions.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
        }
    });
}
