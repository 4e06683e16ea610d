//! `typing` (PROTOCOL.md §6.9): who is typing, forwarded to everyone else as
//! `user_typing`, at most one `true` per user every 2 seconds, and a `false`
//! only after a `true` (from the client, or from the server when the user
//! sends a message or leaves).

use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::SocketIo;

use super::broadcast::broadcast_except;
use super::{refuse, SocketContext, SocketUser, WantsAck};
use crate::error::AppError;
use crate::protocol::{Event, UserTyping};
use crate::socket_server::user_room;
use crate::state::AppState;
use crate::telemetry;

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
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
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
    if let Some(typing) = state.typing.typing(user.id, typing).await {
        tell(&io, user, typing).await;
    }
}

/// The user sent a message or left: a `false` if the others saw `true`.
pub async fn stopped<A: Adapter>(state: &AppState, io: &SocketIo<A>, user: &SocketUser) {
    if state.typing.stopped(user.id).await {
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
