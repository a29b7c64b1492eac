//! An object that storage says has landed, named only by bucket and key (an S3 event
//! notification, a MinIO bucket webhook): the gateway asks storage itself (HeadObject with
//! its own key) and completes the upload whose binding the object carries, through the same
//! path as `confirm`. The notice is only a hint: what completes the record is what HeadObject
//! shows, so a duplicate, late or forged notice changes nothing storage does not prove.

use super::Uploads;
use super::confirm::Outcome;
use super::object_binding::claimed_upload;
use crate::callbacks::binding::Binding;
use crate::domain::{ObjectKey, UploadKind, UploadRecord};
use crate::error::ApiError;

impl Uploads {
    /// Checks the object at `key` in the bucket configured as `[buckets.<bucket>]` and
    /// completes the upload it belongs to. `trigger` labels the reconciliation metric
    /// (`"s3-sns"`, `"s3-webhook"`). Returns what happened and the record, when one is bound:
    /// `Missing` (no such object), `Unbound` (an object no right of the gateway wrote, or
    /// one whose upload is gone), `Completed`, `AlreadyFinal` (a duplicate notice), `Rejected`
    /// (the object breaks its profile).
    pub async fn complete_from_storage(
        &self,
        bucket: &str,
        key: &str,
        trigger: &str,
    ) -> Result<(Outcome, Option<UploadRecord>), ApiError> {
        let result = self.landed(bucket, key).await;
        let label = match &result {
            Ok((o, _)) => o.label(),
            Err(e) if actix_web::ResponseError::status_code(e).is_client_error() => "refused",
            Err(_) => "error",
        };
        self.metrics
            .reconciliations_total
            .with_label_values(&[trigger, label])
            .inc();
        result
    }

    /// The config names of the `provider` buckets whose storage name is `storage_bucket`
    /// (what a notification names), for [`Uploads::complete_from_storage`]. Usually one;
    /// more when stores at several endpoints hold a bucket of that name.
    pub fn buckets_named(&self, provider: &str, storage_bucket: &str) -> Vec<String> {
        self.settings
            .buckets
            .values()
            .filter(|b| b.kind().as_str() == provider && b.bucket == storage_bucket)
            .map(|b| b.name.clone())
            .collect()
    }

    async fn landed(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(Outcome, Option<UploadRecord>), ApiError> {
        let provider = self
            .providers
            .get(bucket)
            .cloned()
            .ok_or_else(|| ApiError::NotFound(format!("no bucket '{bucket}' is configured")))?;
        ObjectKey::parse(key).map_err(|e| ApiError::InvalidObjectKey(e.to_string()))?;
        let in_some_profile = self
            .settings
            .profiles
            .values()
            .any(|p| p.bucket.name == bucket && p.may_hold_key(key));
        if !in_some_profile {
            return Err(ApiError::InvalidObjectKey(
                "the key is outside every profile's prefix in this bucket".into(),
            ));
        }
        let head = provider.head_object(key);
        let Some(meta) = self.upstream(provider.as_ref(), "HeadObject", head).await? else {
            return Ok((Outcome::Missing, None));
        };
        let Some(id) = claimed_upload(&meta) else {
            return Ok((Outcome::Unbound, None));
        };
        let Some(rec) = self.store.get_record(&id).await? else {
            return Ok((Outcome::Unbound, None));
        };
        let (profile, rec_provider) = self.profile_of(&rec)?;
        if profile.bucket.name != bucket || rec_provider.kind() != provider.kind() {
            return Ok((Outcome::Unbound, None));
        }
        let binding = if rec.key == key {
            Binding::Upload {
                upload_id: rec.id.clone(),
                user: rec.user.clone(),
                declared_size: rec.declared_size,
            }
        } else if rec.kind == UploadKind::Form
            && profile.client_chosen_name
            && key.len() > rec.key.len()
            && key.starts_with(&rec.key)
        {
            // A form whose client named the file under the prefix the record holds.
            Binding::FormUpload {
                upload_id: rec.id.clone(),
                user: rec.user.clone(),
                prefix: rec.key.clone(),
            }
        } else {
            return Ok((Outcome::Unbound, None));
        };
        if rec.status.is_final() {
            return Ok((Outcome::AlreadyFinal, Some(rec)));
        }
        let (outcome, rec) = self
            .complete_checked(&rec, &profile, provider.as_ref(), key, meta, binding)
            .await?;
        Ok((outcome, (outcome != Outcome::Unbound).then_some(rec)))
    }
}
