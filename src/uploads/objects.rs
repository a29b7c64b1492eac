//! The owner's own stored objects: a short-lived download URL, and deleting the object (the
//! record becomes `deleted`, with an `upload.deleted` event). Only completed uploads of the
//! caller; anybody else's answer 404 like ids that do not exist.

use super::Uploads;
use crate::domain::{Disposition, UploadRecord, UploadStatus, UserId, content_disposition};
use crate::error::ApiError;
use crate::providers::{DownloadRequest, ObjectApi, Provider, SignedUrl};
use crate::store::TransitionOutcome;
use crate::store::event_fields;
use std::sync::Arc;

/// What the owner asks a download to look like.
#[derive(Debug, Default)]
pub struct DownloadAsk {
    pub disposition: Option<Disposition>,
    /// Saved under this name (sanitised); default: the last segment of the object key.
    pub filename: Option<String>,
}

pub struct Download {
    pub record: UploadRecord,
    pub signed: SignedUrl,
}

impl Uploads {
    /// A presigned GET for one of the caller's completed uploads.
    pub async fn download(
        &self,
        user: &UserId,
        id: &str,
        ask: &DownloadAsk,
    ) -> Result<Download, ApiError> {
        let rec = self.load_own(user, id).await?;
        if rec.status != UploadStatus::Completed {
            return Err(ApiError::UploadNotCompleted(rec.status.to_string()));
        }
        let (profile, provider) = self.profile_of(&rec)?;
        let objects = objects_of(&provider, &profile.name)?;
        let disposition = match (ask.disposition, &ask.filename) {
            (None, None) => None,
            (kind, name) => {
                let fallback = rec.key.rsplit('/').next().unwrap_or_default();
                let name = name.as_deref().unwrap_or(fallback);
                let kind = kind.unwrap_or(Disposition::Attachment);
                Some(
                    content_disposition(kind, name)
                        .map_err(|e| ApiError::InvalidQuery(format!("filename: {e}")))?,
                )
            }
        };
        let signed = objects.presign_get(&DownloadRequest {
            key: &rec.key,
            content_disposition: disposition.as_deref(),
            now: self.now(),
            expires_in: profile.download_expires_in.as_secs(),
        });
        Ok(Download {
            record: rec,
            signed,
        })
    }

    /// Deletes the object of one of the caller's completed uploads, then marks the record
    /// `deleted` and appends `upload.deleted` in the same atomic step. Storage first: a
    /// failure after it leaves a record that a repeated call finishes. A deleted upload
    /// answers the same record again.
    pub async fn delete_object(&self, user: &UserId, id: &str) -> Result<UploadRecord, ApiError> {
        let rec = self.load_own(user, id).await?;
        match rec.status {
            UploadStatus::Deleted => return Ok(rec),
            UploadStatus::Completed => {}
            other => return Err(ApiError::UploadNotCompleted(other.to_string())),
        }
        let (profile, provider) = self.profile_of(&rec)?;
        let objects = objects_of(&provider, &profile.name)?;
        self.upstream(provider.as_ref(), "DeleteObject", objects.delete(&rec.key))
            .await?;
        let outcome = self
            .store
            .update_record_with_event(
                &rec.id,
                |r| {
                    if r.status != UploadStatus::Completed {
                        return (None, ());
                    }
                    let mut n = r.clone();
                    n.status = UploadStatus::Deleted;
                    (Some(n), ())
                },
                |r| Some(event_fields(r)),
            )
            .await?;
        match outcome {
            TransitionOutcome::Applied(r, _) => {
                tracing::info!(upload_id = %r.id, "object deleted by its owner");
                Ok(r)
            }
            TransitionOutcome::Unchanged(r, _) if r.status == UploadStatus::Deleted => Ok(r),
            TransitionOutcome::Unchanged(r, _) => {
                Err(ApiError::UploadNotCompleted(r.status.to_string()))
            }
            TransitionOutcome::NotFound => Err(ApiError::NotFound("upload not found".into())),
        }
    }
}

fn objects_of<'a>(
    provider: &'a Arc<dyn Provider>,
    profile: &str,
) -> Result<&'a dyn ObjectApi, ApiError> {
    provider
        .objects()
        .ok_or_else(|| ApiError::ObjectsNotSupported(profile.to_string()))
}
