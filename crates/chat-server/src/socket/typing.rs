//! `typing` (PROTOCOL.md §6.9): who is typing, forwarded to everyone else as
//! `user_typing`, at most one `true` per user every 2 seconds, and a `false`
//! only after a `true` (from the client, or from the server when the user
//! sends a message or leaves).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::SocketIo;

use super::broadcast::broadcast_except;
use super::{refuse, SocketUser, WantsAck};
use crate::error::AppError;
use crate::protocol::{Event, UserTyping};
use crate::socket_server::user_room;
use crate::state::AppState;
use crate::telemetry;

/// At most one `typing: true` per user per this long is forwarded.
pub const TYPING_EVERY: Duration = Duration::from_secs(2);

/// What the others were last told about each user typing on this node. An
/// entry lives while the user is typing or was told so within
/// [`TYPING_EVERY`]; the sweep and a user's leaving remove the rest, so the
/// map is bounded by the users connected here.
#[derive(Debug, Default)]
pub struct TypingTracker {
    users: Mutex<HashMap<i32, Told>>,
}

#[derive(Debug, Clone, Copy)]
struct Told {
    /// The others were last told `true`.
    typing: bool,
    /// When a `true` was last forwarded.
    at: Instant,
}

impl TypingTracker {
    /// What to forward for a `typing` event of `user` at `now`, if anything.
    pub fn typing(&self, user: i32, typing: bool, now: Instant) -> Option<bool> {
        let mut users = self.lock();
        match (typing, users.get(&user).copied()) {
            (true, Some(told)) if now.duration_since(told.at) < TYPING_EVERY => {
                // The others still see this user typing, or were told
                // `false` only just now: renewing it so soon says nothing new.
                None
            }
            (true, _) => {
                users.insert(
                    user,
                    Told {
                        typing: true,
                        at: now,
                    },
                );
                Some(true)
            }
            (false, Some(told)) if told.typing => {
                users.insert(
                    user,
                    Told {
                        typing: false,
                        ..told
                    },
                );
                Some(false)
            }
            (false, _) => None,
        }
    }

    /// The user sent a message or left: whether the others must be told
    /// `false` (they were last told `true`).
    pub fn stopped(&self, user: i32) -> bool {
        let mut users = self.lock();
        match users.get_mut(&user) {
            Some(told) if told.typing => {
                told.typing = false;
                true
            }
            _ => false,
        }
    }

    /// The user left this node.
    pub fn forget(&self, user: i32) {
        self.lock().remove(&user);
    }

    /// Drops entries that hold nothing the next event needs.
    pub fn sweep(&self, now: Instant) {
        self.lock()
            .retain(|_, told| told.typing || now.duration_since(told.at) < TYPING_EVERY);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, Told>> {
        // A panic while holding the map leaves nothing half-written.
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `{"typing": bool}`.
pub fn parse_typing(payload: Option<&serde_json::Value>) -> Result<bool, AppError> {
    payload
        .and_then(serde_json::Value::as_object)
        .and_then(|o| o.get("typing"))
        .and_then(serde_json::Value::as_bool)
        .ok_or_else(|| AppError::bad_request("typing 必须是布尔值"))
}

pub async fn on_typing<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    TryData(payload): TryData<serde_json::Value>,
    WantsAck(wants_ack): WantsAck,
    ack: AckSender<A>,
    State(state): State<AppState>,
    Extension(user): Extension<SocketUser>,
) {
    let typing = match parse_typing(payload.ok().as_ref()) {
        Ok(typing) => typing,
        Err(e) => {
            refuse(
                &s,
                ack,
                wants_ack,
                &e,
                Event::Typing,
                telemetry::TYPING_REFUSED,
            );
            return;
        }
    };
    if let Some(typing) = state.typing.typing(user.id, typing, Instant::now()) {
        tell(&io, &user, typing).await;
    }
}

/// The user sent a message or left: a `false` if the others saw `true`.
pub async fn stopped<A: Adapter>(state: &AppState, io: &SocketIo<A>, user: &SocketUser) {
    if state.typing.stopped(user.id) {
        tell(io, user, false).await;
    }
}

/// `user_typing` to every socket but the user's own, on every node.
async fn tell<A: Adapter>(io: &SocketIo<A>, user: &SocketUser, typing: bool) {
    let notice = UserTyping {
        username: &user.username,
        typing,
    };
    broadcast_except(io, Event::UserTyping, &notice, Some(user_room(user.id))).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_true_per_two_seconds_and_false_only_after_true() {
        let t = TypingTracker::default();
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(t.typing(1, false, at(0)), None, "nobody was told true");
        assert_eq!(t.typing(1, true, at(0)), Some(true));
        assert_eq!(t.typing(1, true, at(1_999)), None);
        assert_eq!(t.typing(1, true, at(2_000)), Some(true), "a renewal");
        assert_eq!(t.typing(2, true, at(2_000)), Some(true), "per user");
        assert_eq!(t.typing(1, false, at(2_100)), Some(false));
        assert_eq!(t.typing(1, false, at(2_200)), None);
        assert_eq!(t.typing(1, true, at(2_300)), None, "true again within 2 s");
        assert_eq!(t.typing(1, true, at(4_000)), Some(true));
        assert!(t.stopped(1));
        assert!(!t.stopped(1), "told false once");
        assert!(!t.stopped(3), "never typed");
    }

    #[test]
    fn entries_go_when_they_hold_nothing() {
        let t = TypingTracker::default();
        let t0 = Instant::now();
        t.typing(1, true, t0);
        t.typing(2, true, t0);
        t.typing(2, false, t0);
        t.sweep(t0 + Duration::from_secs(3));
        assert_eq!(t.len(), 1, "the one still typing stays");
        t.forget(1);
        assert!(t.is_empty());
    }

    #[test]
    fn payloads_are_an_object_with_a_boolean() {
        assert!(parse_typing(Some(&json!({"typing": true}))).unwrap());
        assert!(!parse_typing(Some(&json!({"typing": false}))).unwrap());
        for bad in [
            json!({"typing": "yes"}),
            json!({"typing": 1}),
            json!({}),
            json!(true),
            json!([true]),
        ] {
            assert!(parse_typing(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse_typing(None).is_err());
    }
}
