//! Old messages: deleted in short batches, and the image URLs they leave
//! unreferenced.

use std::collections::BTreeSet;
use std::time::Duration;

use chat_domain::db::DbConnection;
use chat_domain::messages;
use chrono::NaiveDateTime;

use chat_domain::DomainError;

/// What the message pass removed (or would remove).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MessagePass {
    pub messages: usize,
    pub batches: usize,
    /// Image URLs of the removed messages, deduplicated.
    pub image_urls: BTreeSet<String>,
}

/// Deletes every message written before `cutoff`, `batch_size` at a time: each
/// batch is its own short transaction, and after a full batch the loop sleeps
/// `pause` so the server gets the database in between. Stops at the first
/// batch that deletes nothing. With `dry_run`, only counts.
pub fn purge(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    batch_size: u32,
    pause: Duration,
    dry_run: bool,
) -> Result<MessagePass, DomainError> {
    if dry_run {
        let found = messages::older_than(conn, cutoff)?;
        return Ok(MessagePass {
            messages: found.deleted,
            batches: 0,
            image_urls: found.image_urls.into_iter().collect(),
        });
    }
    let mut pass = MessagePass::default();
    loop {
        let batch = messages::delete_older_than(conn, cutoff, i64::from(batch_size))?;
        if batch.deleted == 0 {
            break;
        }
        pass.batches += 1;
        pass.messages += batch.deleted;
        pass.image_urls.extend(batch.image_urls);
        tracing::debug!(
            batch = pass.batches,
            deleted = batch.deleted,
            "deleted a batch of messages"
        );
        if batch.deleted >= batch_size as usize && !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    Ok(pass)
}

/// Of these URLs, the ones a message still references once the old ones are
/// gone. After a real deletion that is any stored message (new ones included,
/// so nothing a newer message shows is removed); in a dry run, the messages
/// that the deletion would keep.
pub fn still_referenced(
    conn: &mut DbConnection,
    urls: &[String],
    cutoff: NaiveDateTime,
    dry_run: bool,
) -> Result<BTreeSet<String>, DomainError> {
    if urls.is_empty() {
        return Ok(BTreeSet::new());
    }
    let found = if dry_run {
        messages::referenced_images_kept(conn, urls, cutoff)?
    } else {
        messages::referenced_images(conn, urls)?
    };
    Ok(found.into_iter().collect())
}
