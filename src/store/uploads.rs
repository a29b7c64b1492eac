//! Upload records: created when a right is issued, moved through their life cycle with
//! compare-and-set (in the same atomic step as their event), listed per user.

use super::keys::{Keys, SHARDS};
use super::scripts::{CREATE, TRANSITION};
use super::{Store, StoreError};
use crate::domain::{UploadId, UploadRecord, UploadStatus, UserId};
use redis::AsyncCommands;
use time::OffsetDateTime;

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

/// Flat string fields of one stream entry.
pub type EventFields = Vec<(&'static str, String)>;

fn decode(id: &UploadId, json: &str) -> Result<UploadRecord, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("record {id}: {e}")))
}

/// The record as JSON and, when it carries an event, the placeholder standing in its JSON
/// for the event id that only the script learns. Random, so no client-written value can
/// equal it.
fn encode(rec: &UploadRecord, event: Option<&EventFields>) -> Result<(String, String), StoreError> {
    let placeholder = match event {
        Some(_) => format!("evt-{}", uuid::Uuid::new_v4().simple()),
        None => String::new(),
    };
    let json = if event.is_some() {
        let mut with = rec.clone();
        with.event_id = Some(placeholder.clone());
        serde_json::to_string(&with)
    } else {
        serde_json::to_string(rec)
    }
    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok((json, placeholder))
}

fn push_fields(inv: &mut redis::ScriptInvocation<'_>, event: Option<&EventFields>) {
    for (k, v) in event.into_iter().flatten() {
        inv.arg(*k).arg(v);
    }
}

