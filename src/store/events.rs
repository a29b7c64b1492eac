//! The completion event stream, the claims that make object arrivals idempotent, and the
//! short locks that let one replica at a time run a background job.

use super::{Store, StoreError};
use crate::domain::UploadId;
use std::time::Duration;

impl Store {
    /// Appends one event to the stream (trimmed to about `events_maxlen` entries) and returns
    /// its stream id.
    pub async fn append_event(&self, fields: &[(&str, String)]) -> Result<String, StoreError> {
        self.run("append_event", async {
            let mut c = self.conn.get().await?;
            let mut cmd = redis::cmd("XADD");
            cmd.arg(self.keys.events())
                .arg("MAXLEN")
                .arg("~")
                .arg(self.events_maxlen)
                .arg("*");
            for (k, v) in fields {
                cmd.arg(*k).arg(v);
            }
            Ok(cmd.query_async::<String>(&mut c).await?)
        })
        .await
    }

    /// Claims `candidate` as the record id of this stored object version (bucket, key, ETag).
    /// Returns the id that holds the claim: `candidate` when it was free, otherwise the id an
    /// earlier delivery of the same object claimed.
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

    /// Takes the named lock for `ttl` if nobody holds it. There is no release: the holder's
    /// job is periodic and the lock simply lapses, so a crashed holder blocks nobody for long.
    pub async fn try_lock(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.run("try_lock", async {
            let mut c = self.conn.get().await?;
            let set: Option<String> = redis::cmd("SET")
                .arg(self.keys.lock(name))
                .arg(uuid::Uuid::new_v4().simple().to_string())
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .query_async(&mut c)
                .await?;
            Ok(set.is_some())
        })
        .await
    }
}
