//! The ceiling to compare the chat server with: a bare socketioxide server, on
//! a current-thread runtime, with no database and no checks, speaking just
//! enough of the chat protocol for `chat-bench chat` (accounts always succeed
//! and hand out a `session` cookie; `send_message` is broadcast as
//! `new_message` with a counter for id, then acknowledged; each connect
//! broadcasts `online_users` with the count). Used by scripts/bench.sh's
//! `bare` comparison; never a server for people.
//!
//! With `coalesced`, each connect sends `user_joined` to every socket at
//! once (PROTOCOL.md §4 makes that notice immediate), and only marks the list
//! as changed: one `online_users` goes out every 50 ms while it has changed.
//! That is the fair ceiling for chat-server's reconnect storm, which paces its
//! lists the same way and owes the same notices.
//!
//! Usage: cargo run --release -p chat-bench --example bare_server -- PORT [coalesced]

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::header::SET_COOKIE;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

static NEXT_ID: AtomicI64 = AtomicI64::new(1);
static ONLINE: AtomicUsize = AtomicUsize::new(0);
static COALESCED: AtomicBool = AtomicBool::new(false);
/// The count changed since the last coalesced list.
static CHANGED: AtomicBool = AtomicBool::new(false);
const COALESCE_EVERY: Duration = Duration::from_millis(50);
const SEND_QUEUE_PACKETS: usize = 1024;

async fn account() -> impl IntoResponse {
    (
        [(SET_COOKIE, "session=bare; Path=/")],
        Json(json!({ "success": true })),
    )
}

async fn on_connect(socket: SocketRef, io: SocketIo) {
    socket.on(
        "send_message",
        async |io: SocketIo, Data(data): Data<Value>, ack: AckSender| {
            let message = json!({
                "id": NEXT_ID.fetch_add(1, Ordering::Relaxed),
                "user_id": 0,
                "username": "bare",
                "content": data["content"],
                "message_type": "text",
                "timestamp": "",
            });
            let _ = io.emit("new_message", &message).await;
            let _ = ack.send(&json!({ "success": true, "message": message }));
        },
    );
    socket.on_disconnect(async || {
        ONLINE.fetch_sub(1, Ordering::Relaxed);
    });
    let count = ONLINE.fetch_add(1, Ordering::Relaxed) + 1;
    if COALESCED.load(Ordering::Relaxed) {
        let _ = io
            .emit(
                "user_joined",
                &json!({ "username": "bare", "online_count": count, "timestamp": "" }),
            )
            .await;
        CHANGED.store(true, Ordering::Relaxed);
        return;
    }
    let _ = io
        .emit("online_users", &json!({ "count": count, "users": [] }))
        .await;
}

/// One `online_users` every 50 ms while the count keeps changing.
async fn coalesce_lists(io: SocketIo) {
    let mut every = tokio::time::interval(COALESCE_EVERY);
    loop {
        every.tick().await;
        if CHANGED.swap(false, Ordering::Relaxed) {
            let count = ONLINE.load(Ordering::Relaxed);
            let _ = io
                .emit("online_users", &json!({ "count": count, "users": [] }))
                .await;
        }
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(5099);
    let coalesced = std::env::args().nth(2).as_deref() == Some("coalesced");
    COALESCED.store(coalesced, Ordering::Relaxed);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            // chat-server's default send queue (`--send-queue-packets`):
            // socketioxide's 128 drops packets in a storm of `user_joined`.
            let (layer, io) = SocketIo::builder()
                .max_buffer_size(SEND_QUEUE_PACKETS)
                .build_layer();
            io.ns("/", on_connect);
            if coalesced {
                tokio::spawn(coalesce_lists(io.clone()));
            }
            let app = Router::new()
                .route("/api/register", post(account))
                .route("/api/login", post(account))
                .layer(layer);
            // chat-server's listen queue: with tokio's 1,024 a reconnect storm
            // overflows it, and the dropped clients retry a second later.
            let listener = chat_server::http_server::listen(
                &format!("127.0.0.1:{port}"),
                chat_server::config::DEFAULT_LISTEN_BACKLOG,
            )
            .await?;
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, app).await
        })
}
