//! Uploads whose callback never came (OSS gave the client a 203, or the provider has no
//! callbacks): the gateway asks storage itself. `confirm` does it for one upload on the
//! client's request; the background reconciler does it for unfinished uploads past their
//! expiry, one replica at a time. An object that is there completes the record through the
//! same path as a callback (rules, event, idempotence); one that is not expires it.

use super::Accepted;
use super::binding::Binding;
use super::body::CallbackFields;
use super::record::{self, Applied, ApplyError};
use crate::domain::{UploadKind, UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{DueKind, TransitionOutcome};
use time::OffsetDateTime;

/// How many due uploads one reconciler round looks at.
const BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    AlreadyFinal,
    Missing,
    Expired,
    Rejected,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::AlreadyFinal => "already_final",
            Outcome::Missing => "missing",
            Outcome::Expired => "expired",
            Outcome::Rejected => "rejected",
        }
    }
}

/// Checks one upload in storage and completes its record if the object is there.
pub async fn check(
    state: &AppState,
    rec: &UploadRecord,
    trigger: &str,
) -> Result<(Outcome, UploadRecord), ApiError> {
    let result = check_inner(state, rec).await;
    let label = match &result {
        Ok((o, _)) => o.label(),
        Err(_) => "error",
    };
    state
        .metrics
        .reconciliations_total
        .with_label_values(&[trigger, label])
        .inc();
    result
}

async fn check_inner(
    state: &AppState,
    rec: &UploadRecord,
) -> Result<(Outcome, UploadRecord), ApiError> {
    if rec.status.is_final() {
        return Ok((Outcome::AlreadyFinal, rec.clone()));
    }
    if rec.kind == UploadKind::Sts {
        return Err(ApiError::InvalidArgument(
            "sts grants are not confirmed one object at a time".into(),
        ));
    }
    let profile = state.profile(&rec.profile)?;
    let provider = crate::rights::provider_for(state, profile)?;
    let head = provider.head_object(&rec.key);
    let Some(meta) =
        crate::multipart::upstream(state, provider.as_ref(), "HeadObject", head).await?
    else {
        return Ok((Outcome::Missing, rec.clone()));
    };
    let entry = Accepted {
        provider: provider.kind().to_string(),
        received_at: OffsetDateTime::now_utc(),
        binding: Binding::Upload {
            upload_id: rec.id.clone(),
            user: rec.user.clone(),
        },
        fields: CallbackFields {
            bucket: rec.bucket.clone(),
            object: rec.key.clone(),
            etag: meta.etag,
            size: Some(meta.size),
            mime_type: meta.content_type,
            crc64: meta.crc64,
            content_md5: None,
            image_info: None,
            vars: Default::default(),
        },
    };
    match record::apply(&state.store, &state.settings, &entry).await {
        Ok(Applied::New(r)) => Ok((Outcome::Completed, r)),
        Ok(Applied::Duplicate(r)) => Ok((Outcome::AlreadyFinal, r)),
        Err(ApplyError::Rejected(r, _)) => Ok((Outcome::Rejected, *r)),
        Err(ApplyError::Conflict(r)) => Ok((Outcome::AlreadyFinal, *r)),
        Err(ApplyError::UnknownUpload) => Err(ApiError::NotFound("upload not found".into())),
        Err(ApplyError::Mismatch(m)) => Err(ApiError::internal(format!("reconcile: {m}"))),
        Err(ApplyError::Store(e)) => Err(e.into()),
    }
}

/// One reconciler round, if this replica holds the lock: uploads past their deadline are
/// completed from storage or marked `expired`. Returns how many uploads were looked at.
pub async fn run_once(state: &AppState) -> Result<usize, ApiError> {
    let interval = state.settings.callbacks.reconcile_interval;
    let round = state.store.with_lock("reconcile", interval, round(state));
    round.await?.unwrap_or(Ok(0))
}

async fn round(state: &AppState) -> Result<usize, ApiError> {
    let now = OffsetDateTime::now_utc();
    let due = state
        .store
        .due_uploads_of(now, BATCH, DueKind::NotMultipart)
        .await?;
    for id in &due {
        let Some(rec) = state.store.get_record(id).await? else {
            state.store.drop_deadline(id).await?;
            continue;
        };
        // Multipart uploads belong to their own sweeper, which aborts them upstream.
        if rec.kind == UploadKind::Multipart {
            continue;
        }
        let outcome = if rec.kind == UploadKind::Sts {
            Ok((Outcome::Missing, rec.clone()))
        } else {
            check(state, &rec, "reconciler").await
        };
        match outcome {
            Ok((Outcome::Missing, _)) => expire(state, &rec).await?,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(upload_id = %rec.id, error = %e, "reconcile failed; will retry")
            }
        }
    }
    Ok(due.len())
}

async fn expire(state: &AppState, rec: &UploadRecord) -> Result<(), ApiError> {
    let outcome = state
        .store
        .finish_record(&rec.id, UploadStatus::Expired)
        .await?;
    if let TransitionOutcome::Applied(..) = outcome {
        state
            .metrics
            .reconciliations_total
            .with_label_values(&["reconciler", Outcome::Expired.label()])
            .inc();
    }
    Ok(())
}
