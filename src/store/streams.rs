//! Consumer groups on the shard event streams, and per-consumer dead-letter hashes: what a
//! reader that must see every event (webhook delivery) needs from Redis.
//!
//! Each command names one stream (or one dead-letter key), so every call stays in one slot
//! on Redis Cluster. None of these block: the connection is multiplexed, and a blocking read
//! would hold up every other command of the process.

use super::{Store, StoreError};
use redis::streams::{StreamAutoClaimReply, StreamInfoGroupsReply, StreamReadReply};
use std::collections::HashMap;
use std::time::Duration;

/// One stream entry: its id and flat string fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: String,
    pub fields: HashMap<String, String>,
}

/// What [`Store::claim_stuck`] took over.
#[derive(Debug, Default)]
pub struct Claimed {
    pub entries: Vec<StreamEntry>,
    /// Pending ids whose entries the stream no longer holds (trimmed past its cap).
    pub deleted: Vec<String>,
}

/// Where a group starts reading when it is first created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupStart {
    /// Every entry the stream still holds.
    Oldest,
    /// Only entries appended from now on.
    New,
}

/// True when the error says the stream or its group does not exist (a Redis that lost its
/// data, or a stream deleted by hand): the caller creates the group again.
pub fn is_missing_group(e: &StoreError) -> bool {
    matches!(e, StoreError::Redis(r) if r.code() == Some("NOGROUP"))
}

fn entries(ids: Vec<redis::streams::StreamId>) -> Vec<StreamEntry> {
    ids.into_iter()
        .map(|e| StreamEntry {
            fields: e
                .map
                .into_iter()
                .filter_map(|(k, v)| redis::from_redis_value::<String>(v).ok().map(|v| (k, v)))
                .collect(),
            id: e.id,
        })
        .collect()
}

impl Store {
    /// Creates `group` on shard `shard`'s stream (and the stream if it has none yet); an
    /// existing group is left where it is.
    pub async fn ensure_group(
        &self,
        shard: usize,
        group: &str,
        start: GroupStart,
    ) -> Result<(), StoreError> {
        let from = match start {
            GroupStart::Oldest => "0",
            GroupStart::New => "$",
        };
        self.run("stream_group", async {
            let mut c = self.conn.get().await?;
            let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(self.keys.events(shard))
                .arg(group)
                .arg(from)
                .arg("MKSTREAM")
                .query_async(&mut c)
                .await;
            match created {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                other => Ok(other?),
            }
        })
        .await
    }

