//! `ban_user` / `unban_user` (PROTOCOL.md §6, admins only), and what
//! chat-admin did while this node runs (a ban, a new password, a deletion),
//! applied to this node's sockets.

use chat_domain::moderation::{AdminAction, AdminEvent};
use chat_domain::{BanError, Moderator};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::SocketIo;

use super::broadcast::{broadcast_except, broadcast_local, broadcast_local_except};
use super::{answered, refuse, HandshakeError, SocketContext, SocketUser, WantsAck};
use crate::error::AppError;
use crate::limits;
use crate::protocol::{Done, ErrorEvent, Event, MessageDeleted, Success, UserBanned};
use crate::socket_server::{namespace, user_room, SocketServer};
use crate::state::AppState;
use crate::telemetry;

/// Longer than a handshake takes from reading the account to joining rooms.
const HANDSHAKE_RACE: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn on_ban_user<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    TryData(payload): TryData<serde_json::Value>,
    WantsAck(wants_ack): WantsAck,
    ack: AckSender<A>,
    State(state): State<AppState>,
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
    match ban_user(&state, &io, user, payload.ok()).await {
        Ok(()) => answered(ack.send(&Done { success: Success })),
        Err(e) => refuse(
            &s,
            ack,
            wants_ack,
            &e,
            Event::BanUser,
            telemetry::BANS_REFUSED,
        ),
    }
}

pub async fn on_unban_user<A: Adapter>(
    s: SocketRef<A>,
    TryData(payload): TryData<serde_json::Value>,
    WantsAck(wants_ack): WantsAck,
    ack: AckSender<A>,
    State(state): State<AppState>,
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
    match unban_user(&state, user, payload.ok()).await {
        Ok(()) => answered(ack.send(&Done { success: Success })),
        Err(e) => refuse(
            &s,
            ack,
            wants_ack,
            &e,
            Event::UnbanUser,
            telemetry::BANS_REFUSED,
        ),
    }
}

/// `{"username": str}`: the exact name, as login matches it.
pub fn parse_username(payload: Option<&serde_json::Value>) -> Result<String, AppError> {
    let Some(serde_json::Value::Object(obj)) = payload else {
        return Err(AppError::bad_request("请求格式错误"));
    };
    match obj.get("username").and_then(serde_json::Value::as_str) {
        Some(name) if !name.is_empty() => Ok(name.to_owned()),
        _ => Err(AppError::bad_request("用户名必须是非空字符串")),
    }
}

/// The checks that cost nothing first (shape, admin), then the budget, then
/// the domain's rules; the user's sockets closed on every node, and the
/// others told.
async fn ban_user<A: Adapter>(
    state: &AppState,
    io: &SocketIo<A>,
    user: &SocketUser,
    payload: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let name = parse_username(payload.as_ref())?;
    let by = moderator(user)?;
    spend(state, user).await?;
    let admins = state.clone();
    let (target, newly) = state
        .accounts
        .ban(name, by, move |n| admins.config.is_admin(n))
        .await?;
    // Its sockets are closed even when it was banned already (one that raced
    // the first ban's handshake); and once more a moment later, for a
    // handshake that read the account just before the ban and joined the
    // user's room just after this disconnect.
    if let Some(ns) = namespace(io) {
        tell_banned(ns.to(user_room(target.id))).await;
    }
    io.disconnect_user(target.id).await;
    let (again, id) = (io.clone(), target.id);
    tokio::spawn(async move {
        tokio::time::sleep(HANDSHAKE_RACE).await;
        again.disconnect_user(id).await;
    });
    if newly {
        metrics::counter!(telemetry::USERS_BANNED).increment(1);
        tracing::info!(user_id = target.id, by = user.id, "user banned");
        let notice = UserBanned {
            username: target.username,
            by: user.username.to_string(),
            timestamp: chat_domain::timestamps::to_rfc3339(&chat_domain::timestamps::now()),
        };
        broadcast_except(io, Event::UserBanned, &notice, Some(user_room(target.id))).await;
    }
    Ok(())
}

