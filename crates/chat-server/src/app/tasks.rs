//! The background tasks of a node: the message writer, the write probe, the
//! `online_users` announcer, the reader of chat-admin's actions, the memory
//! trim and the periodic sweep.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;
use tower_sessions::session_store::ExpiredDeletion;

use crate::messages::writer::{Delivery, WriterTask};
use crate::presence::Pace;
use crate::state::AppState;
use crate::telemetry;

/// `online_users`: up to 8 lists a second go out at once; past that, one per
/// 50 ms plus 250 µs per user online (300 ms at 1,000 users), sooner when a
/// storm of joins stops for 25 ms.
fn announce_pace() -> Pace {
    Pace::new(
        8,
        Duration::from_secs(1),
        Duration::from_millis(50),
        Duration::from_micros(250),
        Duration::from_millis(25),
    )
}
/// How often idle limiter entries and expired sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often the node reads what chat-admin did (the operator is promised
/// 10 seconds).
const ADMIN_EVENTS_EVERY: Duration = Duration::from_secs(2);
/// How far back each read goes: longer than a chat-admin transaction takes
/// to commit, plus clock differences between the operator's host and this one.
const ADMIN_EVENTS_WINDOW: chrono::Duration = chrono::Duration::seconds(120);
/// Events read at most per read.
const ADMIN_EVENTS_BATCH: i64 = 1000;

pub fn spawn<A: Adapter>(
    state: &AppState,
    writer_task: WriterTask,
    delivery: Arc<dyn Delivery>,
    io: &SocketIo<A>,
) {
    writer_task.spawn(delivery);
    state.write_health.spawn_probe(state.db.clone());
    state.last_seen.spawn_writer(state.accounts.clone());
    if state.config.memory_trim {
        state.memory_trim.spawn();
    }
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
            sweeper.typing.sweep();
            telemetry::upkeep();
            if let Err(e) = sweeper.sessions.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
        }
    });
}

/// Reads the events chat-admin records (chat_domain::moderation) and applies
/// each new one to this node's sockets. It reads the last
/// [`ADMIN_EVENTS_WINDOW`] every time and remembers which ids it applied, so
/// an event that committed late (or with the operator's clock a little
/// behind) is still applied once; those present when the node starts are
/// only remembered.
fn spawn_admin_events<A: Adapter>(state: AppState, io: SocketIo<A>) {
    use chat_domain::moderation;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(ADMIN_EVENTS_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut applied: Option<HashMap<i64, NaiveDateTime>> = None;
        loop {
            every.tick().await;
            let since = chat_domain::timestamps::now() - ADMIN_EVENTS_WINDOW;
            let read = state
                .db
                .run(move |conn| moderation::events_since(conn, since, ADMIN_EVENTS_BATCH))
                .await;
            let events = match read {
                Ok(events) => events,
                Err(e) => {
                    tracing::warn!(error = %e, "reading chat-admin events failed");
                    continue;
                }
            };
            let Some(seen) = applied.as_mut() else {
                applied = Some(events.iter().map(|e| (e.id, e.created_at)).collect());
                continue;
            };
            for event in events {
                if seen.insert(event.id, event.created_at).is_none() {
                    crate::socket::apply_admin_event(&state, &io, &event).await;
                }
            }
            // What the next read cannot return any more.
            seen.retain(|_, at| *at >= since);
        }
    });
}
