//! The flood limit and the login lockout counted in Redis, so that spreading
//! attempts over nodes gains nothing. When Redis cannot be reached, each node
//! counts on its own until it returns.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{Script, ScriptInvocation};

use super::Reachability;
use crate::limits::{
    Budget, Counters, FloodLimiter, LimitError, LoginLockout, MemoryCounters, MemoryFloodLimiter,
    MemoryLoginLockout, Token, FLOOD_LIMIT, FLOOD_WINDOW, LOGIN_FAILURES, LOGIN_WINDOW,
};

/// A sliding window in a sorted set scored by Redis' own clock (nodes' clocks
/// may differ). KEYS: the set. ARGV: window ms, limit, record (1: count this
/// event if under the limit; 0: only look). Returns -1 when under the limit
/// (after counting), else the ms until the oldest event leaves the window.
const WINDOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return window - (now - tonumber(oldest[2]))
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], now, t[1] .. t[2] .. ':' .. redis.call('INCR', KEYS[1] .. ':seq'))
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[1] .. ':seq', window)
end
return -1
";

/// Counts one event unconditionally. KEYS: the set. ARGV: window ms.
const RECORD: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, t[1] .. t[2] .. ':' .. redis.call('INCR', KEYS[1] .. ':seq'))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1] .. ':seq', ARGV[1])
return 1
";

async fn window(
    script: &Script,
    conn: &ConnectionManager,
    key: &str,
    window: Duration,
    limit: usize,
    record: bool,
) -> redis::RedisResult<Option<Duration>> {
    let left: i64 = script
        .key(key)
        .arg(window.as_millis() as u64)
        .arg(limit)
        .arg(if record { "1" } else { "0" })
        .invoke_async(&mut conn.clone())
        .await?;
    Ok(u64::try_from(left).ok().map(Duration::from_millis))
}

pub struct RedisFloodLimiter {
    conn: ConnectionManager,
    reachability: Reachability,
    script: Script,
    fallback: MemoryFloodLimiter,
}

impl RedisFloodLimiter {
    pub fn new(conn: ConnectionManager, reachability: Reachability) -> Self {
        Self {
            conn,
            reachability,
            script: Script::new(WINDOW),
            fallback: MemoryFloodLimiter::default(),
        }
    }
}

#[async_trait]
impl FloodLimiter for RedisFloodLimiter {
    async fn try_acquire(&self, user_id: i32) -> Result<bool, LimitError> {
        let key = format!("chat:flood:{user_id}");
        let call = window(
            &self.script,
            &self.conn,
            &key,
            FLOOD_WINDOW,
            FLOOD_LIMIT,
            true,
        );
        match guarded(&self.reachability, call).await {
            Some(blocked) => Ok(blocked.is_none()),
            None => self.fallback.try_acquire(user_id).await,
        }
    }

    fn sweep(&self) {
        self.fallback.sweep();
    }
}

/// Runs a Redis call unless Redis is known to be away; None: count on this node.
pub(super) async fn guarded<T>(
    reachability: &Reachability,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Option<T> {
    if !reachability.is_up() {
        return None;
    }
    match call.await {
        Ok(v) => Some(v),
        Err(e) => {
            if reachability.failed() {
                tracing::warn!(error = %e, "Redis unreachable: limits counted on this node until it returns");
            }
            None
        }
    }
}

pub struct RedisLoginLockout {
    conn: ConnectionManager,
    reachability: Reachability,
    window: Script,
    record: Script,
    fallback: MemoryLoginLockout,
}

impl RedisLoginLockout {
    pub fn new(conn: ConnectionManager, reachability: Reachability) -> Self {
        Self {
            conn,
            reachability,
            window: Script::new(WINDOW),
            record: Script::new(RECORD),
            fallback: MemoryLoginLockout::default(),
        }
    }

    fn key(key: &str) -> String {
        format!("chat:login-failures:{key}")
    }
}

#[async_trait]
impl LoginLockout for RedisLoginLockout {
    async fn locked_for(&self, key: &str) -> Result<Option<Duration>, LimitError> {
        let k = Self::key(key);
        let call = window(
            &self.window,
            &self.conn,
            &k,
            LOGIN_WINDOW,
            LOGIN_FAILURES,
            false,
        );
        match guarded(&self.reachability, call).await {
            Some(left) => Ok(left),
            None => self.fallback.locked_for(key).await,
        }
    }

    async fn record_failure(&self, key: &str) -> Result<(), LimitError> {
        let mut conn = self.conn.clone();
        let mut invocation = self.record.key(Self::key(key));
        invocation.arg(LOGIN_WINDOW.as_millis() as u64);
        let call = invocation.invoke_async::<i64>(&mut conn);
        match guarded(&self.reachability, call).await {
            Some(_) => Ok(()),
            None => self.fallback.record_failure(key).await,
        }
    }

    async fn clear(&self, key: &str) -> Result<(), LimitError> {
        let k = Self::key(key);
        let mut conn = self.conn.clone();
        let mut del = redis::cmd("DEL");
        del.arg(&k).arg(format!("{k}:seq"));
        guarded(&self.reachability, del.query_async::<i64>(&mut conn)).await;
        self.fallback.clear(key).await
    }

    fn sweep(&self) {
        self.fallback.sweep();
    }
}

/// A weighted sliding window (the budgets of the Limits table), by Redis'
/// clock. Members are `<seq>:<units>`. KEYS: the set. ARGV: window ms, max,
/// units, mode: `record` counts the units and returns -1; `check` returns -1
/// when they fit, else the ms until they would; `take` does both in one step
/// and returns {-1, member} or {ms, ''}.
const BUDGET: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, max, units = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local function add()
  local member = redis.call('INCR', KEYS[1] .. ':seq') .. ':' .. units
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[1] .. ':seq', window)
  return member
