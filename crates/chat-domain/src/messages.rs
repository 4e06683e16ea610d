//! Chat messages as stored: insert, page through, and delete by age.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::error::Result;
use crate::schema::{messages, users};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    Text,
    Image,
    Emoji,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Text => "text",
            MessageType::Image => "image",
            MessageType::Emoji => "emoji",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(MessageType::Text),
            "image" => Some(MessageType::Image),
            "emoji" => Some(MessageType::Emoji),
            _ => None,
        }
    }
}

/// The `Message` object of the protocol.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub user_id: i32,
    pub username: String,
    pub content: String,
    pub message_type: String,
    #[serde(serialize_with = "crate::timestamps::serialize")]
    pub timestamp: Option<NaiveDateTime>,
}

/// A message accepted for storage; the author's name rides along so the stored
/// message can be returned without a second query.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub user_id: i32,
    pub username: String,
    pub content: String,
    pub message_type: MessageType,
    pub timestamp: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = messages)]
struct MessageRow<'a> {
    user_id: i32,
    content: &'a str,
    message_type: &'a str,
    timestamp: NaiveDateTime,
}

/// Rows per INSERT statement: four parameters each stays under the smallest
/// limit of bound parameters SQLite has had (999).
const ROWS_PER_INSERT: usize = 200;

/// Stores messages all or none (one commit for what arrived together) and
/// returns them with their ids, in order.
pub fn insert_batch(conn: &mut DbConnection, batch: &[NewMessage]) -> Result<Vec<Message>> {
    match batch.len() {
        0 => Ok(Vec::new()),
        // One statement is atomic by itself: one round trip on PostgreSQL.
        n if n <= ROWS_PER_INSERT => insert_rows(conn, batch),
        _ => conn.transaction(|conn| {
            let mut stored = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(ROWS_PER_INSERT) {
                stored.extend(insert_rows(conn, chunk)?);
            }
            Ok(stored)
        }),
    }
}

/// One multi-row INSERT.
fn insert_rows(conn: &mut DbConnection, batch: &[NewMessage]) -> Result<Vec<Message>> {
    let rows: Vec<MessageRow<'_>> = batch
        .iter()
        .map(|m| MessageRow {
            user_id: m.user_id,
            content: &m.content,
            message_type: m.message_type.as_str(),
            timestamp: m.timestamp,
        })
        .collect();
    let insert = diesel::insert_into(messages::table)
        .values(&rows)
        .returning(messages::id);
    // A multi-row INSERT is backend-specific SQL in Diesel (no DEFAULT in
    // SQLite), so it runs on the concrete connection.
    let mut ids: Vec<i64> = match conn {
        DbConnection::Sqlite(conn) => insert.get_results(conn)?,
        DbConnection::Pg(conn) => insert.get_results(conn)?,
    };
    // Ids are assigned in the order of the rows; the order RETURNING lists
    // them in is not promised by either database.
    ids.sort_unstable();
    if ids.len() != batch.len() {
        return Err(diesel::result::Error::DeserializationError(
            format!(
                "{} rows inserted but {} ids returned",
                batch.len(),
                ids.len()
            )
            .into(),
        )
        .into());
    }
    Ok(ids
        .into_iter()
        .zip(batch)
        .map(|(id, m)| Message {
            id,
            user_id: m.user_id,
            username: m.username.clone(),
            content: m.content.clone(),
            message_type: m.message_type.as_str().to_owned(),
            timestamp: Some(m.timestamp),
        })
        .collect())
}

pub fn insert(conn: &mut DbConnection, message: NewMessage) -> Result<Message> {
    let mut stored = insert_batch(conn, std::slice::from_ref(&message))?;
    Ok(stored.remove(0))
}

/// Which page of history: the newest `limit` before `before_id` (or overall),
/// or the oldest `limit` after `after_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Latest { limit: i64 },
    Before { id: i64, limit: i64 },
    After { id: i64, limit: i64 },
}

type MessageColumns = (
    messages::id,
    messages::user_id,
    users::username,
    messages::content,
    messages::message_type,
    messages::timestamp,
);
const MESSAGE_COLUMNS: MessageColumns = (
    messages::id,
    messages::user_id,
    users::username,
    messages::content,
    messages::message_type,
    messages::timestamp,
);

type MessageTuple = (
    i64,
    i32,
    String,
    String,
    Option<String>,
    Option<NaiveDateTime>,
);

fn from_tuple((id, user_id, username, content, kind, timestamp): MessageTuple) -> Message {
    Message {
        id,
        user_id,
        username,
        content,
        message_type: kind.unwrap_or_else(|| "text".to_owned()),
        timestamp,
    }
}