async fn unban_user(
    state: &AppState,
    user: &SocketUser,
    payload: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let name = parse_username(payload.as_ref())?;
    let by = moderator(user)?;
    spend(state, user).await?;
    let (target, lifted) = state.accounts.unban(name, by).await?;
    if lifted {
        tracing::info!(user_id = target.id, by = user.id, "user unbanned");
    }
    Ok(())
}

/// The banned user's own sockets learn why they are about to be closed (the
/// `error` event, before the disconnect packet on the same socket), so that
/// a page says so instead of taking it for a logout elsewhere.
async fn tell_banned<A: Adapter>(sockets: socketioxide::operators::BroadcastOperators<A>) {
    let notice = ErrorEvent {
        message: HandshakeError::Banned.to_string(),
    };
    if let Err(e) = sockets.emit(Event::Error, &notice).await {
        tracing::debug!(error = %e, "the banned user's sockets were not told");
    }
}

fn moderator(user: &SocketUser) -> Result<Moderator, AppError> {
    if !user.is_admin {
        return Err(BanError::NotAdmin.into());
    }
    Ok(Moderator {
        user_id: user.id,
        is_admin: true,
    })
}

/// Every well-formed attempt of an admin counts against the ban budget.
async fn spend(state: &AppState, user: &SocketUser) -> Result<(), AppError> {
    let key = user.id.to_string();
    limits::reserve(
        state.counters.as_ref(),
        state.budgets.bans.as_ref(),
        &key,
        1,
    )
    .await?;
    Ok(())
}

/// What chat-admin recorded, applied to this node's sockets (every node
/// reads the same events, so each one serves only its own).
pub async fn apply_admin_event<A: Adapter>(state: &AppState, io: &SocketIo<A>, event: &AdminEvent) {
    let timestamp = chat_domain::timestamps::to_rfc3339(&event.created_at);
    match (event.action, event.user_id, event.message_id) {
        (AdminAction::Ban, Some(user_id), _) => {
            let Some(ns) = namespace(io) else { return };
            tell_banned(ns.clone().local().to(user_room(user_id))).await;
            let _ = ns.local().to(user_room(user_id)).disconnect().await;
            match state.accounts.find(user_id).await {
                Ok(Some(target)) => {
                    let notice = UserBanned {
                        username: target.username,
                        by: event.actor.clone(),
                        timestamp,
                    };
                    broadcast_local_except(
                        io,
                        Event::UserBanned,
                        &notice,
                        Some(user_room(user_id)),
                    )
                    .await;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, user_id, "banned user not found for the notice")
                }
            }
        }
        (AdminAction::ResetPassword, Some(user_id), _) => {
            if let Some(ns) = namespace(io) {
                let _ = ns.local().to(user_room(user_id)).disconnect().await;
            }
        }
        (AdminAction::DeleteMessage, _, Some(id)) => {
            let notice = MessageDeleted {
                id,
                username: event.actor.clone(),
                timestamp,
            };
            broadcast_local(io, Event::MessageDeleted, &notice).await;
        }
        _ => {
            tracing::warn!(
                event_id = event.id,
                action = event.action.as_str(),
                "admin event without its subject"
            );
            return;
        }
    }
    metrics::counter!(telemetry::ADMIN_EVENTS_APPLIED, "action" => event.action.as_str())
        .increment(1);
    tracing::info!(
        event_id = event.id,
        action = event.action.as_str(),
        "chat-admin action applied"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usernames_are_non_empty_strings() {
        assert_eq!(
            parse_username(Some(&json!({"username": "小明"}))).unwrap(),
            "小明"
        );
        for bad in [
            json!({"username": ""}),
            json!({"username": 5}),
            json!({"username": null}),
            json!({}),
            json!(["小明"]),
            json!("小明"),
        ] {
            assert!(parse_username(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse_username(None).is_err());
    }
}
