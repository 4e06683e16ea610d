//! The Socket.IO side of PROTOCOL.md §4: the handshake's session check,
//! presence announcements and `send_message`; §6's `delete_message` (delete.rs).

use std::convert::Infallible;
use std::str::FromStr;
use std::sync::Arc;

use chat_domain::{MessageType, NewMessage};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::socket::{DisconnectReason, Socket};
use socketioxide::SocketIo;
use tower_sessions::session::Id;

use crate::auth::SESSION_COOKIE;
use crate::error::AppError;
use crate::messages::parse_draft;
use crate::messages::writer::Stored;
use crate::presence::Announcer;
use crate::protocol::{ErrorEvent, Event, MessageAck, PresenceNotice, Success};
use crate::socket_server::{session_room, user_room};
use crate::state::AppState;
use crate::telemetry;

mod ban;
mod broadcast;
mod context;
mod delete;
mod order;
mod request_head;
mod slots;
mod typing;
pub use ban::apply_admin_event;
pub use broadcast::{broadcast, broadcast_local, ROOM};
pub use context::SocketContext;
pub use order::{SocketOrder, Turn};
pub use request_head::detach_socket_io_head;
pub use slots::{SocketSlot, SocketSlots};

/// Who a socket belongs to: decided once, from the handshake's session.
#[derive(Debug, Clone)]
pub struct SocketUser {
    pub id: i32,
    pub username: Arc<str>,
    pub session_id: Arc<str>,
    /// One of `--admin-users`.
    pub is_admin: bool,
}

/// Why a handshake was refused; the client sees it in `connect_error`.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("服务暂时不可用，请稍后再试")]
    Unavailable,
    /// `--sockets-per-user`: the page shows this sentence (it starts with
    /// 同时打开的窗口太多) instead of reconnecting.
    #[error("同时打开的窗口太多（每人最多 {0} 个），请关闭其他标签页后刷新")]
    TooManySockets(u64),
    /// A banned account (its sessions are ended too; this covers a handshake
    /// that raced the ban). The page shows the sentence.
    #[error("你的账号已被封禁")]
    Banned,
}

pub fn register<A: Adapter + socketioxide_core::adapter::DefinedAdapter>(
    io: &SocketIo<A>,
) -> A::InitRes {
    io.ns("/", on_connect.with(authenticate))
}

fn session_cookie<A: Adapter>(socket: &Socket<A>) -> Option<Id> {
    socket
        .req_parts()
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .and_then(|c| Id::from_str(c.value()).ok())
}

/// Connect middleware: the socket belongs to the session of its handshake, or
/// it is refused with `unauthorized`.
async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    State(state): State<AppState>,
) -> Result<(), HandshakeError> {
    let started = std::time::Instant::now();
    let admitted = admit(&s, &state).await;
    metrics::histogram!(telemetry::HANDSHAKE_SECONDS).record(started.elapsed().as_secs_f64());
    admitted
}

async fn admit<A: Adapter>(s: &SocketRef<A>, state: &AppState) -> Result<(), HandshakeError> {
    let session_id = session_cookie(s).ok_or(HandshakeError::Unauthorized)?;
    let user = state
        .sessions
        .user(&session_id)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "database unavailable during handshake");
            HandshakeError::Unavailable
        })?
        .ok_or(HandshakeError::Unauthorized)?;
    if user.is_banned() {
        return Err(HandshakeError::Banned);
    }
    let user = SocketUser {
        is_admin: state.config.is_admin(&user.username),
        id: user.id,
        username: user.username.into(),
        session_id: session_id.to_string().into(),
    };
    let slot = take_slot(state, user.id).await?;
    // Handlers go in here, not in the connect handler: socketioxide sends the
    // CONNECT packet after the middleware and runs the connect handler as a
    // separate task, so an event sent right after `connect` could come first.
    s.join([session_room(&user.session_id), user_room(user.id)]);
    s.extensions.insert(SocketContext::new(user, slot));
    s.on(Event::SendMessage.name(), on_send_message::<A>);
    s.on(Event::DeleteMessage.name(), delete::on_delete_message::<A>);
    s.on(Event::BanUser.name(), ban::on_ban_user::<A>);
    s.on(Event::UnbanUser.name(), ban::on_unban_user::<A>);
    s.on(Event::Typing.name(), typing::on_typing::<A>);
    s.on_disconnect(on_disconnect::<A>);
    Ok(())
}

/// A slot under `--sockets-per-user`, counting the user's sockets on other
/// nodes too; None when the limit is lifted.
async fn take_slot(state: &AppState, user_id: i32) -> Result<Option<SocketSlot>, HandshakeError> {
    let cap = state.config.limits.sockets_per_user;
    if cap == 0 {
        return Ok(None);
    }
    let elsewhere = state
        .presence
        .sockets_elsewhere(user_id)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "presence unavailable: counting this node's sockets only");
            0
        });
    match state
        .socket_slots
        .take(user_id, cap.saturating_sub(elsewhere))
    {
        Some(slot) => Ok(Some(slot)),
        None => {
            telemetry::refused(crate::limits::SOCKETS_PER_USER);
            tracing::info!(
                user_id,
                cap,
                "socket refused: too many sockets for one user"
            );
            Err(HandshakeError::TooManySockets(cap))
        }
    }
}

