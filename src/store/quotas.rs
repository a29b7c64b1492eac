//! Per-user quotas: bytes and objects per scope (a profile, or `all`), reserved when a right
//! is issued, settled with the stored size on completion, released when the upload ends any
//! other way or its object is deleted.
//!
//! Every script touches only the user's four quota keys (one slot, see `keys.rs`), so a
//! reservation is one atomic step on a single server and on a Cluster alike: parallel
//! reservations cannot overshoot a limit. Settling cannot share a script with the record's
//! final transition (the record lives in its shard's slot), so it is a second step keyed by
//! upload id, idempotent, run after every transition that leaves a quota record final, and
//! again whenever such a transition is repeated (journal replay, reconciler, confirm).
//! A crash between the two leaves a held reservation whose record is final; [`repair`]
//! settles it once the reservation's deadline has passed.

use super::{Store, StoreError};
use crate::domain::{UploadId, UploadRecord, UploadStatus, UserId};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// KEYS: usage, held, due. ARGV: id, bytes, deadline, scope count, then per scope: name,
/// max bytes ('' = none), max objects ('' = none).
/// Returns {1} when reserved (or already held under this id), {0, scope, used bytes, used
/// objects} for the first scope that has no room (nothing is written then).
static RESERVE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local id, bytes = ARGV[1], tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[2], id) == 1 then return {1} end
local scopes = {}
for i = 0, tonumber(ARGV[4]) - 1 do
  local scope, mb, mo = ARGV[5 + 3 * i], ARGV[6 + 3 * i], ARGV[7 + 3 * i]
  local ub = tonumber(redis.call('HGET', KEYS[1], scope .. ':bytes') or '0')
  local uo = tonumber(redis.call('HGET', KEYS[1], scope .. ':objects') or '0')
  if (mb ~= '' and ub + bytes > tonumber(mb)) or (mo ~= '' and uo + 1 > tonumber(mo)) then
    return {0, scope, tostring(ub), tostring(uo)}
  end
  scopes[#scopes + 1] = scope
end
for _, scope in ipairs(scopes) do
  redis.call('HINCRBY', KEYS[1], scope .. ':bytes', ARGV[2])
  redis.call('HINCRBY', KEYS[1], scope .. ':objects', 1)
end
redis.call('HSET', KEYS[2], id, ARGV[2] .. ' ' .. table.concat(scopes, ','))
redis.call('ZADD', KEYS[3], ARGV[3], id)
return {1}
",
    )
});

/// KEYS: usage, held, stored, due. ARGV: id, 'completed' or 'released', stored size, scopes
/// to charge when nothing was reserved (comma-separated, '' for none).
/// Completed: the held reservation moves to `stored` with the real size (or, when nothing
/// is held nor stored, the object is charged: objects under STS grants, late arrivals after
/// expiry). Released: the held reservation, else the stored entry, is given back.
/// Returns what it did: 0 nothing, 1 settled, 2 charged, 3 released.
static SETTLE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local id = ARGV[1]
local function add(scopes, bytes, objects)
  for scope in string.gmatch(scopes, '[^,]+') do
    redis.call('HINCRBY', KEYS[1], scope .. ':bytes', bytes)
    if objects ~= 0 then redis.call('HINCRBY', KEYS[1], scope .. ':objects', objects) end
  end
end
local held = redis.call('HGET', KEYS[2], id)
if ARGV[2] == 'completed' then
  if held then
    local b, sc = string.match(held, '^(%d+) (.*)$')
    add(sc, tonumber(ARGV[3]) - tonumber(b), 0)
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[4], id)
    redis.call('HSET', KEYS[3], id, ARGV[3] .. ' ' .. sc)
    return 1
  end
  if ARGV[4] == '' or redis.call('HEXISTS', KEYS[3], id) == 1 then return 0 end
  add(ARGV[4], tonumber(ARGV[3]), 1)
  redis.call('HSET', KEYS[3], id, ARGV[3] .. ' ' .. ARGV[4])
  return 2
