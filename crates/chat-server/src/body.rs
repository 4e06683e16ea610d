//! Request bodies read so that a refused client is never left mid-send: a
//! server that answers and closes while the client still writes makes the
//! client see a reset instead of the answer. What is over the limit is read
//! and thrown away, up to a bound, before answering.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// Most of a refused body read (and discarded) before answering anyway.
const DRAIN_BYTES: u64 = 16 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Reads and discards what is left of a body, within the bounds above.
pub async fn drain(body: &mut BodyDataStream) {
    let mut left = DRAIN_BYTES;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = body.next().await {
            left = left.saturating_sub(chunk.len() as u64);
            if left == 0 {
                break;
            }
        }
    })
    .await;
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("body over {0} bytes")]
    TooLarge(usize),
    #[error("body could not be read")]
    Broken,
}

/// The whole body, if it is at most `limit` bytes.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ReadError::Broken)?;
        if buf.len() + chunk.len() > limit {
            drain(&mut stream).await;
            return Err(ReadError::TooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
