//! The claims that make object arrivals idempotent, and what the event streams are capped
//! at. Events themselves are appended by the record scripts, in the step that makes a record
//! final (`uploads.rs`).

use super::keys::SHARDS;
use super::{Store, StoreError};
use crate::domain::UploadId;

impl Store {
    /// Approximate cap on each shard's stream (`XADD MAXLEN ~`): `events_maxlen` is the cap
    /// over all shards together.
    pub(super) fn events_cap(&self) -> u64 {
        self.events_maxlen.div_ceil(SHARDS as u64).max(1)
    }

    /// Claims `candidate` as the record id of this stored object version (bucket, key, ETag).
    /// Returns the id that holds the claim: `candidate` when it was free, otherwise the id an
    /// earlier delivery of the same object claimed. A single-key command, so one slot.
    pub async fn claim_object(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
        candidate: &UploadId,
    ) -> Result<UploadId, StoreError> {
        let ttl_ms = self.record_ttl.as_millis() as u64;
        self.run("claim_object", async {
            let mut c = self.conn.get().await?;
            let previous: Option<String> = redis::cmd("SET")
                .arg(self.keys.object_claim(bucket, key, etag))
                .arg(candidate.as_str())
                .arg("NX")
                .arg("GET")
                .arg("PX")
                .arg(ttl_ms)
                .query_async(&mut c)
                .await?;
            match previous {
                None => Ok(candidate.clone()),
                Some(id) => UploadId::parse(&id)
                    .map_err(|e| StoreError::Corrupt(format!("object claim: {e}"))),
            }
        })
        .await
    }
}
