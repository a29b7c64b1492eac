//! Per-user rate limit shared by all replicas: GCRA (generic cell rate algorithm) in one
//! Lua script, on Redis's clock, one key per user.

use super::{Store, StoreError};
use crate::domain::UserId;
use std::sync::LazyLock;
use std::time::Duration;

/// KEYS[1] = the user's key; ARGV[1] = emission interval (µs), ARGV[2] = burst tolerance (µs).
/// Returns {allowed (0/1), retry after (µs)}.
static GCRA: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
",
    )
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    Limited { retry_after: Duration },
}

impl Store {
    /// Counts one request of `user` against `per_minute` with `burst` allowed at once.
    pub async fn rate_limit(
        &self,
        user: &UserId,
        bucket: &str,
        per_minute: u32,
        burst: u32,
    ) -> Result<RateDecision, StoreError> {
        let interval_us = 60_000_000u64 / u64::from(per_minute.max(1));
        let tolerance_us = interval_us * u64::from(burst.max(1));
        let key = self.keys.rate_limit(user, bucket);
        let (allowed, retry_us): (i64, i64) = self
            .run("rate_limit", async {
                let mut c = self.conn.get().await?;
                Ok(GCRA
                    .key(key)
                    .arg(interval_us)
                    .arg(tolerance_us)
                    .invoke_async(&mut c)
                    .await?)
            })
            .await?;
        Ok(if allowed == 1 {
            RateDecision::Allowed
        } else {
            RateDecision::Limited {
                retry_after: Duration::from_micros(retry_us.max(0) as u64),
            }
        })
    }
}