end
local from = KEYS[2]
local entry = held
if not entry then
  entry = redis.call('HGET', KEYS[3], id)
  from = KEYS[3]
end
if not entry then return 0 end
local b, sc = string.match(entry, '^(%d+) (.*)$')
add(sc, -tonumber(b), -1)
redis.call('HDEL', from, id)
redis.call('ZREM', KEYS[4], id)
return 3
",
    )
});

/// One scope's limits as a reservation checks them.
pub struct ScopeLimit<'a> {
    pub scope: &'a str,
    pub bytes: Option<u64>,
    pub objects: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reservation {
    Held,
    /// `scope` has no room: what it uses now (reservations included).
    Refused {
        scope: String,
        used_bytes: u64,
        used_objects: u64,
    },
}

/// What settling did (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Nothing,
    Settled,
    Charged,
    Released,
}

/// Reservations one repair looks at, at most.
const REPAIR_BATCH: usize = 50;
/// How long past its deadline a held reservation of an unfinished record is looked at again.
const RECHECK_SECS: i64 = 300;

impl Store {
    /// Reserves `bytes` and one object under every scope of `limits` for upload `id`, or
    /// none when one has no room. Idempotent per id.
    pub async fn reserve_quota(
        &self,
        user: &UserId,
        id: &UploadId,
        bytes: u64,
        deadline: OffsetDateTime,
        limits: &[ScopeLimit<'_>],
    ) -> Result<Reservation, StoreError> {
        let [usage, held, _, due] = self.keys.quota(user);
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        let reply: Vec<String> = self
            .run("quota_reserve", async {
                let mut c = self.conn.get().await?;
                let mut inv = RESERVE.prepare_invoke();
                inv.key(&usage)
                    .key(&held)
                    .key(&due)
                    .arg(id.as_str())
                    .arg(bytes)
                    .arg(deadline.unix_timestamp())
                    .arg(limits.len());
                for l in limits {
                    inv.arg(l.scope).arg(opt(l.bytes)).arg(opt(l.objects));
                }
                Ok(inv.invoke_async(&mut c).await?)
            })
            .await?;
        match reply.as_slice() {
            [ok] if ok == "1" => Ok(Reservation::Held),
            [_, scope, b, o] => Ok(Reservation::Refused {
                scope: scope.clone(),
                used_bytes: b.parse().unwrap_or(0),
                used_objects: o.parse().unwrap_or(0),
            }),
            other => Err(StoreError::Corrupt(format!(
                "quota script answered {other:?}"
            ))),
        }
    }

    /// Gives back upload `id`'s reservation (or settled entry). Idempotent.
    pub async fn release_quota(&self, user: &UserId, id: &UploadId) -> Result<Settled, StoreError> {
        self.settle(user, id, "released", 0, "").await
    }

    /// The quota step for a record that is final: settled with its stored size when
    /// completed, released otherwise. Idempotent; a record without quota scopes is skipped.
    pub async fn settle_quota(&self, rec: &UploadRecord) -> Result<Settled, StoreError> {
        if rec.quota.is_empty() || !rec.status.is_final() {
            return Ok(Settled::Nothing);
        }
        if rec.status == UploadStatus::Completed {
            let size = rec.size.or(rec.declared_size).unwrap_or(0);
            self.settle(&rec.user, &rec.id, "completed", size, &rec.quota.join(","))
                .await
        } else {
            self.release_quota(&rec.user, &rec.id).await
        }
    }

    /// [`Store::settle_quota`] after a transition: a failure is logged, not returned, since
    /// the transition itself stands; [`Store::repair_quota`] settles it later.
    pub(super) async fn settle_after_transition(&self, rec: &UploadRecord) {
        if rec.quota.is_empty() || !rec.status.is_final() {
            return;
        }
        if let Err(e) = self.settle_quota(rec).await {
            tracing::warn!(upload_id = %rec.id, error = %e, "quota not settled yet; repaired later");
        }
    }

    async fn settle(
        &self,
        user: &UserId,
        id: &UploadId,
        mode: &str,
        size: u64,
        charge: &str,
    ) -> Result<Settled, StoreError> {
        let [usage, held, stored, due] = self.keys.quota(user);
        let did: i64 = self
            .run("quota_settle", async {
                let mut c = self.conn.get().await?;
                Ok(SETTLE
                    .key(&usage)
                    .key(&held)
                    .key(&stored)
                    .key(&due)
                    .arg(id.as_str())
                    .arg(mode)
                    .arg(size)
                    .arg(charge)
                    .invoke_async(&mut c)
                    .await?)
            })
            .await?;
        Ok(match did {
            1 => Settled::Settled,
            2 => Settled::Charged,
            3 => Settled::Released,
            _ => Settled::Nothing,
        })
    }

    /// Settles the user's reservations whose deadline has passed, by what their records say
    /// now: final → settled or released; gone → released; still unfinished → looked at again
    /// later. Returns how many were settled or released.
    pub async fn repair_quota(
        &self,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        let [_, _, _, due] = self.keys.quota(user);
        let ids: Vec<String> = self
            .run("quota_overdue", async {
                let mut c = self.conn.get().await?;
                Ok(redis::cmd("ZRANGEBYSCORE")
                    .arg(&due)
                    .arg("-inf")
                    .arg(now.unix_timestamp())
                    .arg("LIMIT")
                    .arg(0)
                    .arg(REPAIR_BATCH)
                    .query_async(&mut c)
                    .await?)
            })
            .await?;
        let mut fixed = 0;
        for id in ids.iter().filter_map(|s| UploadId::parse(s).ok()) {
            let done = match self.get_record(&id).await? {
                None => self.release_quota(user, &id).await?,
                Some(rec) if rec.status == UploadStatus::Completed => {
                    let size = rec.size.or(rec.declared_size).unwrap_or(0);
                    self.settle(user, &id, "completed", size, "").await?
                }
                Some(rec) if rec.status.is_final() => self.release_quota(user, &id).await?,
                Some(rec) => {
                    let again =
                        rec.expires_at.unix_timestamp().max(now.unix_timestamp()) + RECHECK_SECS;
                    self.run("quota_recheck", async {
                        let mut c = self.conn.get().await?;
                        let _: () = redis::cmd("ZADD")
                            .arg(&due)
                            .arg("XX")
                            .arg(again)
                            .arg(id.as_str())
                            .query_async(&mut c)
                            .await?;
                        Ok(())
                    })
                    .await?;
                    Settled::Nothing
                }
            };
            if done != Settled::Nothing {
                fixed += 1;
            }
        }
        Ok(fixed)
    }

    /// The user's usage per scope (reservations included) and how many uploads hold one.
    pub async fn quota_usage(
        &self,
        user: &UserId,
    ) -> Result<(BTreeMap<String, (u64, u64)>, u64), StoreError> {
        let [usage, held, _, _] = self.keys.quota(user);
        let (fields, holding): (BTreeMap<String, i64>, u64) = self
            .run("quota_usage", async {
                let mut c = self.conn.get().await?;
                Ok(redis::pipe()
                    .hgetall(&usage)
                    .hlen(&held)
                    .query_async(&mut c)
                    .await?)
            })
            .await?;
        let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (field, v) in fields {
            let v = v.max(0) as u64;
            if let Some(scope) = field.strip_suffix(":bytes") {
                out.entry(scope.to_string()).or_default().0 = v;
            } else if let Some(scope) = field.strip_suffix(":objects") {
                out.entry(scope.to_string()).or_default().1 = v;
            }
        }
        Ok((out, holding))
    }
}
