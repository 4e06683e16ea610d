//! Chat messages: the history API, the checks a new message passes, and the
//! writer that stores and broadcasts them.

pub mod writer;

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use chat_domain::{MessageType, Page};

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::protocol::{DeletedList, MessageDeleted, MessagesPage, Success};
use crate::state::AppState;

pub const DEFAULT_PAGE: i64 = 50;
pub const MAX_PAGE: i64 = 200;
/// PROTOCOL.md: content is at most 2000 characters (code points) after trimming.
pub const MAX_CONTENT_CHARS: usize = 2000;

fn whole_number(params: &HashMap<String, String>, name: &str) -> AppResult<Option<i64>> {
    params
        .get(name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| AppError::bad_request(format!("{name} 必须是整数")))
        })
        .transpose()
}

/// `limit`, `before_id`, `after_id` → the page to load.
pub fn parse_page(params: &HashMap<String, String>) -> AppResult<Page> {
    let limit = match whole_number(params, "limit")? {
        None => DEFAULT_PAGE,
        Some(n) if n < 1 => return Err(AppError::bad_request("limit 必须大于 0")),
        Some(n) => n.min(MAX_PAGE),
    };
    // Ids are never negative; 0 stays valid (after_id=0 is "from the start").
    let id = |name| match whole_number(params, name)? {
        Some(n) if n < 0 => Err(AppError::bad_request(format!("{name} 不能为负数"))),
        other => Ok(other),
    };
    match (id("before_id")?, id("after_id")?) {
        (Some(_), Some(_)) => Err(AppError::bad_request("before_id 和 after_id 不能同时使用")),
        (Some(id), None) => Ok(Page::Before { id, limit }),
        (None, Some(id)) => Ok(Page::After { id, limit }),
        (None, None) => Ok(Page::Latest { limit }),
    }
}

/// `GET /api/messages`: a page of the retention window, oldest first.
pub async fn history(
    State(state): State<AppState>,
    _user: CurrentUser,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<MessagesPage>> {
    let Query(params) = params.map_err(|_| AppError::bad_request("查询参数格式错误"))?;
    let page = parse_page(&params)?;
    let messages = state.messages.page(page).await?;
    Ok(Json(MessagesPage {
        success: Success,
        messages,
    }))
}

/// `since`: an RFC 3339 time (any offset), as UTC.
pub fn parse_since(params: &HashMap<String, String>) -> AppResult<Option<chrono::NaiveDateTime>> {
    params
        .get("since")
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.naive_utc())
                .map_err(|_| AppError::bad_request("since 必须是 RFC 3339 时间"))
        })
        .transpose()
}

