//! Applying a verified arrival to Redis, exactly once: the record moves to `completed` (or
//! `failed`, when the stored object breaks the profile's rules) with compare-and-set, and
//! the completion event is appended in that same atomic step, its id stored in the record.
//! Running the same arrival again (a replayed callback, a journal replay, a confirm, or
//! deliveries racing each other) changes nothing and appends nothing; a final record an
//! older version left without its event gets it, once, by the same guarded step.

use super::Accepted;
use super::binding::Binding;
use super::trust;
use crate::config::Settings;
use crate::domain::content_check::ContentFacts;
use crate::domain::{ContentType, RecordTarget, UploadKind, UploadRecord, UploadStatus};
use crate::store::{EventFields, Store, StoreError, TransitionOutcome, event_fields};

#[derive(Debug)]
pub enum Applied {
    /// This arrival completed (or failed) the record.
    New(UploadRecord),
    /// The record already held this arrival.
    Duplicate(UploadRecord),
}

impl Applied {
    pub fn record(&self) -> &UploadRecord {
        match self {
            Applied::New(r) | Applied::Duplicate(r) => r,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("no such upload")]
    UnknownUpload,
    #[error("the callback's {0} does not match the upload record")]
    Mismatch(&'static str),
    /// Completed before with another ETag: a second object version for one upload id.
    #[error("upload already completed with another ETag")]
    Conflict(Box<UploadRecord>),
    /// The stored object breaks the profile's rules; the record is now `failed`.
    #[error("{1}")]
    Rejected(Box<UploadRecord>, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Step {
    Apply,
    Duplicate,
    Conflict,
    Mismatch(&'static str),
}

pub async fn apply(
    store: &Store,
    settings: &Settings,
    entry: &Accepted,
) -> Result<Applied, ApplyError> {
    let applied = match &entry.binding {
        Binding::Upload {
            upload_id, user, ..
        } => arrive_for_upload(store, settings, entry, upload_id, user, None).await?,
        Binding::FormUpload {
            upload_id,
            user,
            prefix,
        } => arrive_for_upload(store, settings, entry, upload_id, user, Some(prefix)).await?,
        Binding::Grant {
            grant_id,
            user,
            profile,
            prefix,
            upload_id,
        } => {
            arrive_under_grant(
                store, settings, entry, grant_id, user, profile, prefix, upload_id,
            )
            .await?
        }
    };
    let rec = match &applied {
        Applied::Duplicate(r) if r.event_id.is_none() => publish(store, r.clone()).await?,
        other => other.record().clone(),
    };
    if rec.status == UploadStatus::Failed {
        let reason = rec.failure.clone().unwrap_or_default();
        return Err(ApplyError::Rejected(Box::new(rec), reason));
    }
    Ok(match applied {
        Applied::New(_) => Applied::New(rec),
        Applied::Duplicate(_) => Applied::Duplicate(rec),
    })
}

/// The arrival for one issued upload: its exact key, or (a form whose client picked the
/// name) any key under `prefix`, which the record then takes.
async fn arrive_for_upload(
    store: &Store,
    settings: &Settings,
    entry: &Accepted,
    upload_id: &crate::domain::UploadId,
    user: &crate::domain::UserId,
    prefix: Option<&str>,
) -> Result<Applied, ApplyError> {
    let f = entry.callback.fields();
    let outcome = store
        .update_record_with_event(
            upload_id,
            |old| {
                let key_matches = match prefix {
                    None => old.key == f.object,
                    // Before arrival the record holds the prefix; after, the object's key.
                    Some(p) => old.key == p || (old.key == f.object && f.object.starts_with(p)),
                };
                let step = if old.user != *user {
                    Step::Mismatch("user")
                } else if old.bucket != f.bucket || !key_matches {
                    Step::Mismatch("bucket or object")
                } else if old.kind == UploadKind::Sts
                    || (prefix.is_some() && old.kind != UploadKind::Form)
                {
                    Step::Mismatch("upload kind")
                } else if old.status == UploadStatus::Completed
                    || (old.status == UploadStatus::Failed && old.failure.is_some())
                {
                    if old.etag == f.etag && old.key == f.object {
                        Step::Duplicate
                    } else {
                        Step::Conflict
                    }
                } else if old.status == UploadStatus::Aborted {
                    Step::Conflict
                } else {
                    Step::Apply
                };
                match step {
                    Step::Apply => {
                        let mut new = arrive(settings, old, entry);
                        new.key = f.object.clone();
                        (Some(new), step)
                    }
                    // Final without its event: written before events were appended in the
                    // transition. Append it now, under the same guard.
                    Step::Duplicate if old.event_id.is_none() => (Some(old.clone()), step),
                    other => (None, other),
                }
            },
            unpublished_event,
        )
        .await?;
    Ok(match outcome {
        TransitionOutcome::NotFound => return Err(ApplyError::UnknownUpload),
        TransitionOutcome::Applied(rec, Step::Apply) => Applied::New(rec),
        TransitionOutcome::Applied(rec, _) => Applied::Duplicate(rec),
        TransitionOutcome::Unchanged(rec, Step::Duplicate) => Applied::Duplicate(rec),
        TransitionOutcome::Unchanged(rec, Step::Conflict) => {
            return Err(ApplyError::Conflict(Box::new(rec)));
        }
        TransitionOutcome::Unchanged(_, Step::Mismatch(what)) => {
            return Err(ApplyError::Mismatch(what));
        }
        TransitionOutcome::Unchanged(rec, Step::Apply) => Applied::Duplicate(rec),
    })
}

#[allow(clippy::too_many_arguments)]
async fn arrive_under_grant(
    store: &Store,
    settings: &Settings,
    entry: &Accepted,
    grant_id: &crate::domain::UploadId,
    user: &crate::domain::UserId,
    profile: &str,
    prefix: &str,
    candidate: &crate::domain::UploadId,
) -> Result<Applied, ApplyError> {
    let f = entry.callback.fields();
    let grant = store
        .get_record(grant_id)
        .await?
        .ok_or(ApplyError::UnknownUpload)?;
    if grant.user != *user || grant.kind != UploadKind::Sts {
        return Err(ApplyError::Mismatch("grant"));
    }
    if grant.profile != profile || grant.key != prefix || grant.bucket != f.bucket {
        return Err(ApplyError::Mismatch("bucket or prefix"));
    }
    // One record per stored object version, however often its callback is delivered.
    let etag = f.etag.as_deref().unwrap_or("");
    let id = store
        .claim_object(&f.bucket, &f.object, etag, candidate)
        .await?;
    if let Some(rec) = store.get_record(&id).await? {
        return Ok(Applied::Duplicate(rec));
    }
    let mut rec = UploadRecord::issued(
        id.clone(),
        user.clone(),
        UploadKind::Sts,
        RecordTarget {
            profile,
            provider: &grant.provider,
            bucket: &f.bucket,
            key: &f.object,
        },
        entry.callback.received_at(),
        grant.expires_at,
    );
    rec.grant_id = Some(grant_id.clone());
    // Objects under a grant count against the grant's quota scopes as they arrive.
    rec.quota = grant.quota.clone();
    let rec = arrive(settings, &rec, entry);
    match store
        .create_record_with_event(&rec, &event_fields(&rec))
        .await?
    {
        Some(stored) => Ok(Applied::New(stored)),
        // Another delivery created it between our read and our write.
        None => match store.get_record(&id).await? {
            Some(existing) => Ok(Applied::Duplicate(existing)),
            None => Err(ApplyError::UnknownUpload),
        },
    }
}

/// The record once the object has arrived: `completed`, or `failed` with the reason when the
/// object breaks the profile's rules.
fn arrive(settings: &Settings, old: &UploadRecord, entry: &Accepted) -> UploadRecord {
    let (f, at) = (entry.callback.fields(), entry.callback.received_at());
    let content = entry.callback.content();
    let mut new = old.clone();
    new.size = f.size.or(old.size);
    new.etag = f.etag.clone();
    if let Some(m) = &f.mime_type {
        new.content_type = Some(m.clone());
    }
    new.crc64 = f.crc64.clone().or(old.crc64.clone());
    new.content_md5 = f.content_md5.clone().or(old.content_md5.clone());
    new.image_info = f.image_info.clone().or(old.image_info.clone());
    for (k, v) in &f.vars {
        if !crate::domain::RESERVED_VARS.contains(&k.as_str()) {
            new.vars.insert(k.clone(), v.clone());
        }
    }
    if let Some(c) = content {
        new.detected_type = c.detected.clone();
        new.image_info = new.image_info.or(c.image.clone());
    }
    new.completed_at = Some(at);
    // An expired record already carries its `upload.expired` event; a late arrival that
    // completes it is news of its own and gets its own event.
    new.event_id = None;
    match violation(settings, old, &new, content) {
        None => {
            new.status = UploadStatus::Completed;
            new.failure = None;
        }
        Some(reason) => {
            new.status = UploadStatus::Failed;
            new.failure = Some(reason);
        }
    }
    new
}

/// What the stored object does wrong under its profile, if anything. Signed requests bound
/// most of this already; STS uploads and V1 presigned PUTs (no signed length) rely on it.
fn violation(
    settings: &Settings,
    old: &UploadRecord,
    new: &UploadRecord,
    content: Option<&ContentFacts>,
) -> Option<String> {
    let profile = settings.profile(&new.profile)?;
    if let Some(size) = new.size {
        // The pre-upload hook may only have lowered the limit.
        let max = old
            .max_size
            .map_or(profile.max_size, |m| m.min(profile.max_size));
        if size > max {
            return Some(format!("size {size} exceeds the limit of {max} bytes"));
        }
        if size < profile.min_size {
            return Some(format!(
                "size {size} is below the minimum of {} bytes",
                profile.min_size
            ));
        }
        if let Some(declared) = old.declared_size.filter(|d| *d != size) {
            return Some(format!("size {size} differs from the declared {declared}"));
        }
    }
    if let Some(ct) = &new.content_type {
        let allowed = ContentType::parse(ct).is_ok_and(|c| profile.allows_content_type(&c));
        if !allowed {
            return Some(format!(
                "content type '{}' is not allowed (allowed: {})",
                ct.chars().take(100).collect::<String>(),
                profile.allowed_types_text()
            ));
        }
    }
    trust::content_violation(profile, new.content_type.as_deref(), content?)
}

/// The event a record's new version carries: one per record, for the first final status a
/// callback (or a check of storage) gave it.
fn unpublished_event(rec: &UploadRecord) -> Option<EventFields> {
    let publishable = matches!(rec.status, UploadStatus::Completed | UploadStatus::Failed);
    (publishable && rec.event_id.is_none()).then(|| event_fields(rec))
}

/// Appends the event of a final record that has none yet, in the guarded step that stores
/// its id, so racing runs append it once.
async fn publish(store: &Store, rec: UploadRecord) -> Result<UploadRecord, StoreError> {
    let outcome = store
        .update_record_with_event(
            &rec.id,
            |r| {
                let missing = r.event_id.is_none() && unpublished_event(r).is_some();
                (missing.then(|| r.clone()), ())
            },
            unpublished_event,
        )
        .await?;
    Ok(match outcome {
        TransitionOutcome::Applied(r, _) | TransitionOutcome::Unchanged(r, _) => r,
        TransitionOutcome::NotFound => rec,
    })
}
