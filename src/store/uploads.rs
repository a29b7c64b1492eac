//! Upload records: created when a right is issued, moved through their life cycle with
//! compare-and-set, listed per user.

use super::conn::Conn;
use super::{Store, StoreError};
use crate::domain::{UploadId, UploadRecord, UploadStatus, UserId};
use redis::AsyncCommands;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// Replace the record only if it is still exactly what we read (optimistic concurrency on a
/// multiplexed connection, where WATCH cannot be used). Keeps the record's TTL.
static CAS: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
",
    )
});

/// How many ids one listing call looks at, at most, while filtering by status.
const MAX_SCAN: usize = 1000;
const BATCH: usize = 100;

pub struct ListQuery {
    pub status: Option<UploadStatus>,
    pub limit: usize,
    pub cursor: Option<UploadId>,
}

#[derive(Debug)]
pub struct ListPage {
    pub items: Vec<UploadRecord>,
    pub next_cursor: Option<UploadId>,
}

/// Result of a guarded update.
#[derive(Debug)]
pub enum TransitionOutcome<T> {
    /// The closure's new record was stored.
    Applied(UploadRecord, T),
    /// The closure decided to leave the record as it is.
    Unchanged(UploadRecord, T),
    NotFound,
}

fn decode(id: &UploadId, json: &str) -> Result<UploadRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))
}

