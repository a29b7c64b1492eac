//! Content checks on arrival, and deleting rejected objects. For a profile with
//! `content_check = true` the gateway reads the object's first bytes (a signed ranged GET)
//! *before* recording, so the record goes to its final status in one step with one event:
//! `completed` only for bytes that show an allowed type agreeing with the declared one.
//! The read is bounded by [`BUDGET`]; when storage cannot answer in it nothing is recorded
//! and the caller answers 5xx (storage reports the callback failed, the client confirms
//! later, and the reconciler retries after expiry), so no object is recorded unchecked and
//! no record is lost. With `delete_rejected = true` an object whose record ends `failed`
//! for breaking the profile is deleted.

use crate::config::{Profile, Settings};
use crate::domain::content_check::{self, ContentFacts};
use crate::domain::{UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::providers::{CallbackFields, Provider, Providers};
use std::time::Duration;

/// How long a content check or a delete of a rejected object may take: well inside the
/// time storage waits for a callback answer (OSS: 5 s).
pub const BUDGET: Duration = Duration::from_secs(2);

/// The bucket (config name) to read the object from, when a content-checking profile could
/// hold it (by the literal prefix of its template: conservative, never misses).
pub fn wanted<'a>(settings: &'a Settings, fields: &CallbackFields) -> Option<&'a str> {
    settings
        .profiles
        .values()
        .find(|p| {
            p.content_check && p.bucket.bucket == fields.bucket && p.may_hold_key(&fields.object)
        })
        .map(|p| p.bucket.name.as_str())
}

/// Reads the first [`content_check::SNIFF_BYTES`] of `key` and says what they are.
pub async fn read_facts(provider: &dyn Provider, key: &str) -> Result<ContentFacts, ApiError> {
    let objects = provider.objects().ok_or_else(|| {
        ApiError::internal(format!(
            "content checks need object reads, which {} does not offer",
            provider.kind()
        ))
    })?;
    let read = objects.read_head(key, content_check::SNIFF_BYTES);
    match crate::upstream_wait::timed(tokio::time::timeout(BUDGET, read)).await {
        Err(_) => Err(ApiError::UpstreamTimeout("storage")),
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(None)) => Err(ApiError::ObjectMissing),
        Ok(Ok(Some(head))) => Ok(content_check::sniff(&head)),
    }
}

/// [`read_facts`] for a callback, when some content-checking profile could hold its object.
pub async fn inspect(
    providers: &Providers,
    settings: &Settings,
    callback: crate::providers::VerifiedCallback,
) -> Result<crate::providers::VerifiedCallback, ApiError> {
    let Some(bucket) = wanted(settings, callback.fields()) else {
        return Ok(callback);
    };
    let provider = providers
        .get(bucket)
        .ok_or_else(|| ApiError::internal(format!("no provider for bucket '{bucket}'")))?;
    let facts = read_facts(provider.as_ref(), &callback.fields().object).await?;
    Ok(callback.with_content(facts))
}

/// Deletes the object of a record that ended `failed` for breaking its profile, when the
/// profile says so. Failures are logged, not returned: the record already says `failed`.
pub async fn discard(providers: &Providers, settings: &Settings, rec: &UploadRecord) -> bool {
    let Some(profile) = settings.profile(&rec.profile) else {
        return false;
    };
    if !should_discard(profile, rec) {
        return false;
    }
    let Some(objects) = providers
        .get(&profile.bucket.name)
        .and_then(|p| p.objects())
    else {
        return false;
    };
    match crate::upstream_wait::timed(tokio::time::timeout(BUDGET, objects.delete(&rec.key))).await
    {
        Ok(Ok(())) => {
            tracing::info!(upload_id = %rec.id, "rejected object deleted");
            true
        }
        Ok(Err(e)) => {
            tracing::warn!(upload_id = %rec.id, error = %e, "could not delete a rejected object");
            false
        }
        Err(_) => {
            tracing::warn!(upload_id = %rec.id, "deleting a rejected object timed out");
            false
        }
    }
}

fn should_discard(profile: &Profile, rec: &UploadRecord) -> bool {
    profile.delete_rejected && rec.status == UploadStatus::Failed && rec.failure.is_some()
}
