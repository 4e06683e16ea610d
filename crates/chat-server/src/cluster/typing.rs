//! Who is typing, kept in Redis (crate::typing): the 2-second pacing of
//! `typing: true` and the `false` that follows it hold for a user whatever
//! nodes their tabs are on. When Redis cannot be reached, each node keeps
//! its own until it returns.

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::Script;

use super::limits::guarded;
use super::Reachability;
use crate::typing::{TypingState, TypingTracker, TOLD_FOR, TYPING_EVERY};

/// KEYS: the pacing key, the told key. ARGV: pacing ms, told ms. Returns 1
/// when this `true` is to be forwarded.
const TYPING_TRUE: &str = r"
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
  return 1
end
return 0
";

pub struct RedisTyping {
    conn: ConnectionManager,
    reachability: Reachability,
    script: Script,
    fallback: TypingTracker,
}

impl RedisTyping {
    pub fn new(conn: ConnectionManager, reachability: Reachability) -> Self {
        Self {
            conn,
            reachability,
            script: Script::new(TYPING_TRUE),
            fallback: TypingTracker::default(),
        }
    }
}

fn keys(user: i32) -> (String, String) {
    (
        format!("chat:typing:{user}:paced"),
        format!("chat:typing:{user}:told"),
    )
}

#[async_trait]
impl TypingState for RedisTyping {
    async fn typing(&self, user: i32, typing: bool) -> Option<bool> {
        if !typing {
            return self.stopped(user).await.then_some(false);
        }
        let (paced, told) = keys(user);
        let mut invocation = self.script.key(paced);
        invocation
            .key(told)
            .arg(TYPING_EVERY.as_millis() as u64)
            .arg(TOLD_FOR.as_millis() as u64);
        let mut conn = self.conn.clone();
        let call = invocation.invoke_async::<i64>(&mut conn);
        match guarded(&self.reachability, call).await {
            Some(forward) => (forward == 1).then_some(true),
            None => self.fallback.typing(user, true).await,
        }
    }

    async fn stopped(&self, user: i32) -> bool {
        let (_, told) = keys(user);
        let mut conn = self.conn.clone();
        let mut del = redis::cmd("DEL");
        del.arg(told);
        let call = del.query_async::<i64>(&mut conn);
        match guarded(&self.reachability, call).await {
            Some(deleted) => deleted == 1 || self.fallback.stopped(user).await,
            None => self.fallback.stopped(user).await,
        }
    }

    fn forget(&self, user: i32) {
        self.fallback.forget(user);
    }

    fn sweep(&self) {
        self.fallback.sweep();
    }
}
