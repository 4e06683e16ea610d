//! `delete_message` (PROTOCOL.md §6): the author recalls their own message
//! within `--recall-seconds`, an admin deletes any; then `message_deleted`
//! goes to every socket of every node.

use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::SocketIo;

use super::{answered, broadcast, refuse, SocketContext, SocketUser, WantsAck};
use crate::error::AppError;
use crate::limits;
use crate::protocol::{Done, Event, MessageDeleted, Success};
use crate::state::AppState;
use crate::telemetry;

pub async fn on_delete_message<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    TryData(payload): TryData<serde_json::Value>,
    WantsAck(wants_ack): WantsAck,
    ack: AckSender<A>,
    State(state): State<AppState>,
    Extension(context): Extension<SocketContext>,
) {
    let user = context.user();
    match delete_message(&state, &io, user, payload.ok()).await {
        Ok(()) => answered(ack.send(&Done { success: Success })),
        Err(e) => refuse(
            &s,
            ack,
            wants_ack,
            &e,
            Event::DeleteMessage,
            telemetry::DELETES_REFUSED,
        ),
    }
}

/// `{"id": int}`: a JSON integer, `"5"` is refused.
pub fn parse_id(payload: Option<&serde_json::Value>) -> Result<i64, AppError> {
    let Some(serde_json::Value::Object(obj)) = payload else {
        return Err(AppError::bad_request("删除请求格式错误"));
    };
    obj.get("id")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| AppError::bad_request("消息 id 必须是整数"))
}

/// The checks in order (shape, limit, then the domain's rule), the deletion,
/// the image file, the broadcast.
async fn delete_message<A: Adapter>(
    state: &AppState,
    io: &SocketIo<A>,
    user: &SocketUser,
    payload: Option<serde_json::Value>,
) -> Result<(), AppError> {
    let id = parse_id(payload.as_ref())?;
    // Every well-formed attempt counts (each costs the database a query):
    // the budget bounds a deleter, not only what was deleted.
    let key = user.id.to_string();
    limits::reserve(
        state.counters.as_ref(),
        state.budgets.deletes.as_ref(),
        &key,
        1,
    )
    .await?;
    let by = chat_domain::Deleter {
        user_id: user.id,
        is_admin: user.is_admin,
    };
    let deleted = state
        .messages
        .delete(id, by, state.config.recall_window())
        .await?;
    metrics::counter!(telemetry::MESSAGES_DELETED).increment(1);
    tracing::info!(
        message_id = id,
        user_id = user.id,
        admin = user.is_admin,
        "message deleted"
    );
    if let Some(url) = &deleted.orphaned_image {
        if let Some(name) = url.strip_prefix(crate::uploads::URL_PREFIX) {
            if crate::uploads::is_upload_name(name) {
                state.uploads.discard(name).await;
            }
        }
    }
    let notice = MessageDeleted {
        id: deleted.id,
        username: user.username.to_string(),
        timestamp: chat_domain::timestamps::to_rfc3339(&deleted.deleted_at),
    };
    broadcast(io, Event::MessageDeleted, &notice).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_json_integers() {
        assert_eq!(parse_id(Some(&json!({"id": 5}))).unwrap(), 5);
        for bad in [
            json!({"id": "5"}),
            json!({"id": 5.5}),
            json!({"id": null}),
            json!({}),
            json!([5]),
            json!(5),
        ] {
            assert!(parse_id(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse_id(None).is_err());
    }
}
