//! `--sockets-per-user`: the sockets each user holds on this node, taken in
//! the handshake and given back when the socket goes. Counting here (not in
//! presence, which learns of a socket only after its handshake) keeps a
//! burst of simultaneous handshakes from slipping past the limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default, Clone)]
pub struct SocketSlots(Arc<Mutex<HashMap<i32, u64>>>);

impl SocketSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, u64>> {
        // Plain counts: a panic elsewhere leaves them usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for one more socket of `user_id`, if the user holds fewer than
    /// `room` here.
    pub fn take(&self, user_id: i32, room: u64) -> Option<SocketSlot> {
        let mut map = self.lock();
        let held = map.entry(user_id).or_default();
        if *held >= room {
            if *held == 0 {
                map.remove(&user_id);
            }
            return None;
        }
        *held += 1;
        Some(SocketSlot {
            slots: self.clone(),
            user_id,
            released: AtomicBool::new(false),
        })
    }

    /// Sockets `user_id` holds here.
    pub fn held(&self, user_id: i32) -> u64 {
        self.lock().get(&user_id).copied().unwrap_or(0)
    }

    fn give_back(&self, user_id: i32) {
        let mut map = self.lock();
        if let Some(held) = map.get_mut(&user_id) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                map.remove(&user_id);
            }
        }
    }
}

/// One socket's slot: given back by `release` on disconnect, or when the
/// socket is dropped without one (a handshake that failed later).
#[derive(Debug)]
pub struct SocketSlot {
    slots: SocketSlots,
    user_id: i32,
    released: AtomicBool,
}

impl SocketSlot {
    pub fn release(&self) {
        if !self.released.swap(true, Ordering::SeqCst) {
            self.slots.give_back(self.user_id);
        }
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_as_many_slots_as_there_is_room_and_gets_them_back() {
        let slots = SocketSlots::default();
        let a = slots.take(1, 2).expect("first");
        let b = slots.take(1, 2).expect("second");
        assert!(slots.take(1, 2).is_none(), "a third is refused");
        assert!(slots.take(2, 2).is_some(), "other users are apart");
        a.release();
        a.release();
        assert_eq!(slots.held(1), 1, "released once, however often asked");
        let c = slots.take(1, 2).expect("room again");
        drop(c);
        assert_eq!(slots.held(1), 1, "a dropped slot is given back");
        b.release();
        assert_eq!(slots.held(1), 0);
        assert!(slots.0.lock().unwrap().is_empty(), "nothing is left behind");
    }

    #[test]
    fn no_room_refuses_and_leaves_nothing_behind() {
        let slots = SocketSlots::default();
        assert!(slots.take(7, 0).is_none());
        assert_eq!(slots.held(7), 0);
        assert!(!slots.0.lock().unwrap().contains_key(&7));
    }
}
