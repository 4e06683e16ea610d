//! The wire protocol in one place (docs/PROTOCOL.md): every Socket.IO event
//! name and every JSON body the server sends, as types. Handlers build these;
//! nothing else writes a payload by hand, and a misspelt event does not compile.
//! The snapshots beside this file pin each body's JSON.

use chat_domain::{Message, PublicUser};
use serde::Serialize;

/// The Socket.IO events of the default namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Client → server: a message to store and broadcast.
    SendMessage,
    /// Server → all: a stored message ([`Message`]).
    NewMessage,
    /// Server → all: a user's first socket connected ([`PresenceNotice`]).
    UserJoined,
    /// Server → all: a user's last socket left ([`PresenceNotice`]).
    UserLeft,
    /// Server → all, and to each new socket: who is online ([`OnlineUsers`]).
    OnlineUsers,
    /// Server → one socket: a refusal when the client asked for no ack ([`ErrorEvent`]).
    Error,
    /// Client → server: recall or delete a message (`{"id": int}`, with an ack).
    DeleteMessage,
    /// Server → all: a message was deleted ([`MessageDeleted`]).
    MessageDeleted,
    /// Client → server, admins only: ban a user (`{"username": str}`, with an ack).
    BanUser,
    /// Client → server, admins only: lift a ban (`{"username": str}`, with an ack).
    UnbanUser,
    /// Server → all but the banned user: a user was banned ([`UserBanned`]).
    UserBanned,
    /// Client → server: the user is typing or stopped (`{"typing": bool}`).
    Typing,
    /// Server → all but the user's own sockets: [`UserTyping`].
    UserTyping,
    /// Server → one socket: nobody listens to it; a send that fails at once
    /// finds a socket whose queue is full (see `socket::broadcast`).
    Probe,
}

impl Event {
    pub const fn name(self) -> &'static str {
        match self {
            Event::SendMessage => "send_message",
            Event::NewMessage => "new_message",
            Event::UserJoined => "user_joined",
            Event::UserLeft => "user_left",
            Event::OnlineUsers => "online_users",
            Event::Error => "error",
            Event::DeleteMessage => "delete_message",
            Event::MessageDeleted => "message_deleted",
            Event::BanUser => "ban_user",
            Event::UnbanUser => "unban_user",
            Event::UserBanned => "user_banned",
            Event::Typing => "typing",
            Event::UserTyping => "user_typing",
            Event::Probe => "_probe",
        }
    }
}

impl AsRef<str> for Event {
    fn as_ref(&self) -> &str {
        self.name()
    }
}

/// Every body that starts with `"success": true`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(into = "bool")]
pub struct Success;

impl From<Success> for bool {
    fn from(_: Success) -> bool {
        true
    }
}

/// Every failure: `{"success": false, "error": "…"}` over HTTP and in acks.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    success: bool,
    pub error: String,
}

impl Failure {
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            success: false,
            error: error.into(),
        }
    }
}

/// `{"success": true}` (logout).
#[derive(Debug, Clone, Serialize)]
pub struct Done {
    pub success: Success,
}

/// register, login, current_user: `{"success": true, "user": User}`.
#[derive(Debug, Clone, Serialize)]
pub struct UserBody {
    pub success: Success,
    pub user: AccountUser,
}

/// The `User` of register, login and current_user: the Flask fields, plus
/// `is_admin` (§6, additive).
#[derive(Debug, Clone, Serialize)]
pub struct AccountUser {
    #[serde(flatten)]
    pub user: PublicUser,
    pub is_admin: bool,
}

/// `user_banned`: who was banned, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserBanned {
    pub username: String,
    pub by: String,
    pub timestamp: String,
}

/// `user_typing`: who is typing, or stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserTyping<'a> {
    pub username: &'a str,
    pub typing: bool,
}

/// `message_deleted`, and each entry of `GET /api/messages/deleted`: which
/// message, who deleted it, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageDeleted {
    pub id: i64,
    pub username: String,
    pub timestamp: String,
}

impl From<&chat_domain::DeletedNotice> for MessageDeleted {
    fn from(n: &chat_domain::DeletedNotice) -> Self {
        Self {
            id: n.id,
            username: n.username.clone(),
            timestamp: chat_domain::timestamps::to_rfc3339(&n.deleted_at),
        }
    }
}

/// `GET /api/messages/deleted`: deletions, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct DeletedList {
    pub success: Success,
    pub deleted: Vec<MessageDeleted>,
}

/// `GET /api/messages`: a page, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct MessagesPage {
    pub success: Success,
    pub messages: Vec<Message>,
}

/// `POST /api/upload`.
#[derive(Debug, Clone, Serialize)]
pub struct Uploaded {
    pub success: Success,
    pub url: String,
    pub filename: String,
}