/// A page of messages newer than `since` (the retention window), oldest first.
pub fn page(conn: &mut DbConnection, page: Page, since: NaiveDateTime) -> Result<Vec<Message>> {
    let base = messages::table
        .inner_join(users::table)
        .filter(messages::timestamp.ge(since))
        .filter(messages::deleted_at.is_null())
        .select(MESSAGE_COLUMNS);
    let rows: Vec<MessageTuple> = match page {
        Page::Latest { limit } => base.order(messages::id.desc()).limit(limit).load(conn)?,
        Page::Before { id, limit } => base
            .filter(messages::id.lt(id))
            .order(messages::id.desc())
            .limit(limit)
            .load(conn)?,
        Page::After { id, limit } => base
            .filter(messages::id.gt(id))
            .order(messages::id.asc())
            .limit(limit)
            .load(conn)?,
    };
    let mut out: Vec<Message> = rows.into_iter().map(from_tuple).collect();
    if !matches!(page, Page::After { .. }) {
        out.reverse();
    }
    Ok(out)
}

/// What one batch of deletion removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeletedBatch {
    pub deleted: usize,
    /// The `content` of the deleted `image` messages (`/uploads/<name>`).
    pub image_urls: Vec<String>,
}

/// Deletes up to `batch_size` of the oldest messages written before `cutoff`.
/// Call it until it deletes nothing; each call is one short transaction, so a
/// running server is never locked out for long.
pub fn delete_older_than(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    batch_size: i64,
) -> Result<DeletedBatch> {
    // Pick the ids first, outside any transaction, then delete them in one
    // statement: a read that upgrades to a write could meet SQLite's BUSY
    // without waiting, a plain DELETE waits its turn.
    let ids: Vec<i64> = messages::table
        .filter(messages::timestamp.lt(cutoff))
        .order(messages::id.asc())
        .limit(batch_size.clamp(1, 10_000))
        .select(messages::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(DeletedBatch::default());
    }
    let removed: Vec<(Option<String>, String)> = diesel::delete(
        messages::table
            .filter(messages::id.eq_any(&ids))
            .filter(messages::timestamp.lt(cutoff)),
    )
    .returning((messages::message_type, messages::content))
    .get_results(conn)?;
    Ok(DeletedBatch {
        deleted: removed.len(),
        image_urls: removed
            .into_iter()
            .filter(|(kind, _)| kind.as_deref() == Some("image"))
            .map(|(_, content)| content)
            .collect(),
    })
}

/// How many messages were written before `cutoff`, and the images they
/// reference (what [`delete_older_than`] would remove; for dry runs).
pub fn older_than(conn: &mut DbConnection, cutoff: NaiveDateTime) -> Result<DeletedBatch> {
    let count: i64 = messages::table
        .filter(messages::timestamp.lt(cutoff))
        .count()
        .get_result(conn)?;
    let image_urls = messages::table
        .filter(messages::timestamp.lt(cutoff))
        .filter(messages::message_type.eq("image"))
        .select(messages::content)
        .load(conn)?;
    Ok(DeletedBatch {
        deleted: count as usize,
        image_urls,
    })
}

/// Of these image URLs, the ones some stored message still references.
pub fn referenced_images(conn: &mut DbConnection, urls: &[String]) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    // Bounded IN lists: SQLite allows at most 32766 bound parameters.
    for chunk in urls.chunks(500) {
        let rows: Vec<String> = messages::table
            .filter(messages::message_type.eq("image"))
            .filter(messages::content.eq_any(chunk))
            .select(messages::content)
            .distinct()
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Of these image URLs, the ones still referenced by a message that
/// [`delete_older_than`] with this `cutoff` would keep (written at or after
/// `cutoff`, or without a time). What a dry run of the cleanup asks, before
/// anything is deleted.
pub fn referenced_images_kept(
    conn: &mut DbConnection,
    urls: &[String],
    cutoff: NaiveDateTime,
) -> Result<HashSet<String>> {
    let mut found = HashSet::new();
    for chunk in urls.chunks(500) {
        let rows: Vec<String> = messages::table
            .filter(messages::message_type.eq("image"))
            .filter(messages::content.eq_any(chunk))
            .filter(
                messages::timestamp
                    .ge(cutoff)
                    .or(messages::timestamp.is_null()),
            )
            .select(messages::content)
            .distinct()
            .load(conn)?;
        found.extend(rows);
    }
    Ok(found)
}

/// The newest stored id (0 when there are none).
pub fn max_id(conn: &mut DbConnection) -> Result<i64> {
    let id: Option<i64> = messages::table
        .select(diesel::dsl::max(messages::id))
        .first(conn)?;
    Ok(id.unwrap_or(0))
}