/// `GET /api/messages/deleted?since=`: deletions of the retention window
/// (at or after `since`), oldest first, for a page that was offline.
pub async fn deleted(
    State(state): State<AppState>,
    _user: CurrentUser,
    params: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<DeletedList>> {
    let Query(params) = params.map_err(|_| AppError::bad_request("查询参数格式错误"))?;
    let since = parse_since(&params)?;
    let deleted = state.messages.deleted_since(since).await?;
    Ok(Json(DeletedList {
        success: Success,
        deleted: deleted.iter().map(MessageDeleted::from).collect(),
    }))
}

/// A `send_message` payload that passed the protocol's checks.
#[derive(Debug, PartialEq, Eq)]
pub struct Draft {
    pub content: String,
    pub message_type: MessageType,
}

/// The shape checks of PROTOCOL.md §4 (the image URL is checked by the caller).
pub fn parse_draft(payload: Option<&serde_json::Value>) -> AppResult<Draft> {
    let Some(serde_json::Value::Object(obj)) = payload else {
        return Err(AppError::bad_request("消息格式错误"));
    };
    let content = match obj.get("content") {
        Some(serde_json::Value::String(s)) => s.trim(),
        _ => return Err(AppError::bad_request("消息内容必须是字符串")),
    };
    let message_type = match obj.get("message_type") {
        None => MessageType::Text,
        Some(serde_json::Value::String(s)) => {
            MessageType::parse(s).ok_or_else(|| AppError::bad_request("无效的消息类型"))?
        }
        Some(_) => return Err(AppError::bad_request("无效的消息类型")),
    };
    if content.is_empty() {
        return Err(AppError::bad_request("消息内容不能为空"));
    }
    // PostgreSQL cannot store NUL in text; refuse it on every backend alike.
    if content.contains('\0') {
        return Err(AppError::bad_request("消息内容包含无效字符"));
    }
    if content.chars().count() > MAX_CONTENT_CHARS {
        return Err(AppError::bad_request("消息内容不能超过2000个字符"));
    }
    Ok(Draft {
        content: content.to_owned(),
        message_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn pages_default_to_the_newest_fifty_and_cap_at_two_hundred() {
        assert_eq!(parse_page(&q(&[])).unwrap(), Page::Latest { limit: 50 });
        assert_eq!(
            parse_page(&q(&[("limit", "500")])).unwrap(),
            Page::Latest { limit: 200 }
        );
        assert_eq!(
            parse_page(&q(&[("limit", "3"), ("before_id", "10")])).unwrap(),
            Page::Before { id: 10, limit: 3 }
        );
        assert_eq!(
            parse_page(&q(&[("after_id", "7")])).unwrap(),
            Page::After { id: 7, limit: 50 }
        );
        assert_eq!(
            parse_page(&q(&[("after_id", "0")])).unwrap(),
            Page::After { id: 0, limit: 50 }
        );
        assert_eq!(
            parse_page(&q(&[("before_id", "0")])).unwrap(),
            Page::Before { id: 0, limit: 50 }
        );
    }

    #[test]
    fn bad_page_parameters_are_refused() {
        for bad in [
            &[("limit", "0")][..],
            &[("limit", "-1")],
            &[("limit", "abc")],
            &[("limit", "1.5")],
            &[("limit", "")],
            &[("before_id", "x")],
            &[("after_id", "1e3")],
            &[("before_id", "-1")],
            &[("after_id", "-1")],
        ] {
            assert!(parse_page(&q(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn since_is_an_rfc_3339_time() {
        assert_eq!(parse_since(&q(&[])).unwrap(), None);
        let t = parse_since(&q(&[("since", "2025-06-26T10:01:02.5+02:00")]))
            .unwrap()
            .unwrap();
        assert_eq!(t.to_string(), "2025-06-26 08:01:02.500");
        assert!(parse_since(&q(&[("since", "2025-06-26T08:01:02.345Z")])).is_ok());
        for bad in ["yesterday", "", "2025-06-26", "1750000000"] {
            assert!(parse_since(&q(&[("since", bad)])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn drafts_are_trimmed_typed_and_bounded() {
        let d = parse_draft(Some(&json!({"content": "  hi  "}))).unwrap();
        assert_eq!(
            d,
            Draft {
                content: "hi".into(),
                message_type: MessageType::Text
            }
        );
        let d = parse_draft(Some(&json!({"content": "😀", "message_type": "emoji"}))).unwrap();
        assert_eq!(d.message_type, MessageType::Emoji);
        assert!(parse_draft(Some(&json!({"content": "字".repeat(2000)}))).is_ok());
        assert!(parse_draft(Some(&json!({"content": "字".repeat(2001)}))).is_err());
        for bad in [
            json!("text"),
            json!([1]),
            json!(null),
            json!({}),
            json!({"content": 5}),
            json!({"content": null}),
            json!({"content": "   "}),
            json!({"content": "x", "message_type": null}),
            json!({"content": "x", "message_type": "video"}),
            json!({"content": "x", "message_type": 1}),
            json!({"content": "a\u{0}b"}),
        ] {
            assert!(parse_draft(Some(&bad)).is_err(), "{bad}");
        }
        assert!(parse_draft(None).is_err());
    }
}
