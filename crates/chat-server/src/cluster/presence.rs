//! Presence shared by every node, in Redis. Sockets are counted per user and
//! per node, so that a node that dies without a goodbye can be counted out by
//! the others (see `membership`). Each node also keeps its own sockets in
//! memory, to put them back when Redis lost them (a restart, or this node
//! having been counted out while cut off).

use std::sync::atomic::AtomicBool;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::Script;

use super::Reachability;
use crate::presence::{MemoryPresence, OnlineUsers, Presence, PresenceError};

const COUNTS: &str = "chat:presence:counts";
const NAMES: &str = "chat:presence:names";
pub const NODES: &str = "chat:nodes";

pub fn node_key(node: &str) -> String {
    format!("chat:presence:node:{node}")
}

pub fn alive_key(node: &str) -> String {
    format!("chat:node:{node}:alive")
}

/// KEYS: counts, names, node hash, nodes. ARGV: user id, name, node id, sockets.
/// Returns the users online when the user went from 0 to some sockets, else -1.
const CONNECT: &str = r"
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[4])
if n == tonumber(ARGV[4]) then return redis.call('HLEN', KEYS[1]) end
return -1
";

/// KEYS: counts, names, node hash. ARGV: user id.
/// Returns the users online when that was the user's last socket, else -1.
const DISCONNECT: &str = r"
local mine = redis.call('HINCRBY', KEYS[3], ARGV[1], -1)
if mine < 0 then redis.call('HDEL', KEYS[3], ARGV[1]) return -1 end
if mine == 0 then redis.call('HDEL', KEYS[3], ARGV[1]) end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return redis.call('HLEN', KEYS[1])
end
return -1
";

/// KEYS: counts, names, the dead node's hash, nodes. ARGV: dead node id.
/// Counts the node's sockets out; returns the users online, then the names
/// of those who left with it.
const REAP: &str = r"
local entries = redis.call('HGETALL', KEYS[3])
local left = {}
for i = 1, #entries, 2 do
  local uid = entries[i]
  local n = redis.call('HINCRBY', KEYS[1], uid, -tonumber(entries[i + 1]))
  if n <= 0 then
    redis.call('HDEL', KEYS[1], uid)
    local name = redis.call('HGET', KEYS[2], uid)
    redis.call('HDEL', KEYS[2], uid)
    if name then table.insert(left, name) end
  end
end
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
table.insert(left, 1, tostring(redis.call('HLEN', KEYS[1])))
return left
";

/// KEYS: counts, names, node hash, nodes. ARGV: node id, then (user id,
/// name, sockets) for each user of the node. Sets the node's hash to exactly
/// that, moving the totals by the differences. Returns the users online, the
/// number who came back, their names, then the names of those who left.
const SYNC: &str = r"
redis.call('SADD', KEYS[4], ARGV[1])
local old = redis.call('HGETALL', KEYS[3])
local have, seen, came, went = {}, {}, {}, {}
for i = 1, #old, 2 do have[old[i]] = tonumber(old[i + 1]) end
for i = 2, #ARGV, 3 do
  local uid, name, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  seen[uid] = true
  local delta = n - (have[uid] or 0)
  if delta ~= 0 then
    redis.call('HSET', KEYS[3], uid, n)
    redis.call('HSET', KEYS[2], uid, name)
    local total = redis.call('HINCRBY', KEYS[1], uid, delta)
    if delta > 0 and total == delta then table.insert(came, name) end
  end
end
for uid, n in pairs(have) do
  if not seen[uid] then
    redis.call('HDEL', KEYS[3], uid)
    local total = redis.call('HINCRBY', KEYS[1], uid, -n)
    if total <= 0 then
      redis.call('HDEL', KEYS[1], uid)
      local name = redis.call('HGET', KEYS[2], uid)
      redis.call('HDEL', KEYS[2], uid)
      if name then table.insert(went, name) end
    end
  end
