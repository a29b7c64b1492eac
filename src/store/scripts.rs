//! The Lua scripts that make each store operation one atomic round trip. Every script
//! touches the keys of one shard only (see `keys.rs`), so it runs unchanged on Redis Cluster.
//!
//! Scripts are not rolled back when they fail half-way, so each one checks everything that
//! could fail before its first write.

use std::sync::LazyLock;

/// Creates a record born final (an object that arrived under an STS grant) with its event,
/// whose id only this script learns; on a single server also its user-index entry. Records
/// without an event are created with one MULTI instead (`uploads.rs`), cheaper for Redis.
///
/// KEYS: record, deadlines, events, [user index].
/// ARGV: json, ttl ms, id, deadline score ('' for none), event-id placeholder ('' for no
/// event), stream cap, index ttl s, event fields...
/// Returns {0} when the record exists, else {1, event id or ''}.
pub static CREATE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
local json = ARGV[1]
local eid = ''
if ARGV[5] ~= '' then
  local s, e = string.find(json, ARGV[5], 1, true)
  if not s then return redis.error_reply('event id placeholder missing') end
  eid = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', unpack(ARGV, 8))
  json = string.sub(json, 1, s - 1) .. eid .. string.sub(json, e + 1)
end
redis.call('SET', KEYS[1], json, 'PX', ARGV[2])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3]) end
if KEYS[4] then
  redis.call('ZADD', KEYS[4], 0, ARGV[3])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
return {1, eid}
",
    )
});

/// Replaces the record only if it is still exactly what the caller read (optimistic
/// concurrency on a multiplexed connection, where WATCH cannot be used), keeping its TTL; in
/// the same step appends the event the new version carries and drops the deadline entry of
/// a record that became final. So of racing identical deliveries exactly one appends.
///
/// KEYS: record, deadlines, events.
/// ARGV: expected json, new json, id, '1' if the new status is final, event-id placeholder
/// ('' for no event), stream cap, event fields...
/// Returns {0} when the record is gone, {1, current json} when it changed meanwhile (the
/// caller retries on that without reading again), {2, event id or ''} when applied.
pub static TRANSITION: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if not cur then return {0} end
if cur ~= ARGV[1] then return {1, cur} end
local json = ARGV[2]
local eid = ''
if ARGV[5] ~= '' then
  local s, e = string.find(json, ARGV[5], 1, true)
  if not s then return redis.error_reply('event id placeholder missing') end
  eid = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], '*', unpack(ARGV, 7))
  json = string.sub(json, 1, s - 1) .. eid .. string.sub(json, e + 1)
end
redis.call('SET', KEYS[1], json, 'KEEPTTL')
if ARGV[4] == '1' then redis.call('ZREM', KEYS[2], ARGV[3]) end
return {2, eid}
",
    )
});

/// Due entries of one shard's deadline index, oldest first. Entries whose record is gone or
/// final are removed as they are met, so leftovers (a removal lost in a failover, a record
/// that expired away) cannot fill the window and stall the jobs that read it.
///
/// KEYS: deadlines. ARGV: now (unix s), how many to return, how many entries to look at,
/// record key prefix of the shard, kind filter ('' any, 'multipart', '-multipart' all but
/// multipart), offset to start at (entries before it were kept by an earlier call).
/// Returns {next offset, 1 if entries may remain, id, score, id, score, ...}.
pub static DUE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local want = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local filter = ARGV[5]
local offset = tonumber(ARGV[6])
local final = {completed = true, failed = true, aborted = true, expired = true,
  deleted = true}
local out = {}
local found = 0
local scanned = 0
local more = 0
while found < want do
  if scanned >= budget then more = 1 break end
  local page = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES',
    'LIMIT', offset, math.min(100, budget - scanned))
  if #page == 0 then break end
  for i = 1, #page, 2 do
    local id = page[i]
    scanned = scanned + 1
    local json = redis.call('GET', ARGV[4] .. id)
    local ok, rec = false, nil
    if json then ok, rec = pcall(cjson.decode, json) end
    if json == false or (ok and type(rec) == 'table' and final[rec['status']]) then
      redis.call('ZREM', KEYS[1], id)
    else
      offset = offset + 1
      local kind = ok and type(rec) == 'table' and rec['kind']
      local wanted = filter == '' or (filter == 'multipart' and kind == 'multipart')
        or (filter == '-multipart' and kind ~= 'multipart')
      if wanted and found < want then
        found = found + 1
        out[#out + 1] = id
        out[#out + 1] = page[i + 1]
      end
    end
  end
end
if found >= want then more = 1 end
table.insert(out, 1, more)
table.insert(out, 1, offset)
return out
",
    )
});

/// Deletes a lock only if it still holds the caller's token (never another holder's).
pub static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Extends a lock's lifetime only if it still holds the caller's token.
pub static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});
