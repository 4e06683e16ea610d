//! What a socket carries from its handshake to its disconnect, in one
//! extension: socketioxide boxes every extension in a table of the socket's
//! own. heaptrack of 2,000 idle sockets: 104 bytes for this context (and a
//! table of one), against 614 for four boxed extensions, three of them
//! `Arc`s of their own, in a table of eight.

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::sync::Arc;

use super::{SocketOrder, SocketSlot, SocketUser};

/// Set by the handshake (`authenticate`); handlers take it with
/// `Extension<SocketContext>`, a clone of one `Arc`.
#[derive(Debug, Clone)]
pub struct SocketContext(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    user: SocketUser,
    /// `--sockets-per-user`'s slot, None when the limit is lifted.
    slot: Option<SocketSlot>,
    presence: AtomicU8,
    order: SocketOrder,
}

// A socket's place in presence: whichever of the connect and disconnect
// handlers comes second settles it, so a socket that leaves while it is
// being announced is counted out exactly once.
const PENDING: u8 = 0;
const JOINED: u8 = 1;
const LEFT: u8 = 2;

impl SocketContext {
    pub fn new(user: SocketUser, slot: Option<SocketSlot>) -> Self {
        Self(Arc::new(Inner {
            user,
            slot,
            presence: AtomicU8::new(PENDING),
            order: SocketOrder::default(),
        }))
    }

    pub fn user(&self) -> &SocketUser {
        &self.0.user
    }

    pub fn order(&self) -> &SocketOrder {
        &self.0.order
    }

    /// The connect handler counted the socket in: true, unless the socket
    /// left first (then its disconnect found nothing to undo, and the
    /// connect handler undoes it).
    pub fn joined(&self) -> bool {
        self.0
            .presence
            .compare_exchange(PENDING, JOINED, SeqCst, SeqCst)
            .is_ok()
    }

    /// The disconnect: gives the slot back, and tells whether the socket was
    /// counted in (so its leaving is the disconnect's to announce).
    pub fn left(&self) -> bool {
        if let Some(slot) = &self.0.slot {
            slot.release();
        }
        self.0.presence.swap(LEFT, SeqCst) == JOINED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::SocketSlots;

    fn user() -> SocketUser {
        SocketUser {
            id: 7,
            username: "alice".into(),
            session_id: "s".into(),
            is_admin: false,
        }
    }

    #[test]
    fn a_socket_that_joined_is_announced_leaving_once() {
        let context = SocketContext::new(user(), None);
        assert!(context.joined());
        assert!(context.left(), "the disconnect announces it");
        assert!(!context.left(), "and only once");
    }

    #[test]
    fn a_socket_that_left_while_joining_is_undone_by_the_connect() {
        let context = SocketContext::new(user(), None);
        assert!(!context.left(), "nothing to undo yet");
        assert!(!context.joined(), "the connect handler undoes it");
    }

    #[test]
    fn leaving_gives_the_slot_back() {
        let slots = SocketSlots::default();
        let context = SocketContext::new(user(), slots.take(7, 1));
        assert_eq!(slots.held(7), 1);
        let handler_copy = context.clone();
        handler_copy.left();
        assert_eq!(
            slots.held(7),
            0,
            "given back while a handler still holds the context"
        );
        drop((context, handler_copy));
        assert_eq!(slots.held(7), 0);
    }
}