/// `GET /api/settings`: what the page needs to know before it uploads.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub success: Success,
    pub max_upload_bytes: u64,
    /// How long after sending an author may recall a message (§6.7).
    pub recall_seconds: u32,
}

/// The acknowledgement of an accepted `send_message`.
#[derive(Debug, Clone, Serialize)]
pub struct MessageAck<'a> {
    pub success: Success,
    pub message: &'a Message,
}

/// `error`: a refusal sent as an event, for a client that asked for no ack.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorEvent {
    pub message: String,
}

/// `user_joined` and `user_left`.
#[derive(Debug, Clone, Serialize)]
pub struct PresenceNotice<'a> {
    pub username: &'a str,
    pub online_count: usize,
    pub timestamp: String,
}

/// `online_users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OnlineUsers {
    pub count: usize,
    /// Sorted usernames.
    pub users: Vec<String>,
}

/// `GET /healthz`: `status` is `ok` or `error`; each part says `ok` or what is wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    pub status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_domain::MessageType;

    fn time() -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2025, 6, 26)
            .and_then(|d| d.and_hms_milli_opt(8, 1, 2, 345))
            .expect("a valid time")
    }

    fn alice() -> PublicUser {
        PublicUser {
            id: 1,
            username: "alice".into(),
            created_at: Some(time()),
        }
    }

    fn message() -> Message {
        Message {
            id: 42,
            user_id: 1,
            username: "alice".into(),
            content: "hello".into(),
            message_type: MessageType::Text.as_str().into(),
            timestamp: Some(time()),
        }
    }

    #[test]
    fn event_names() {
        let names: Vec<_> = [
            Event::SendMessage,
            Event::NewMessage,
            Event::UserJoined,
            Event::UserLeft,
            Event::OnlineUsers,
            Event::Error,
            Event::DeleteMessage,
            Event::MessageDeleted,
            Event::BanUser,
            Event::UnbanUser,
            Event::UserBanned,
            Event::Typing,
            Event::UserTyping,
            Event::Probe,
        ]
        .iter()
        .map(|e| e.name())
        .collect();
        insta::assert_json_snapshot!(names);
    }

    #[test]
    fn http_bodies() {
        insta::assert_json_snapshot!("failure", Failure::new("用户名或密码错误"));
        insta::assert_json_snapshot!("done", Done { success: Success });
        insta::assert_json_snapshot!(
            "user",
            UserBody {
                success: Success,
                user: AccountUser {
                    user: alice(),
                    is_admin: false
                }
            }
        );
        insta::assert_json_snapshot!(
            "deleted_list",
            DeletedList {
                success: Success,
                deleted: vec![MessageDeleted {
                    id: 42,
                    username: "alice".into(),
                    timestamp: "2025-06-26T08:01:02.345Z".into()
                }]
            }
        );
        insta::assert_json_snapshot!(
            "messages_page",
            MessagesPage {
                success: Success,
                messages: vec![message()]
            }
        );
        insta::assert_json_snapshot!(
            "uploaded",
            Uploaded {
                success: Success,
                url: "/uploads/3f2a.png".into(),
                filename: "3f2a.png".into()
            }
        );
        insta::assert_json_snapshot!(
            "settings",
            Settings {
                success: Success,
                max_upload_bytes: 5_242_880,
                recall_seconds: 120
            }
        );
        insta::assert_json_snapshot!(
            "health",
            Health {
                database: "ok".into(),
                node: None,
                redis: None,
                status: "ok"
            }
        );
    }

    #[test]
    fn socket_payloads() {
        let m = message();
        insta::assert_json_snapshot!(
            "message_ack",
            MessageAck {
                success: Success,
                message: &m
            }
        );
        insta::assert_json_snapshot!("new_message", m);
        insta::assert_json_snapshot!("delete_ack", Done { success: Success });
        insta::assert_json_snapshot!(
            "message_deleted",
            MessageDeleted {
                id: 42,
                username: "admin".into(),
                timestamp: "2025-06-26T08:01:02.345Z".into()
            }
        );
        insta::assert_json_snapshot!(
            "user_banned",
            UserBanned {
                username: "spammer".into(),
                by: "admin".into(),
                timestamp: "2025-06-26T08:01:02.345Z".into()
            }
        );
        insta::assert_json_snapshot!(
            "user_typing",
            UserTyping {
                username: "小明",
                typing: true
            }
        );
        insta::assert_json_snapshot!(
            "error_event",
            ErrorEvent {
                message: "发送太频繁，请稍后再试".into()
            }
        );
        insta::assert_json_snapshot!(
            "user_joined",
            PresenceNotice {
                username: "alice",
                online_count: 2,
                timestamp: "2025-06-26T08:01:02.345Z".into()
            }
        );
        insta::assert_json_snapshot!(
            "online_users",
            OnlineUsers {
                count: 2,
                users: vec!["alice".into(), "bob".into()]
            }
        );
    }
}
