//! The Socket.IO side of PROTOCOL.md §4: the handshake's session check,
//! presence announcements and `send_message`.

use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;

use chat_domain::{MessageType, NewMessage};
use serde_json::json;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{DisconnectReason, Socket};
use socketioxide::SocketIo;
use tower_sessions::session::Id;
use tower_sessions::SessionStore;

use crate::auth::SESSION_USER_KEY;
use crate::error::AppError;
use crate::messages::parse_draft;
use crate::state::AppState;
use crate::telemetry;

/// Who a socket belongs to: decided once, from the handshake's session.
#[derive(Debug, Clone)]
pub struct SocketUser {
    pub id: i32,
    pub username: Arc<str>,
    pub session_id: Arc<str>,
}

/// The room of every socket opened with one session (logout closes them).
pub fn session_room(session_id: &str) -> String {
    format!("session:{session_id}")
}

/// Why a handshake was refused; the client sees it in `connect_error`.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("服务暂时不可用，请稍后再试")]
    Unavailable,
}

/// Logs and counts what a broadcast could not deliver. A socket whose send
/// queue is full misses the packet; socketioxide does not say which one.
pub fn note_broadcast(event: &'static str, result: Result<(), socketioxide::BroadcastError>) {
    match result {
        Ok(()) => {}
        Err(socketioxide::BroadcastError::Socket(errors)) => {
            let full = errors
                .iter()
                .filter(|e| matches!(e, socketioxide::SocketError::InternalChannelFull))
                .count();
            if full > 0 {
                metrics::counter!(telemetry::BROADCAST_DROPS).increment(full as u64);
                tracing::warn!(
                    event,
                    sockets = full,
                    "send queue full: packet dropped for these sockets"
                );
            }
        }
        Err(e) => tracing::warn!(event, error = %e, "broadcast failed"),
    }
}

pub fn register(io: &SocketIo) {
    io.ns("/", on_connect.with(authenticate));
}

fn session_cookie(socket: &Socket) -> Option<Id> {
    socket
        .req_parts()
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == crate::app::SESSION_COOKIE)
        .and_then(|c| Id::from_str(c.value()).ok())
}

/// Connect middleware: the socket belongs to the session of its handshake, or
/// it is refused with `unauthorized`.
async fn authenticate(s: SocketRef, State(state): State<AppState>) -> Result<(), HandshakeError> {
    let session_id = session_cookie(&s).ok_or(HandshakeError::Unauthorized)?;
    let record = state.sessions.load(&session_id).await.map_err(|e| {
        tracing::warn!(error = %e, "session store unavailable during handshake");
        HandshakeError::Unavailable
    })?;
    let user_id = record
        .as_ref()
        .and_then(|r| r.data.get(SESSION_USER_KEY))
        .and_then(|v| v.as_i64())
        .and_then(|id| i32::try_from(id).ok())
        .ok_or(HandshakeError::Unauthorized)?;
    let user = state
        .accounts
        .find(user_id)
        .await
        .map_err(|_| HandshakeError::Unavailable)?
        .ok_or(HandshakeError::Unauthorized)?;
    let user = SocketUser {
        id: user.id,
        username: user.username.into(),
        session_id: session_id.to_string().into(),
    };
    // Handlers go in here, not in the connect handler: socketioxide sends the
    // CONNECT packet after the middleware and runs the connect handler as a
    // separate task, so an event sent right after `connect` could come first.
    s.join(session_room(&user.session_id));
    s.extensions.insert(user);
    s.on("send_message", on_send_message);
    s.on_disconnect(on_disconnect);
    Ok(())
}

