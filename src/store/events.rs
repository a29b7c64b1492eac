//! The claims that make object arrivals idempotent, what the event streams are capped at,
//! and what an event says. Events themselves are appended by the record scripts, in the step
//! that makes a record final (`uploads.rs`).

use super::keys::SHARDS;
use super::{EventFields, Store, StoreError};
use crate::domain::{UploadId, UploadRecord, UploadStatus};
use time::format_description::well_known::Rfc3339;

/// One stream entry for a record's final status: flat string fields, documented in the
/// README and the OpenAPI spec (webhooks deliver the same fields).
pub fn event_fields(rec: &UploadRecord) -> EventFields {
    let (kind, at) = match rec.status {
        UploadStatus::Completed => ("upload.completed", rec.completed_at),
        UploadStatus::Expired => ("upload.expired", rec.completed_at),
        UploadStatus::Aborted => ("upload.aborted", rec.completed_at),
        // When the owner deleted it: this version's own time.
        UploadStatus::Deleted => ("upload.deleted", Some(rec.updated_at)),
        _ => ("upload.failed", rec.completed_at),
    };
    let at = at.unwrap_or(rec.updated_at);
    let mut f = vec![
        ("type", kind.to_string()),
        ("upload_id", rec.id.to_string()),
        ("user", rec.user.as_str().to_string()),
        ("profile", rec.profile.clone()),
        ("kind", rec.kind.as_str().to_string()),
        ("provider", rec.provider.clone()),
        ("bucket", rec.bucket.clone()),
        ("key", rec.key.clone()),
        ("status", rec.status.as_str().to_string()),
        ("at", at.format(&Rfc3339).unwrap_or_default()),
    ];
    let optional = [
        ("size", rec.size.map(|s| s.to_string())),
        ("etag", rec.etag.clone()),
        ("content_type", rec.content_type.clone()),
        ("crc64", rec.crc64.clone()),
        ("grant_id", rec.grant_id.as_ref().map(|g| g.to_string())),
        ("failure", rec.failure.clone()),
        ("detected_type", rec.detected_type.clone()),
    ];
    f.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    f
}

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