    /// Up to `count` entries no consumer of `group` has been given yet; they become pending
    /// for `consumer` until acknowledged.
    pub async fn read_group(
        &self,
        shard: usize,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<StreamEntry>, StoreError> {
        self.run("stream_read", async {
            let mut c = self.conn.get().await?;
            let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(group)
                .arg(consumer)
                .arg("COUNT")
                .arg(count.max(1))
                .arg("STREAMS")
                .arg(self.keys.events(shard))
                .arg(">")
                .query_async(&mut c)
                .await?;
            Ok(reply
                .into_iter()
                .flat_map(|r| r.keys)
                .flat_map(|k| entries(k.ids))
                .collect())
        })
        .await
    }

    pub async fn ack(&self, shard: usize, group: &str, ids: &[&str]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.run("stream_ack", async {
            let mut c = self.conn.get().await?;
            redis::cmd("XACK")
                .arg(self.keys.events(shard))
                .arg(group)
                .arg(ids)
                .query_async::<i64>(&mut c)
                .await?;
            Ok(())
        })
        .await
    }

    /// Takes over, for `consumer`, up to `count` entries pending in `group` that nobody has
    /// touched for `min_idle` (their consumer died, or lost Redis for that long).
    pub async fn claim_stuck(
        &self,
        shard: usize,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Claimed, StoreError> {
        self.run("stream_claim", async {
            let mut c = self.conn.get().await?;
            let mut out = Claimed::default();
            let mut cursor = "0-0".to_string();
            // XAUTOCLAIM looks at a bounded window per call; follow the cursor round once.
            for _ in 0..16 {
                let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                    .arg(self.keys.events(shard))
                    .arg(group)
                    .arg(consumer)
                    .arg(min_idle.as_millis() as u64)
                    .arg(&cursor)
                    .arg("COUNT")
                    .arg(count.saturating_sub(out.entries.len()).max(1))
                    .query_async(&mut c)
                    .await?;
                out.entries.extend(entries(reply.claimed));
                out.deleted.extend(reply.deleted_ids);
                cursor = reply.next_stream_id;
                if cursor == "0-0" || out.entries.len() >= count {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    /// Marks entries `consumer` still works on as fresh, so no other consumer claims them as
    /// stuck while they wait for their next attempt.
    pub async fn touch_pending(
        &self,
        shard: usize,
        group: &str,
        consumer: &str,
        ids: &[&str],
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.run("stream_touch", async {
            let mut c = self.conn.get().await?;
            redis::cmd("XCLAIM")
                .arg(self.keys.events(shard))
                .arg(group)
                .arg(consumer)
                .arg(0)
                .arg(ids)
                .arg("JUSTID")
                .query_async::<redis::Value>(&mut c)
                .await?;
            Ok(())
        })
        .await
    }

    /// Entries of shard `shard` that `group` has not finished: pending plus not yet read.
    pub async fn group_backlog(&self, shard: usize, group: &str) -> Result<u64, StoreError> {
        self.run("stream_backlog", async {
            let mut c = self.conn.get().await?;
            let info: StreamInfoGroupsReply = match redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(self.keys.events(shard))
                .query_async(&mut c)
                .await
            {
                Ok(i) => i,
                // No stream yet: nothing waits.
                Err(e) if e.code() == Some("ERR") => return Ok(0),
                Err(e) => return Err(e.into()),
            };
            Ok(info
                .groups
                .iter()
                .find(|g| g.name == group)
                .map(|g| (g.pending + g.lag.unwrap_or(0)) as u64)
                .unwrap_or(0))
        })
        .await
    }

    /// Stores a dead letter under its id (storing it again replaces it: a retried move
    /// never makes two).
    pub async fn put_dead_letter(
        &self,
        consumer_group: &str,
        id: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.run("dead_letter_put", async {
            let mut c = self.conn.get().await?;
            redis::cmd("HSET")
                .arg(self.keys.dead_letters(consumer_group))
                .arg(id)
                .arg(json)
                .query_async::<i64>(&mut c)
                .await?;
            Ok(())
        })
        .await
    }

    /// Every dead letter of `consumer_group`, as `(id, json)`, ordered by id.
    pub async fn dead_letters(
        &self,
        consumer_group: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.run("dead_letter_list", async {
            let mut c = self.conn.get().await?;
            let mut all: Vec<(String, String)> = redis::cmd("HGETALL")
                .arg(self.keys.dead_letters(consumer_group))
                .query_async(&mut c)
                .await?;
            all.sort();
            Ok(all)
        })
        .await
    }

    pub async fn dead_letter_count(&self, consumer_group: &str) -> Result<u64, StoreError> {
        self.run("dead_letter_list", async {
            let mut c = self.conn.get().await?;
            Ok(redis::cmd("HLEN")
                .arg(self.keys.dead_letters(consumer_group))
                .query_async(&mut c)
                .await?)
        })
        .await
    }

    /// Removes one dead letter; false when it was not there.
    pub async fn remove_dead_letter(
        &self,
        consumer_group: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        self.run("dead_letter_remove", async {
            let mut c = self.conn.get().await?;
            let n: i64 = redis::cmd("HDEL")
                .arg(self.keys.dead_letters(consumer_group))
                .arg(id)
                .query_async(&mut c)
                .await?;
            Ok(n > 0)
        })
        .await
    }
}