impl Store {
    /// Stores a new record, indexes it for its user and, while unfinished, by deadline.
    /// One round trip on a single server; on a Cluster two (the record with its deadline,
    /// then the user's index, which lives in the user's slot).
    pub async fn create_record(&self, rec: &UploadRecord) -> Result<(), StoreError> {
        match self.insert_record(rec, None).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::AlreadyExists(rec.id.to_string())),
        }
    }

    /// [`Store::create_record`] for a record that is born final and appends `event` with it,
    /// atomically. Returns the stored record (with its event id), or `None` when a record
    /// with this id exists already (nothing is written then).
    pub async fn create_record_with_event(
        &self,
        rec: &UploadRecord,
        event: &EventFields,
    ) -> Result<Option<UploadRecord>, StoreError> {
        self.insert_record(rec, Some(event)).await
    }

    async fn insert_record(
        &self,
        rec: &UploadRecord,
        event: Option<&EventFields>,
    ) -> Result<Option<UploadRecord>, StoreError> {
        let (json, placeholder) = encode(rec, event)?;
        let ttl_ms = self.record_ttl.as_millis() as u64;
        let index_ttl = self.record_ttl.as_secs().max(1);
        let index = self.keys.user_uploads(&rec.user);
        let cluster = self.conn.is_cluster();
        let deadline = if rec.status.is_final() {
            String::new()
        } else {
            rec.expires_at.unix_timestamp().to_string()
        };
        let (created, event_id): (i64, Option<String>) = self
            .run("create_record", async {
                let mut c = self.conn.get().await?;
                if event.is_none() {
                    // No event id to splice into the JSON, so no script: one MULTI is cheaper
                    // for Redis than a Lua call (measured: see scripts/load/run.sh's CPU
                    // column). An existing record is left as it is (SET NX); its deadline and
                    // index entries are the same ones again.
                    let mut p = redis::pipe();
                    p.atomic()
                        .cmd("SET")
                        .arg(self.keys.record(&rec.id))
                        .arg(&json)
                        .arg("PX")
                        .arg(ttl_ms)
                        .arg("NX");
                    if !deadline.is_empty() {
                        p.zadd(self.keys.deadlines_for(&rec.id), rec.id.as_str(), &deadline)
                            .ignore();
                    }
                    if !cluster {
                        p.zadd(&index, rec.id.as_str(), 0)
                            .ignore()
                            .expire(&index, index_ttl as i64)
                            .ignore();
                    }
                    let (set,): (Option<String>,) = p.query_async(&mut c).await?;
                    return Ok((i64::from(set.is_some()), None));
                }
                let mut inv = CREATE.prepare_invoke();
                inv.key(self.keys.record(&rec.id))
                    .key(self.keys.deadlines_for(&rec.id))
                    .key(self.keys.events_for(&rec.id));
                if !cluster {
                    inv.key(&index);
                }
                inv.arg(&json)
                    .arg(ttl_ms)
                    .arg(rec.id.as_str())
                    .arg(&deadline)
                    .arg(&placeholder)
                    .arg(self.events_cap())
                    .arg(index_ttl);
                push_fields(&mut inv, event);
                let reply: Vec<redis::Value> = inv.invoke_async(&mut c).await?;
                reply_status(reply)
            })
            .await?;
        if created == 0 {
            return Ok(None);
        }
        if cluster {
            // After the record, not before: a listing drops index entries whose record it
            // cannot find, and would drop one that ran ahead of its record.
            self.run("index_record", async {
                let mut c = self.conn.get().await?;
                redis::pipe()
                    .zadd(&index, rec.id.as_str(), 0)
                    .ignore()
                    .expire(&index, index_ttl as i64)
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await?;
                Ok(())
            })
            .await?;
        }
        let mut stored = rec.clone();
        stored.event_id = event_id.filter(|e| !e.is_empty()).or(stored.event_id);
        self.settle_after_transition(&stored).await;
        Ok(Some(stored))
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
        self.update_record_with_event(id, &mut f, |_| None).await
    }

    /// [`Store::update_record`], and when `event` returns fields for the new version, the
    /// event is appended to the upload's stream in the same atomic step as the change and its
    /// id stored in the record. Two round trips (read, then compare-and-set) without
    /// contention. A record that becomes final leaves the deadline index in that step too.
    pub async fn update_record_with_event<T>(
        &self,
        id: &UploadId,
        f: impl FnMut(&UploadRecord) -> (Option<UploadRecord>, T),
        event: impl Fn(&UploadRecord) -> Option<EventFields>,
    ) -> Result<TransitionOutcome<T>, StoreError> {
        let outcome = self.transition(id, f, event).await?;
        // The quota's own step, after the transition and again whenever a transition meets
        // a final record (a repeated callback, replay, reconciler): settling is idempotent.
        if let TransitionOutcome::Applied(r, _) | TransitionOutcome::Unchanged(r, _) = &outcome {
            self.settle_after_transition(r).await;
        }
        Ok(outcome)
    }

    async fn transition<T>(
        &self,
        id: &UploadId,
        mut f: impl FnMut(&UploadRecord) -> (Option<UploadRecord>, T),
        event: impl Fn(&UploadRecord) -> Option<EventFields>,
    ) -> Result<TransitionOutcome<T>, StoreError> {
        let Some((mut old_json, mut old)) = self.get_record_raw(id).await? else {
            return Ok(TransitionOutcome::NotFound);
        };
        for _ in 0..16 {
            let (new, extra) = f(&old);
            let Some(mut new) = new else {
                return Ok(TransitionOutcome::Unchanged(old, extra));
            };
            new.updated_at = OffsetDateTime::now_utc();
            let fields = event(&new);
            let (new_json, placeholder) = encode(&new, fields.as_ref())?;
            let final_flag = if new.status.is_final() { "1" } else { "0" };
            let reply: Vec<redis::Value> = self
                .run("update_record", async {
                    let mut c = self.conn.get().await?;
                    let mut inv = TRANSITION.prepare_invoke();
                    inv.key(self.keys.record(id))
                        .key(self.keys.deadlines_for(id))
                        .key(self.keys.events_for(id))
                        .arg(&old_json)
                        .arg(&new_json)
                        .arg(id.as_str())
                        .arg(final_flag)
                        .arg(&placeholder)
                        .arg(self.events_cap());
                    push_fields(&mut inv, fields.as_ref());
                    Ok(inv.invoke_async(&mut c).await?)
                })
                .await?;
            match reply_status(reply)? {
                (0, _) => return Ok(TransitionOutcome::NotFound),
                (1, Some(current)) => {
                    old = decode(id, &current)?;
                    old_json = current;
                }
                (2, event_id) => {
                    if fields.is_some() {
                        new.event_id = event_id;
                    }
                    return Ok(TransitionOutcome::Applied(new, extra));
                }
                (other, _) => {
                    return Err(StoreError::Corrupt(format!(
                        "update script answered {other}"
                    )));
                }
            }
        }
        Err(StoreError::Corrupt(format!(
            "record {id} kept changing; gave up"
        )))
    }

    /// Moves an unfinished record to the final `status` (expired, aborted) and appends its
    /// event in the same step; a record already final is left as it is (`Unchanged`), so of
    /// racing finishers exactly one applies and exactly one event is appended.
    pub async fn finish_record(
        &self,
        id: &UploadId,
        status: UploadStatus,
    ) -> Result<TransitionOutcome<()>, StoreError> {
        debug_assert!(status.is_final());
        self.update_record_with_event(
            id,
            |r| {
                if r.status.is_final() {
                    return (None, ());
                }
                let mut n = r.clone();
                n.status = status;
                (Some(n), ())
            },
            |r| Some(super::event_fields(r)),
        )
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
            let jsons = self.get_many(&ids).await?;
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

    /// The records of `ids`, in order: one `MGET` per shard, all in one pipeline on a single
    /// server and side by side on a Cluster (where one command may not span slots).
    async fn get_many(&self, ids: &[UploadId]) -> Result<Vec<Option<String>>, StoreError> {
        let mut by_shard: Vec<Vec<usize>> = vec![Vec::new(); SHARDS];
        for (i, id) in ids.iter().enumerate() {
            by_shard[Keys::shard_of(id)].push(i);
        }
        let groups: Vec<&Vec<usize>> = by_shard.iter().filter(|g| !g.is_empty()).collect();
        let mget = |g: &[usize]| {
            let mut cmd = redis::cmd("MGET");
            for &i in g {
                cmd.arg(self.keys.record(&ids[i]));
            }
            cmd
        };
        let replies: Vec<Vec<Option<String>>> = self
            .run("list_records", async {
                let c = self.conn.get().await?;
                if self.conn.is_cluster() {
                    let calls = groups.iter().map(|g| {
                        let mut c = c.clone();
                        let cmd = mget(g);
                        async move { cmd.query_async::<Vec<Option<String>>>(&mut c).await }
                    });
                    Ok(futures_util::future::try_join_all(calls).await?)
                } else {
                    let mut pipe = redis::pipe();
                    for g in &groups {
                        pipe.add_command(mget(g));
                    }
                    let mut c = c;
                    Ok(pipe.query_async(&mut c).await?)
                }
            })
            .await?;
        let mut out = vec![None; ids.len()];
        for (g, reply) in groups.iter().zip(replies) {
            for (&i, json) in g.iter().zip(reply) {
                out[i] = json;
            }
        }
        Ok(out)
    }
}

/// `{status, value?}` from a script reply.
fn reply_status(reply: Vec<redis::Value>) -> Result<(i64, Option<String>), StoreError> {
    let mut it = reply.into_iter();
    let status: i64 = match it.next() {
        Some(v) => redis::from_redis_value(v).map_err(redis::RedisError::from)?,
        None => return Err(StoreError::Corrupt("empty script reply".into())),
    };
    let value = it
        .next()
        .map(redis::from_redis_value::<String>)
        .transpose()
        .map_err(redis::RedisError::from)?;
    Ok((status, value))
}