end
local out = {tostring(redis.call('HLEN', KEYS[1])), tostring(#came)}
for _, v in ipairs(came) do table.insert(out, v) end
for _, v in ipairs(went) do table.insert(out, v) end
return out
";

pub struct RedisPresence {
    conn: ConnectionManager,
    reachability: Reachability,
    node: String,
    node_key: String,
    /// This node's own sockets.
    local: MemoryPresence,
    connect: Script,
    disconnect: Script,
    reap: Script,
    sync: Script,
    /// An update failed: Redis may not hold this node's sockets right.
    stale: AtomicBool,
}

fn unavailable(e: redis::RedisError) -> PresenceError {
    PresenceError(e.to_string())
}

impl RedisPresence {
    pub fn new(conn: ConnectionManager, reachability: Reachability, node: &str) -> Self {
        Self {
            conn,
            reachability,
            node: node.to_owned(),
            node_key: node_key(node),
            local: MemoryPresence::default(),
            connect: Script::new(CONNECT),
            disconnect: Script::new(DISCONNECT),
            reap: Script::new(REAP),
            sync: Script::new(SYNC),
            stale: AtomicBool::new(false),
        }
    }

    async fn add(
        &self,
        user_id: i32,
        username: &str,
        sockets: usize,
    ) -> Result<Option<usize>, PresenceError> {
        let n: i64 = self
            .connect
            .key(COUNTS)
            .key(NAMES)
            .key(&self.node_key)
            .key(NODES)
            .arg(user_id)
            .arg(username)
            .arg(&self.node)
            .arg(sockets)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(usize::try_from(n).ok())
    }

    /// Counts a dead node's sockets out. Returns the users online and the
    /// names of those who left with it.
    pub async fn reap(&self, node: &str) -> Result<(usize, Vec<String>), PresenceError> {
        let mut out: Vec<String> = self
            .reap
            .key(COUNTS)
            .key(NAMES)
            .key(node_key(node))
            .key(NODES)
            .arg(node)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        let online = if out.is_empty() {
            0
        } else {
            out.remove(0).parse().unwrap_or(0)
        };
        Ok((online, out))
    }

    /// Makes Redis hold exactly this node's own sockets again, after it lost
    /// them (a Redis restart, or this node counted out while cut off) or
    /// after a failed update. Returns the users online, who came back and
    /// who left thereby.
    pub async fn resync(&self) -> Result<Resync, PresenceError> {
        let mut call = self.sync.key(COUNTS);
        call.key(NAMES)
            .key(&self.node_key)
            .key(NODES)
            .arg(&self.node);
        for (user_id, username, sockets) in self.local.entries() {
            call.arg(user_id).arg(username).arg(sockets);
        }
        let mut out: Vec<String> = call
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        if out.len() < 2 {
            return Err(PresenceError("unexpected answer from Redis".into()));
        }
        let online = out.remove(0).parse().unwrap_or(0);
        let came = out.remove(0).parse().unwrap_or(0).min(out.len());
        let left = out.split_off(came);
        Ok(Resync {
            online,
            came: out,
            left,
        })
    }

    fn degraded(&self, e: PresenceError) {
        self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
        if self.reachability.failed() {
            tracing::warn!(error = %e, "Redis unreachable: presence of this node only until it returns");
        }
    }

    fn skip(&self) -> bool {
        if self.reachability.is_up() {
            return false;
        }
        self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
        true
    }

    /// Whether an update failed since the last resync.
    pub fn take_stale(&self) -> bool {
        self.stale.swap(false, std::sync::atomic::Ordering::SeqCst)
    }
}

/// What a resync changed.
#[derive(Debug, Default)]
pub struct Resync {
    pub online: usize,
    pub came: Vec<String>,
    pub left: Vec<String>,
}

#[async_trait]
impl Presence for RedisPresence {
    async fn connect(&self, user_id: i32, username: &str) -> Result<Option<usize>, PresenceError> {
        let here = self.local.connect(user_id, username).await?;
        if self.skip() {
            return Ok(here);
        }
        match self.add(user_id, username, 1).await {
            Ok(joined) => Ok(joined),
            Err(e) => {
                self.degraded(e);
                Ok(here)
            }
        }
    }

    async fn disconnect(&self, user_id: i32) -> Result<Option<usize>, PresenceError> {
        let here = self.local.disconnect(user_id).await?;
        if self.skip() {
            return Ok(here);
        }
        let result: Result<i64, _> = self
            .disconnect
            .key(COUNTS)
            .key(NAMES)
            .key(&self.node_key)
            .arg(user_id)
            .invoke_async(&mut self.conn.clone())
            .await;
        match result {
            Ok(n) => Ok(usize::try_from(n).ok()),
            Err(e) => {
                self.degraded(unavailable(e));
                Ok(here)
            }
        }
    }

    async fn sockets_elsewhere(&self, user_id: i32) -> Result<u64, PresenceError> {
        if self.skip() {
            return Ok(0);
        }
        let (all, here): (Option<i64>, Option<i64>) = redis::pipe()
            .hget(COUNTS, user_id)
            .hget(&self.node_key, user_id)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(|e| PresenceError(e.to_string()))?;
        Ok(u64::try_from(all.unwrap_or(0) - here.unwrap_or(0)).unwrap_or(0))
    }

    async fn online(&self) -> Result<OnlineUsers, PresenceError> {
        if self.skip() {
            return self.local.online().await;
        }
        let result: Result<Vec<String>, _> = redis::cmd("HVALS")
            .arg(NAMES)
            .query_async(&mut self.conn.clone())
            .await;
        match result {
            Ok(mut users) => {
                users.sort_unstable();
                Ok(OnlineUsers {
                    count: users.len(),
                    users,
                })
            }
            Err(e) => {
                self.degraded(unavailable(e));
                self.local.online().await
            }
        }
    }
}
