//! Request bodies that trickle in are cut off (issue 13): a client must
//! deliver at least [`MIN_BYTES`] of its body in every [`WINDOW`] that the
//! server spends waiting for it. Otherwise whoever reads the body gets an
//! error, and `crate::http_server` answers 408 and closes the connection,
//! whatever the handler made of the error (an upload, a JSON body, an
//! Engine.IO polling POST).
//!
//! Only the time spent waiting on the client counts: a handler that pauses
//! between reads (an upload writing to a slow disk) does not use up the
//! client's window.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::telemetry;

/// At least this many bytes ...
pub const MIN_BYTES: usize = 1024;
/// ... in every window of this much waiting.
pub const WINDOW: Duration = Duration::from_secs(10);

/// Refusal reason of `chat_refusals_total`.
pub const BODY_TOO_SLOW: &str = "body_too_slow";

/// The error a reader of a cut-off body gets.
#[derive(Debug, thiserror::Error)]
#[error("request body too slow: less than {MIN_BYTES} bytes in {WINDOW:?}")]
pub struct TooSlow;

/// Set once a body of the request was cut off; read by the connection to
/// answer 408 whatever the handler answered.
#[derive(Debug, Clone, Default)]
pub struct CutOff(Arc<AtomicBool>);

impl CutOff {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A request body held to the minimum rate.
pub struct GuardedBody<B> {
    inner: B,
    cut_off: CutOff,
    /// Bytes received in the current window.
    bytes: usize,
    /// Waiting already spent in the current window, before `waiting_since`.
    waited: Duration,
    /// Since when the current read has been waiting on the client.
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> GuardedBody<B> {
    pub fn new(inner: B, cut_off: CutOff) -> Self {
        Self {
            inner,
            cut_off,
            bytes: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
        }
    }

    /// The read stopped waiting: its wait counts in the window.
    fn stop_waiting(&mut self, now: Instant) {
        if let Some(since) = self.waiting_since.take() {
            self.waited += now - since;
        }
    }

    fn received(&mut self, n: usize) {
        self.bytes += n;
        if self.bytes >= MIN_BYTES {
            self.bytes = 0;
            self.waited = Duration::ZERO;
        }
    }

    /// Ready when the window is used up while waiting; else pending with
    /// the timer set for it.
    fn poll_window(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let since = *self.waiting_since.get_or_insert_with(Instant::now);
        let deadline = since + WINDOW.saturating_sub(self.waited);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx)
    }
}

impl<B> HttpBody for GuardedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.cut_off.is_set() {
            return Poll::Ready(Some(Err(TooSlow.into())));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stop_waiting(Instant::now());
                if let Some(Ok(frame)) = &frame {
                    if let Some(data) = frame.data_ref() {
                        this.received(data.len());
                    }
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.poll_window(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    this.cut_off.set();
                    telemetry::refused(BODY_TOO_SLOW);
                    Poll::Ready(Some(Err(TooSlow.into())))
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::channel::mpsc;
    use futures::SinkExt;
    use http_body_util::{BodyExt, StreamBody};

    type Chunk = Result<Frame<Bytes>, std::io::Error>;

    fn body() -> (
        mpsc::Sender<Chunk>,
        GuardedBody<StreamBody<mpsc::Receiver<Chunk>>>,
        CutOff,
    ) {
        let (tx, rx) = mpsc::channel(16);
        let cut = CutOff::default();
        let body = GuardedBody::new(StreamBody::new(rx), cut.clone());
        (tx, body, cut)
    }

    fn chunk(n: usize) -> Chunk {
        Ok(Frame::data(Bytes::from(vec![b'x'; n])))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_sends_nothing_is_cut_after_the_window() {
        let (_tx, mut body, cut) = body();
        let t0 = Instant::now();
        let e = body.frame().await.unwrap().unwrap_err();
        assert_eq!(Instant::now() - t0, WINDOW);
        assert!(e.is::<TooSlow>(), "{e}");
        assert!(cut.is_set());
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_under_the_minimum_is_cut_though_bytes_keep_coming() {
        let (mut tx, mut body, cut) = body();
        let t0 = Instant::now();
        tokio::spawn(async move {
            // 100 bytes a second: 1000 bytes per 10 s, under the minimum.
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if tx.send(chunk(100)).await.is_err() {
                    break;
                }
            }
        });
        let e = loop {
            match body.frame().await.unwrap() {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(e.is::<TooSlow>(), "{e}");
        assert_eq!(Instant::now() - t0, WINDOW);
        assert!(cut.is_set());
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_body_is_read_to_the_end() {
        let (mut tx, mut body, cut) = body();
        tokio::spawn(async move {
            // 1 KiB every 9 s, for a minute and a half.
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_secs(9)).await;
                tx.send(chunk(MIN_BYTES)).await.unwrap();
            }
        });
        let mut total = 0;
        while let Some(frame) = body.frame().await {
            total += frame.unwrap().into_data().unwrap().len();
        }
        assert_eq!(total, 10 * MIN_BYTES);
        assert!(!cut.is_set());
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_reader_spends_elsewhere_is_not_the_clients() {
        let (mut tx, mut body, cut) = body();
        tx.send(chunk(10)).await.unwrap();
        tx.send(chunk(10)).await.unwrap();
        body.frame().await.unwrap().unwrap();
        // The handler is busy for a minute (a slow disk) with data waiting.
        tokio::time::sleep(Duration::from_secs(60)).await;
        body.frame().await.unwrap().unwrap();
        assert!(!cut.is_set());
        drop(tx);
        assert!(body.frame().await.is_none());
    }
}