async fn on_connect(
    s: SocketRef,
    io: SocketIo,
    State(state): State<AppState>,
    Extension(user): Extension<SocketUser>,
) {
    metrics::gauge!(telemetry::SOCKETS_CONNECTED).increment(1);
    tracing::debug!(sid = %s.id, user_id = user.id, "socket connected");

    match state.presence.connect(user.id, &user.username).await {
        Ok(Some(online_count)) => {
            let joined = json!({
                "username": &*user.username,
                "online_count": online_count,
                "timestamp": chat_domain::timestamps::to_rfc3339(&chat_domain::timestamps::now()),
            });
            note_broadcast("user_joined", io.emit("user_joined", &joined).await);
            metrics::gauge!(telemetry::USERS_ONLINE).set(online_count as f64);
            state.announcer.changed();
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "presence unavailable"),
    }
    // Every new socket learns the room's state at once, a second tab's included.
    match state.presence.online().await {
        Ok(online) => {
            let _ = s.emit("online_users", &online);
        }
        Err(e) => tracing::warn!(error = %e, "presence unavailable"),
    }
    // It may have gone while we were announcing it; its disconnect handler
    // could have run before the presence entry existed.
    if !s.connected() {
        leave(&state, &io, &user).await;
    }
}

async fn on_disconnect(
    s: SocketRef,
    io: SocketIo,
    reason: DisconnectReason,
    State(state): State<AppState>,
    Extension(user): Extension<SocketUser>,
) {
    tracing::debug!(sid = %s.id, user_id = user.id, ?reason, "socket disconnected");
    metrics::gauge!(telemetry::SOCKETS_CONNECTED).decrement(1);
    leave(&state, &io, &user).await;
}

async fn leave(state: &AppState, io: &SocketIo, user: &SocketUser) {
    match state.presence.disconnect(user.id).await {
        Ok(Some(online_count)) => {
            let left = json!({
                "username": &*user.username,
                "online_count": online_count,
                "timestamp": chat_domain::timestamps::to_rfc3339(&chat_domain::timestamps::now()),
            });
            note_broadcast("user_left", io.emit("user_left", &left).await);
            metrics::gauge!(telemetry::USERS_ONLINE).set(online_count as f64);
            state.announcer.changed();
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "presence unavailable"),
    }
}

/// Whether the client asked for an acknowledgement: a refusal goes to the
/// callback when there is one, and as an `error` event otherwise.
pub struct WantsAck(pub bool);

impl<A: Adapter> FromMessageParts<A> for WantsAck {
    type Error = Infallible;

    fn from_message_parts(
        _: &Arc<Socket<A>>,
        _: &mut socketioxide_core::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(WantsAck(ack_id.is_some()))
    }
}

async fn on_send_message(
    s: SocketRef,
    TryData(payload): TryData<serde_json::Value>,
    WantsAck(wants_ack): WantsAck,
    ack: AckSender,
    State(state): State<AppState>,
    Extension(user): Extension<SocketUser>,
) {
    let outcome = accept_message(&state, &user, payload.ok()).await;
    let reply = match outcome {
        Ok(message) => json!({ "success": true, "message": message }),
        Err(e) => {
            tracing::debug!(user_id = user.id, error = %e, "message refused");
            metrics::counter!(telemetry::MESSAGES_REFUSED, "reason" => e.reason()).increment(1);
            if !wants_ack {
                let _ = s.emit("error", &json!({ "message": e.to_string() }));
                return;
            }
            e.body()
        }
    };
    if let Err(e) = ack.send(&reply) {
        tracing::debug!(error = %e, "acknowledgement not sent");
    }
}

/// The checks of PROTOCOL.md §4 in order, then the writer (store, broadcast).
async fn accept_message(
    state: &AppState,
    user: &SocketUser,
    payload: Option<serde_json::Value>,
) -> Result<chat_domain::Message, AppError> {
    let draft = parse_draft(payload.as_ref())?;
    if draft.message_type == MessageType::Image && !state.uploads.issued(&draft.content).await {
        return Err(AppError::bad_request("无效的图片地址"));
    }
    if !state
        .flood
        .try_acquire(user.id)
        .await
        .map_err(AppError::internal)?
    {
        return Err(AppError::Flooding);
    }
    state
        .writer
        .submit(NewMessage {
            user_id: user.id,
            username: user.username.to_string(),
            content: draft.content,
            message_type: draft.message_type,
            timestamp: chat_domain::timestamps::now(),
        })
        .await
}
