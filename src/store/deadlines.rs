//! The deadline index: unfinished uploads by the time past which they count as abandoned,
//! split over the shards, read by the reconciler and the multipart sweeper.

use super::keys::SHARDS;
use super::scripts::DUE;
use super::{Store, StoreError};
use crate::domain::UploadId;
use redis::AsyncCommands;
use time::OffsetDateTime;

/// Entries one script call looks at: bounds how long it holds Redis (each is a GET and a
/// JSON decode).
const SCAN_PER_CALL: usize = 200;
/// Calls per shard in one `due_uploads`: past this many kept-but-unwanted entries a shard
/// yields what it found, and the next round goes on.
const CALLS_PER_SHARD: usize = 100;

/// Which unfinished uploads a job wants from the deadline index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueKind {
    Any,
    /// The sweeper's: only multipart uploads.
    Multipart,
    /// The reconciler's: every kind but multipart (the sweeper's job).
    NotMultipart,
}

impl DueKind {
    fn filter(self) -> &'static str {
        match self {
            DueKind::Any => "",
            DueKind::Multipart => "multipart",
            DueKind::NotMultipart => "-multipart",
        }
    }
}

impl Store {
    /// Ids of unfinished uploads whose deadline is at or before `now` (oldest first).
    pub async fn due_uploads(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<UploadId>, StoreError> {
        self.due_uploads_of(now, limit, DueKind::Any).await
    }

    /// [`Store::due_uploads`] of one kind. Entries whose record is final or gone are removed
    /// as they are met, so any number of them cannot hide a due upload.
    pub async fn due_uploads_of(
        &self,
        now: OffsetDateTime,
        limit: usize,
        kind: DueKind,
    ) -> Result<Vec<UploadId>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let shards = (0..SHARDS).map(|s| self.due_in_shard(s, now, limit, kind));
        let mut all: Vec<(i64, UploadId)> = futures_util::future::try_join_all(shards)
            .await?
            .into_iter()
            .flatten()
            .collect();
        all.sort();
        all.truncate(limit);
        Ok(all.into_iter().map(|(_, id)| id).collect())
    }

    async fn due_in_shard(
        &self,
        shard: usize,
        now: OffsetDateTime,
        limit: usize,
        kind: DueKind,
    ) -> Result<Vec<(i64, UploadId)>, StoreError> {
        let mut found = Vec::new();
        let mut offset = 0i64;
        for _ in 0..CALLS_PER_SHARD {
            let reply: Vec<String> = self
                .run("due_uploads", async {
                    let mut c = self.conn.get().await?;
                    Ok(DUE
                        .key(self.keys.deadlines(shard))
                        .arg(now.unix_timestamp())
                        .arg(limit - found.len())
                        .arg(SCAN_PER_CALL)
                        .arg(self.keys.record_prefix(shard))
                        .arg(kind.filter())
                        .arg(offset)
                        .invoke_async(&mut c)
                        .await?)
                })
                .await?;
            let mut it = reply.into_iter();
            let next: i64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let more = it.next().as_deref() == Some("1");
            let rest: Vec<String> = it.collect();
            for pair in rest.chunks_exact(2) {
                let score = pair[1].parse::<f64>().unwrap_or(0.0) as i64;
                if let Ok(id) = UploadId::parse(&pair[0]) {
                    found.push((score, id));
                }
            }
            offset = next;
            if !more || found.len() >= limit {
                break;
            }
        }
        Ok(found)
    }

    /// Forgets a deadline entry whose record is gone.
    pub async fn drop_deadline(&self, id: &UploadId) -> Result<(), StoreError> {
        self.run("drop_deadline", async {
            let mut c = self.conn.get().await?;
            let _: () = c.zrem(self.keys.deadlines_for(id), id.as_str()).await?;
            Ok(())
        })
        .await
    }
}
