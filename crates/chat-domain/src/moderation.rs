//! Banning and the operator's actions (PROTOCOL.md §6 `ban_user`, chat-admin):
//! who may ban whom, the account's ban mark, ending a user's sessions, a new
//! password, the last time a user was seen, and the events that tell running
//! servers what chat-admin did.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::{DomainError, Result};
use crate::schema::{admin_events, sessions, users};
use crate::users::User;

/// Who asks for a ban or an unban.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moderator {
    pub user_id: i32,
    pub is_admin: bool,
}

/// Why a ban or an unban was refused, or that it failed.
#[derive(Debug, thiserror::Error)]
pub enum BanError {
    #[error("只有管理员可以封禁或解封用户")]
    NotAdmin,
    #[error("用户不存在")]
    UnknownUser,
    #[error("不能封禁自己")]
    Yourself,
    #[error("不能封禁管理员")]
    AnotherAdmin,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for BanError {
    fn from(e: diesel::result::Error) -> Self {
        BanError::Domain(e.into())
    }
}

/// Whether `by` may ban `target` (`target_is_admin`: named by the operator).
/// An unban asks only that `by` is an admin.
pub fn may_ban(
    by: Moderator,
    target: &User,
    target_is_admin: bool,
) -> std::result::Result<(), BanError> {
    if !by.is_admin {
        return Err(BanError::NotAdmin);
    }
    if by.user_id == target.id {
        return Err(BanError::Yourself);
    }
    if target_is_admin {
        return Err(BanError::AnotherAdmin);
    }
    Ok(())
}

/// The account of this exact name, or [`BanError::UnknownUser`].
pub fn target(conn: &mut DbConnection, username: &str) -> std::result::Result<User, BanError> {
    crate::users::find_by_username(conn, username)?.ok_or(BanError::UnknownUser)
}

/// Marks the account banned (`by`: the admin; None for the operator) and ends
/// its sessions. Returns whether it was not banned before: banning a banned
/// user changes nothing.
pub fn ban(
    conn: &mut DbConnection,
    user_id: i32,
    by: Option<i32>,
    now: NaiveDateTime,
) -> Result<bool> {
    conn.transaction(|conn| {
        let marked = diesel::update(
            users::table
                .find(user_id)
                .filter(users::banned_at.is_null()),
        )
        .set((users::banned_at.eq(Some(now)), users::banned_by.eq(by)))
        .execute(conn)?;
        end_sessions(conn, user_id)?;
        Ok(marked == 1)
    })
}

/// Lifts a ban. Returns whether the user was banned. Sessions that a ban ended
/// stay ended: the user logs in again.
pub fn unban(conn: &mut DbConnection, user_id: i32) -> Result<bool> {
    let lifted = diesel::update(
        users::table
            .find(user_id)
            .filter(users::banned_at.is_not_null()),
    )
    .set((
        users::banned_at.eq(None::<NaiveDateTime>),
        users::banned_by.eq(None::<i32>),
    ))
    .execute(conn)?;
    Ok(lifted == 1)
}

/// Ends every session of the user (every node reads sessions from the
/// database). Returns how many there were.
pub fn end_sessions(conn: &mut DbConnection, user_id: i32) -> Result<usize> {
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

/// Stores a new password hash and ends the user's sessions, together.
pub fn set_password(conn: &mut DbConnection, user_id: i32, hash: &str) -> Result<usize> {
    conn.transaction(|conn| {
        let changed = diesel::update(users::table.find(user_id))
            .set(users::password_hash.eq(hash))
            .execute(conn)?;
        if changed == 0 {
            return Err(DomainError::Query(diesel::result::Error::NotFound));
        }
        end_sessions(conn, user_id)
    })
}

/// Records that these users were seen (a login, a socket joining or
/// leaving): one statement for all of them.
pub fn touch(conn: &mut DbConnection, user_ids: &[i32], now: NaiveDateTime) -> Result<()> {
    diesel::update(users::table.filter(users::id.eq_any(user_ids)))
        .set(users::last_seen_at.eq(Some(now)))
        .execute(conn)?;
    Ok(())
}

/// What chat-admin did, for running servers to apply to their own sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// A user banned: close their sockets, tell the room.
    Ban,
    /// A new password: close the user's sockets.
    ResetPassword,
    /// A message deleted: tell the room.
    DeleteMessage,
}

impl AdminAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::Ban => "ban",
            AdminAction::ResetPassword => "reset_password",
            AdminAction::DeleteMessage => "delete_message",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Ban, Self::ResetPassword, Self::DeleteMessage]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEvent {
    pub id: i64,
    pub action: AdminAction,
    /// The user banned or given a new password.
    pub user_id: Option<i32>,
    /// The message deleted.
    pub message_id: Option<i64>,
    /// Who did it, as the room is told (`by` of `user_banned`, `username` of
    /// `message_deleted`).
    pub actor: String,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = admin_events)]
