//! Recalling and deleting messages (PROTOCOL.md §6, `delete_message`): who
//! may delete what, erasing a message's content while its row stays (id,
//! author, times, and when and by whom it was deleted), and the list of
//! deletions a page that was offline asks for.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::{DomainError, Result};
use crate::schema::{messages, users};

/// Who asks for a deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleter {
    pub user_id: i32,
    pub is_admin: bool,
}

/// Why a deletion was refused, or that it failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// No such message, or it is deleted already.
    #[error("消息不存在或已被删除")]
    NotFound,
    /// Someone else's message, and the deleter is no admin.
    #[error("只能撤回自己的消息")]
    NotYours,
    /// The author's recall window has passed.
    #[error("消息发送已超过 {0} 秒，无法撤回")]
    TooLate(u64),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for DeleteError {
    fn from(e: diesel::result::Error) -> Self {
        DeleteError::Domain(e.into())
    }
}

/// A message just deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub id: i64,
    /// When it was deleted.
    pub deleted_at: NaiveDateTime,
    /// The image it showed, when no other (not deleted) message shows the
    /// same file: the caller removes the file.
    pub orphaned_image: Option<String>,
}

/// One entry of `GET /api/messages/deleted`: which message, who deleted it
/// and when (the `message_deleted` event's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedNotice {
    pub id: i64,
    pub username: String,
    pub deleted_at: NaiveDateTime,
}

/// Whether `by` may delete a message of `author` written at `written`, at
/// `now`: an admin any time, the author up to and including `recall` after.
pub fn may_delete(
    by: Deleter,
    author: i32,
    written: Option<NaiveDateTime>,
    now: NaiveDateTime,
    recall: chrono::Duration,
) -> std::result::Result<(), DeleteError> {
    if by.is_admin {
        return Ok(());
    }
    if by.user_id != author {
        return Err(DeleteError::NotYours);
    }
    let window = u64::try_from(recall.num_seconds()).unwrap_or(0);
    // A Flask-era row without a time cannot be shown to be recent.
    let written = written.ok_or(DeleteError::TooLate(window))?;
    if now - written > recall {
        return Err(DeleteError::TooLate(window));
    }
    Ok(())
}

/// Deletes message `id` if `by` may: its content is erased (and its type,
/// so that the cleanup finds no image in it) and it is marked deleted. The
/// row stays until the cleanup removes it with the rest of its age.
pub fn delete(
    conn: &mut DbConnection,
    id: i64,
    by: Deleter,
    now: NaiveDateTime,
    recall: chrono::Duration,
) -> std::result::Result<Deleted, DeleteError> {
    let found: Option<(i32, String, Option<String>, Option<NaiveDateTime>)> = messages::table
        .find(id)
        .filter(messages::deleted_at.is_null())
        .select((
            messages::user_id,
            messages::content,
            messages::message_type,
            messages::timestamp,
        ))
        .first(conn)
        .optional()?;
    let Some((author, content, kind, written)) = found else {
        return Err(DeleteError::NotFound);
    };
    may_delete(by, author, written, now, recall)?;
    // Only the first of two concurrent deletions (any node) changes the row;
    // the content read above is what it held (a message is never edited).
    let erased = diesel::update(
        messages::table
            .find(id)
            .filter(messages::deleted_at.is_null()),
    )
    .set((
        messages::content.eq(""),
        messages::message_type.eq(None::<String>),
        messages::deleted_at.eq(Some(now)),
        messages::deleted_by.eq(Some(by.user_id)),
    ))
    .execute(conn)?;
    if erased == 0 {
        return Err(DeleteError::NotFound);
    }
    let orphaned_image = match kind.as_deref() {
        Some("image") => {
            let still_shown =
                crate::messages::referenced_images(conn, std::slice::from_ref(&content))?;
            (!still_shown.contains(&content)).then_some(content)
        }
        _ => None,
    };
    Ok(Deleted {
        id,
        deleted_at: now,
        orphaned_image,
    })
}

/// Deletions at or after `since` of messages written at or after `window`
/// (the retention window), oldest deletion first.
pub fn deleted_since(
    conn: &mut DbConnection,
    since: Option<NaiveDateTime>,
    window: NaiveDateTime,
) -> Result<Vec<DeletedNotice>> {
    let mut query = messages::table
        .filter(messages::deleted_at.is_not_null())
        .filter(messages::timestamp.ge(window))
        .select((
            messages::id,
            messages::deleted_by,
            messages::user_id,
            messages::deleted_at,
        ))
        .order((messages::deleted_at.asc(), messages::id.asc()))
        .into_boxed();
    if let Some(since) = since {
        query = query.filter(messages::deleted_at.ge(since));
    }
    let rows: Vec<(i64, Option<i32>, i32, Option<NaiveDateTime>)> = query.load(conn)?;
    // Who deleted each: the deleter (the author when it is unknown).
    let mut ids: Vec<i32> = rows.iter().map(|r| r.1.unwrap_or(r.2)).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut names: HashMap<i32, String> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let found: Vec<(i32, String)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::username))
            .load(conn)?;
        names.extend(found);
    }
    Ok(rows
        .into_iter()
        .filter_map(|(id, by, author, at)| {
            Some(DeletedNotice {
                id,
                username: names.get(&by.unwrap_or(author))?.clone(),
                deleted_at: at?,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_750_000_000 + secs, 0)
            .map(|d| d.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn authors_recall_within_the_window_and_admins_delete_any_time() {
        let recall = chrono::Duration::seconds(120);
        let alice = Deleter {
            user_id: 1,
            is_admin: false,
        };
        let admin = Deleter {
            user_id: 9,
            is_admin: true,
        };
        assert!(may_delete(alice, 1, Some(t(0)), t(120), recall).is_ok());
        assert!(matches!(
            may_delete(alice, 1, Some(t(0)), t(121), recall),
            Err(DeleteError::TooLate(120))
        ));
        assert!(matches!(
            may_delete(alice, 1, None, t(0), recall),
            Err(DeleteError::TooLate(120))
        ));
        assert!(matches!(
            may_delete(alice, 2, Some(t(0)), t(1), recall),
            Err(DeleteError::NotYours)
        ));
        assert!(may_delete(admin, 2, Some(t(0)), t(1_000_000), recall).is_ok());
        assert!(may_delete(admin, 2, None, t(0), recall).is_ok());
    }
}