async fn on_connect<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    State(state): State<AppState>,
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
    // Into the room only now: the CONNECT packet is queued, so no broadcast
    // can reach the client before it.
    s.join(ROOM);
    metrics::gauge!(telemetry::SOCKETS_CONNECTED).increment(1);
    state.memory_trim.turnover();
    tracing::debug!(sid = %s.id, user_id = user.id, "socket connected");

    // Every new socket learns the room's state from its first moment: a user
    // who just joined through the `online_users` broadcast that follows
    // `user_joined` (it is in the room already), a second tab directly, as
    // Flask-SocketIO did.
    match state.presence.connect(user.id, &user.username).await {
        Ok(joined) => {
            if !context.joined() {
                // Gone already: its disconnect handler found nothing to undo.
                leave(&state, &io, user).await;
                return;
            }
            match joined {
                Some(online_count) => {
                    crate::auth::seen(&state, user.id);
                    announce(
                        &state.announcer,
                        &io,
                        Event::UserJoined,
                        &user.username,
                        online_count,
                    )
                    .await;
                }
                None => send_online_users(&state, &s).await,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "presence unavailable");
            send_online_users(&state, &s).await;
        }
    }
}

async fn send_online_users<A: Adapter>(state: &AppState, s: &SocketRef<A>) {
    match state.presence.online().await {
        Ok(online) => {
            let _ = s.emit(Event::OnlineUsers, &online);
        }
        Err(e) => tracing::warn!(error = %e, "presence unavailable"),
    }
}

async fn on_disconnect<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    reason: DisconnectReason,
    State(state): State<AppState>,
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
    tracing::debug!(sid = %s.id, user_id = user.id, ?reason, "socket disconnected");
    metrics::gauge!(telemetry::SOCKETS_CONNECTED).decrement(1);
    state.memory_trim.turnover();
    if context.left() {
        leave(&state, &io, user).await;
    }
}

async fn leave<A: Adapter>(state: &AppState, io: &SocketIo<A>, user: &SocketUser) {
    match state.presence.disconnect(user.id).await {
        Ok(Some(online_count)) => {
            crate::auth::seen(state, user.id);
            typing::stopped(state, io, user).await;
            state.typing.forget(user.id);
            announce(
                &state.announcer,
                io,
                Event::UserLeft,
                &user.username,
                online_count,
            )
            .await;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "presence unavailable"),
    }
}

/// `user_joined` / `user_left` right away; `online_users` through the announcer.
pub async fn announce<A: Adapter>(
    announcer: &Announcer,
    io: &SocketIo<A>,
    event: Event,
    username: &str,
    online_count: usize,
) {
    let notice = PresenceNotice {
        username,
        online_count,
        timestamp: chat_domain::timestamps::to_rfc3339(&chat_domain::timestamps::now()),
    };
    broadcast(io, event, &notice).await;
    metrics::gauge!(telemetry::USERS_ONLINE).set(online_count as f64);
    announcer.changed();
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

// A socketioxide handler's arguments are its extractors.
#[allow(clippy::too_many_arguments)]
async fn on_send_message<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    mut turn: Turn,
    TryData(payload): TryData<serde_json::Value>,
    WantsAck(wants_ack): WantsAck,
    ack: AckSender<A>,
    State(state): State<AppState>,
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
    // Checked and queued in the order the socket sent it; then the next one
    // may go while this one is stored.
    turn.wait().await;
    let queued = accept_message(&state, user, payload.ok()).await;
    turn.release();
    let outcome = match queued {
        Ok(stored) => stored.await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(message) => {
            answered(ack.send(&MessageAck {
                success: Success,
                message: &message,
            }));
            // Whoever saw this user typing learns that they stopped.
            typing::stopped(&state, &io, user).await;
        }
        Err(e) => refuse(
            &s,
            ack,
            wants_ack,
            &e,
            Event::SendMessage,
            telemetry::MESSAGES_REFUSED,
        ),
    }
}

/// A refused event: logged, counted in `counter` by reason, and answered in
/// its ack, or with the `error` event when the client asked for no ack.
pub(crate) fn refuse<A: Adapter>(
    s: &SocketRef<A>,
    ack: AckSender<A>,
    wants_ack: bool,
    e: &AppError,
    event: Event,
    counter: &'static str,
) {
    e.log(event.name());
    metrics::counter!(counter, "reason" => e.reason()).increment(1);
    if wants_ack {
        answered(ack.send(&e.body()));
    } else {
        let _ = s.emit(
            Event::Error,
            &ErrorEvent {
                message: e.to_string(),
            },
        );
    }
}

/// An ack that could not be sent: the socket is gone, nothing to do.
pub(crate) fn answered(sent: Result<(), impl std::fmt::Display>) {
    if let Err(e) = sent {
        tracing::debug!(error = %e, "acknowledgement not sent");
    }
}

/// The checks of PROTOCOL.md §4 in order, then into the writer's queue.
async fn accept_message(
    state: &AppState,
    user: &SocketUser,
    payload: Option<serde_json::Value>,
) -> Result<Stored, AppError> {
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
        .enqueue(NewMessage {
            user_id: user.id,
            username: user.username.to_string(),
            content: draft.content,
            message_type: draft.message_type,
            timestamp: chat_domain::timestamps::now(),
        })
        .await
}