struct NewEvent<'a> {
    kind: &'a str,
    user_id: Option<i32>,
    message_id: Option<i64>,
    actor: &'a str,
    created_at: NaiveDateTime,
}

/// How long events are kept: servers read them every few seconds, and one
/// that starts later begins after the newest.
pub const EVENTS_KEPT: chrono::Duration = chrono::Duration::hours(1);

/// Records an action for the running servers, and forgets old ones.
pub fn record(
    conn: &mut DbConnection,
    action: AdminAction,
    user_id: Option<i32>,
    message_id: Option<i64>,
    actor: &str,
    now: NaiveDateTime,
) -> Result<()> {
    diesel::delete(admin_events::table.filter(admin_events::created_at.lt(now - EVENTS_KEPT)))
        .execute(conn)?;
    diesel::insert_into(admin_events::table)
        .values(NewEvent {
            kind: action.as_str(),
            user_id,
            message_id,
            actor,
            created_at: now,
        })
        .execute(conn)?;
    Ok(())
}

/// Events recorded at or after `since`, oldest first (at most `limit`).
/// Readers go by time, not by id: on PostgreSQL two chat-admin runs that
/// overlap may commit their ids out of order, so a reader that went past the
/// larger id would never see the smaller one. Unknown kinds (from a newer
/// chat-admin) are skipped.
pub fn events_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    limit: i64,
) -> Result<Vec<AdminEvent>> {
    type Row = (i64, String, Option<i32>, Option<i64>, String, NaiveDateTime);
    let rows: Vec<Row> = admin_events::table
        .filter(admin_events::created_at.ge(since))
        .order(admin_events::id.asc())
        .limit(limit)
        .select((
            admin_events::id,
            admin_events::kind,
            admin_events::user_id,
            admin_events::message_id,
            admin_events::actor,
            admin_events::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, user_id, message_id, actor, created_at)| {
            Some(AdminEvent {
                id,
                action: AdminAction::parse(&kind)?,
                user_id,
                message_id,
                actor,
                created_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i32) -> User {
        User {
            id,
            username: format!("u{id}"),
            password_hash: String::new(),
            created_at: None,
            banned_at: None,
        }
    }

    #[test]
    fn only_admins_ban_and_never_themselves_or_another_admin() {
        let admin = Moderator {
            user_id: 1,
            is_admin: true,
        };
        let member = Moderator {
            user_id: 2,
            is_admin: false,
        };
        assert!(may_ban(admin, &user(3), false).is_ok());
        assert!(matches!(
            may_ban(member, &user(3), false),
            Err(BanError::NotAdmin)
        ));
        assert!(matches!(
            may_ban(admin, &user(1), true),
            Err(BanError::Yourself)
        ));
        assert!(matches!(
            may_ban(admin, &user(4), true),
            Err(BanError::AnotherAdmin)
        ));
    }

    #[test]
    fn actions_are_stored_by_name() {
        for a in [
            AdminAction::Ban,
            AdminAction::ResetPassword,
            AdminAction::DeleteMessage,
        ] {
            assert_eq!(AdminAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(AdminAction::parse("unknown"), None);
    }
}