impl Store {
    /// Stores a new record and indexes it for its user (and, while unfinished, by deadline).
    pub async fn create_record(&self, rec: &UploadRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(rec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ttl_ms = self.record_ttl.as_millis() as u64;
        self.run("create_record", async {
            let mut c = self.conn.get().await?;
            let created: bool = redis::cmd("SET")
                .arg(self.keys.record(&rec.id))
                .arg(&json)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query_async::<Option<String>>(&mut c)
                .await?
                .is_some();
            if !created {
                return Err(StoreError::AlreadyExists(rec.id.to_string()));
            }
            self.index_record(&mut c, rec).await
        })
        .await
    }

    async fn index_record(&self, c: &mut Conn, rec: &UploadRecord) -> Result<(), StoreError> {
        let index = self.keys.user_uploads(&rec.user);
        let ttl_secs = self.record_ttl.as_secs() as i64;
        redis::pipe()
            .zadd(&index, rec.id.as_str(), 0)
            .ignore()
            .expire(&index, ttl_secs)
            .ignore()
            .query_async::<()>(c)
            .await?;
        if !rec.status.is_final() {
            let _: () = c
                .zadd(
                    self.keys.deadlines(),
                    rec.id.as_str(),
                    rec.expires_at.unix_timestamp(),
                )
                .await?;
        }
        Ok(())
    }

    pub async fn get_record(&self, id: &UploadId) -> Result<Option<UploadRecord>, StoreError> {
        Ok(self.get_record_raw(id).await?.map(|(_, r)| r))
    }

    async fn get_record_raw(
        &self,
        id: &UploadId,
    ) -> Result<Option<(String, UploadRecord)>, StoreError> {
        self.run("get_record", async {
            let mut c = self.conn.get().await?;
            let json: Option<String> = c.get(self.keys.record(id)).await?;
            json.map(|j| decode(id, &j).map(|r| (j, r))).transpose()
        })
        .await
    }

    /// Reads the record, lets `f` decide on a new version, and stores it only if nobody
    /// changed the record in between (retrying on contention). `f` returns `None` to leave
    /// the record alone; the second value is passed back to the caller either way.
    pub async fn update_record<T>(
        &self,
        id: &UploadId,
        mut f: impl FnMut(&UploadRecord) -> (Option<UploadRecord>, T),
    ) -> Result<TransitionOutcome<T>, StoreError> {
        for _ in 0..16 {
            let Some((old_json, old)) = self.get_record_raw(id).await? else {
                return Ok(TransitionOutcome::NotFound);
            };
            let (new, extra) = f(&old);
            let Some(mut new) = new else {
                return Ok(TransitionOutcome::Unchanged(old, extra));
            };
            new.updated_at = OffsetDateTime::now_utc();
            let new_json =
                serde_json::to_string(&new).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let swapped: i64 = self
                .run("update_record", async {
                    let mut c = self.conn.get().await?;
                    Ok(CAS
                        .key(self.keys.record(id))
                        .arg(&old_json)
                        .arg(&new_json)
                        .invoke_async(&mut c)
                        .await?)
                })
                .await?;
            if swapped == 1 {
                if new.status.is_final() && !old.status.is_final() {
                    self.run("drop_deadline", async {
                        let mut c = self.conn.get().await?;
                        let _: () = c.zrem(self.keys.deadlines(), id.as_str()).await?;
                        Ok(())
                    })
                    .await?;
                }
                return Ok(TransitionOutcome::Applied(new, extra));
            }
        }
        Err(StoreError::Corrupt(format!(
            "record {id} kept changing; gave up"
        )))
    }

    /// Moves an unfinished record to the final `status`; a record already final is left as
    /// it is (`Unchanged`), so of racing finishers exactly one applies.
    pub async fn finish_record(
        &self,
        id: &UploadId,
        status: UploadStatus,
    ) -> Result<TransitionOutcome<()>, StoreError> {
        debug_assert!(status.is_final());
        self.update_record(id, |r| {
            if r.status.is_final() {
                return (None, ());
            }
            let mut n = r.clone();
            n.status = status;
            (Some(n), ())
        })
        .await
    }

    /// The caller's uploads, newest first.
    pub async fn list_records(&self, user: &UserId, q: &ListQuery) -> Result<ListPage, StoreError> {
        let index = self.keys.user_uploads(user);
        let mut items = Vec::new();
        let mut scanned = 0usize;
        let mut cursor = q.cursor.clone();
        loop {
            let max = match &cursor {
                Some(id) => format!("({id}"),
                None => "+".to_string(),
            };
            let ids: Vec<String> = self
                .run("list_index", async {
                    let mut c = self.conn.get().await?;
                    Ok(redis::cmd("ZREVRANGEBYLEX")
                        .arg(&index)
                        .arg(&max)
                        .arg("-")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(BATCH)
                        .query_async(&mut c)
                        .await?)
                })
                .await?;
            if ids.is_empty() {
                return Ok(ListPage {
                    items,
                    next_cursor: None,
                });
            }
            let ids: Vec<UploadId> = ids.iter().filter_map(|s| UploadId::parse(s).ok()).collect();
            let jsons: Vec<Option<String>> = self
                .run("list_records", async {
                    let mut c = self.conn.get().await?;
                    let mut pipe = redis::pipe();
                    for id in &ids {
                        pipe.get(self.keys.record(id));
                    }
                    Ok(pipe.query_async(&mut c).await?)
                })
                .await?;
            let mut stale = Vec::new();
            for (id, json) in ids.iter().zip(jsons) {
                scanned += 1;
                cursor = Some(id.clone());
                match json {
                    None => stale.push(id.as_str().to_string()),
                    Some(j) => {
                        let rec = decode(id, &j)?;
                        if rec.user == *user && q.status.is_none_or(|s| s == rec.status) {
                            items.push(rec);
                            if items.len() == q.limit {
                                return Ok(ListPage {
                                    items,
                                    next_cursor: cursor,
                                });
                            }
                        }
                    }
                }
            }
            if !stale.is_empty() {
                // Records expire on their own; their index entries are dropped when met.
                self.run("prune_index", async {
                    let mut c = self.conn.get().await?;
                    let _: () = c.zrem(&index, stale).await?;
                    Ok(())
                })
                .await?;
            }
            if scanned >= MAX_SCAN {
                return Ok(ListPage {
                    items,
                    next_cursor: cursor,
                });
            }
        }
    }

    /// Ids of unfinished uploads whose deadline is at or before `now` (oldest first).
    pub async fn due_uploads(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<UploadId>, StoreError> {
        self.run("due_uploads", async {
            let mut c = self.conn.get().await?;
            let ids: Vec<String> = c
                .zrangebyscore_limit(
                    self.keys.deadlines(),
                    "-inf",
                    now.unix_timestamp(),
                    0,
                    limit as isize,
                )
                .await?;
            Ok(ids.iter().filter_map(|s| UploadId::parse(s).ok()).collect())
        })
        .await
    }

    /// Forgets a deadline entry whose record is gone.
    pub async fn drop_deadline(&self, id: &UploadId) -> Result<(), StoreError> {
        self.run("drop_deadline", async {
            let mut c = self.conn.get().await?;
            let _: () = c.zrem(self.keys.deadlines(), id.as_str()).await?;
            Ok(())
        })
        .await
    }
}