end
local function wait()
  if units > max then return window end
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local used = 0
  for i = 1, #entries, 2 do used = used + tonumber(string.match(entries[i], ':(%d+)$')) end
  local over = used + units - max
  if over <= 0 then return -1 end
  for i = 1, #entries, 2 do
    local u = tonumber(string.match(entries[i], ':(%d+)$'))
    if u >= over then return window - (now - tonumber(entries[i + 1])) end
    over = over - u
  end
  return window
end
if ARGV[4] == 'record' then
  add()
  return -1
end
local w = wait()
if ARGV[4] == 'take' then
  if w < 0 then return {-1, add()} end
  return {w, ''}
end
return w
";

/// The budgets counted in Redis, so that every node sees one count; each
/// node counts on its own while Redis is away.
pub struct RedisCounters {
    conn: ConnectionManager,
    reachability: Reachability,
    script: Script,
    fallback: MemoryCounters,
}

impl RedisCounters {
    pub fn new(conn: ConnectionManager, reachability: Reachability) -> Self {
        Self {
            conn,
            reachability,
            script: Script::new(BUDGET),
            fallback: MemoryCounters::default(),
        }
    }

    fn invocation(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        mode: &str,
    ) -> ScriptInvocation<'_> {
        let mut invocation = self.script.key(Self::key(budget, key));
        invocation
            .arg(budget.window.as_millis() as u64)
            .arg(budget.max)
            .arg(units)
            .arg(mode);
        invocation
    }

    fn key(budget: &Budget, key: &str) -> String {
        format!("chat:limit:{}:{key}", budget.reason)
    }

    /// `check` or `record`: None when Redis is away.
    async fn call(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        mode: &str,
    ) -> Option<Option<Duration>> {
        let mut conn = self.conn.clone();
        let invocation = self.invocation(budget, key, units, mode);
        let call = invocation.invoke_async::<i64>(&mut conn);
        guarded(&self.reachability, call)
            .await
            .map(|left| u64::try_from(left).ok().map(Duration::from_millis))
    }
}

#[async_trait]
impl Counters for RedisCounters {
    async fn check(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
    ) -> Result<Option<Duration>, LimitError> {
        match self.call(budget, key, units, "check").await {
            Some(left) => Ok(left),
            None => self.fallback.check(budget, key, units).await,
        }
    }

    async fn record(&self, budget: &Budget, key: &str, units: u64) -> Result<(), LimitError> {
        match self.call(budget, key, units, "record").await {
            Some(_) => Ok(()),
            None => self.fallback.record(budget, key, units).await,
        }
    }

    async fn take(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
    ) -> Result<Result<Token, Duration>, LimitError> {
        let mut conn = self.conn.clone();
        let invocation = self.invocation(budget, key, units, "take");
        let call = invocation.invoke_async::<(i64, String)>(&mut conn);
        match guarded(&self.reachability, call).await {
            Some((-1, member)) => Ok(Ok(Token::Member(member))),
            Some((left, _)) => Ok(Err(Duration::from_millis(left.max(0) as u64))),
            None => self.fallback.take(budget, key, units).await,
        }
    }

    async fn give_back(
        &self,
        budget: &Budget,
        key: &str,
        units: u64,
        token: &Token,
    ) -> Result<(), LimitError> {
        match token {
            Token::Member(member) => {
                let mut conn = self.conn.clone();
                redis::cmd("ZREM")
                    .arg(Self::key(budget, key))
                    .arg(member)
                    .query_async::<i64>(&mut conn)
                    .await
                    .map(|_| ())
                    .map_err(|e| LimitError(e.to_string()))
            }
            Token::At(_) => self.fallback.give_back(budget, key, units, token).await,
        }
    }

    fn sweep(&self) {
        self.fallback.sweep();
    }
}
