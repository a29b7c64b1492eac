//! The multipart relay: the gateway makes the control calls to storage with its own keys;
//! the client only PUTs part bytes to presigned part URLs. The gateway's upload id maps to
//! (user, profile, bucket, key, storage upload id) in the upload record, and every operation
//! starts from a record the caller owns: a client never names a key or a storage upload id.
//!
//! Shared by the native routes (`/v1/multipart`) and the Uppy-compatible ones (`/s3`).

pub mod plan;
pub mod sweeper;

use crate::auth::AuthUser;
use crate::callbacks::reconcile::{self, Outcome};
use crate::domain::{UploadKind, UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::providers::{
    MultipartApi, ObjectOp, PartInfo, Provider, SignedUrl, UpstreamError, UrlRequest,
};
use crate::rights::{self, ObjectRequest};
use crate::state::AppState;
use crate::store::{ListQuery, TransitionOutcome};
use plan::{Limits, MAX_PARTS, PartPlan};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// What a client asks for when it starts a multipart upload.
pub struct StartAsk<'a> {
    pub profile: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    /// Declared size; Uppy does not send one, and then no part plan is made.
    pub size: Option<u64>,
    pub part_size: Option<u64>,
    pub vars: Option<BTreeMap<String, String>>,
}

fn api<'p>(provider: &'p dyn Provider, profile: &str) -> Result<&'p dyn MultipartApi, ApiError> {
    provider
        .multipart()
        .ok_or_else(|| ApiError::KindNotAllowed {
            profile: profile.to_string(),
            kind: "multipart",
        })
}

/// Runs one storage call, timed and counted by provider and operation.
pub async fn upstream<T>(
    state: &AppState,
    provider: &dyn Provider,
    operation: &'static str,
    call: impl Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    let started = Instant::now();
    let result = call.await;
    let m = &state.metrics;
    m.upstream_request_duration_seconds
        .with_label_values(&[provider.kind(), operation])
        .observe(started.elapsed().as_secs_f64());
    if let Err(e) = &result {
        m.upstream_errors_total
            .with_label_values(&[provider.kind(), operation, e.class()])
            .inc();
    }
    result
}

/// As [`upstream`], once more after a timeout or a storage-side failure: only for calls that
/// are safe to repeat (ListParts, AbortMultipartUpload, ListMultipartUploads).
pub async fn upstream_idempotent<T, F, Fut>(
    state: &AppState,
    provider: &dyn Provider,
    operation: &'static str,
    mut call: F,
) -> Result<T, UpstreamError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    match upstream(state, provider, operation, call()).await {
        Err(e) if matches!(e.class(), "timeout" | "server" | "connect") => {
            tokio::time::sleep(Duration::from_millis(200)).await;
            upstream(state, provider, operation, call()).await
        }
        other => other,
    }
}

fn count<T>(state: &AppState, operation: &str, r: &Result<T, ApiError>) {
    let outcome = match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    state
        .metrics
        .multipart_total
        .with_label_values(&[operation, outcome])
        .inc();
}

/// Starts a multipart upload: profile rules, key from the template, InitiateMultipartUpload
/// upstream, then the record (status `uploading`, indexed by deadline for the sweeper).
pub async fn start(
    state: &AppState,
    who: &AuthUser,
    ask: StartAsk<'_>,
) -> Result<UploadRecord, ApiError> {
    let r = start_inner(state, who, ask).await;
    count(state, "initiate", &r);
    r
}

async fn start_inner(
    state: &AppState,
    who: &AuthUser,
    ask: StartAsk<'_>,
) -> Result<UploadRecord, ApiError> {
    // The callback is checked for size now and sent with CompleteMultipartUpload, rebuilt
    // from the record then.
    let (mut plan, ct) = rights::checked_plan(
        state,
        who,
        ObjectRequest {
            profile: ask.profile,
            kind: UploadKind::Multipart,
            filename: ask.filename,
            content_type: ask.content_type,
            size: ask.size,
            vars: ask.vars,
        },
    )
    .await?;
    let profile = plan.profile.clone();
    let mp = api(plan.provider.as_ref(), &profile.name)?;
    let parts = match ask.size {
        Some(size) => Some(
            plan::plan(size, ask.part_size, &limits(state, mp))
                .map_err(ApiError::InvalidArgument)?,
        ),
        None if ask.part_size.is_some() => {
            return Err(ApiError::InvalidArgument(
                "part_size needs size: the plan is made for a known file size".into(),
            ));
        }
        None => None,
    };
    let storage_id = upstream(
        state,
        plan.provider.as_ref(),
        "InitiateMultipartUpload",
        mp.initiate(plan.key.as_str(), ct.as_str()),
    )
    .await?;
    let rec = &mut plan.record;
    rec.status = UploadStatus::Uploading;
    rec.storage_upload_id = Some(storage_id.clone());
    rec.part_size = parts.map(|p| p.part_size);
    rec.part_count = parts.map(|p| p.part_count);
    rec.expires_at = plan.now + Duration::from_secs(state.settings.multipart.upload_expires_secs);
    if let Err(e) = state.store.create_record(rec).await {
        // Nothing refers to the upstream upload now: take it back (the sweeper's orphan scan
        // catches it if this fails too).
        let _ = mp.abort(plan.key.as_str(), &storage_id).await;
        return Err(e.into());
    }
    rights::record_issue(
        state,
        plan.provider.as_ref(),
        UploadKind::Multipart,
        &profile,
    );
    Ok(plan.record)
}

fn limits(state: &AppState, mp: &dyn MultipartApi) -> Limits {
    Limits {
        min_part: mp.min_part_size(),
        max_part: mp.max_part_size(),
        default_part: state.settings.multipart.default_part_size,
    }
}

/// The caller's multipart upload; anything else (malformed id, someone else's upload, another
/// kind) is the same 404.
pub async fn load(state: &AppState, who: &AuthUser, id: &str) -> Result<UploadRecord, ApiError> {
    let rec = crate::routes::uploads::load_own(state, who, id).await?;
    if rec.kind != UploadKind::Multipart || rec.storage_upload_id.is_none() {
        return Err(ApiError::NotFound("upload not found".into()));
    }
    Ok(rec)
}

fn storage_id(rec: &UploadRecord) -> &str {
    rec.storage_upload_id.as_deref().unwrap_or_default()
}

fn require_uploading(rec: &UploadRecord) -> Result<(), ApiError> {
    match rec.status {
        UploadStatus::Uploading | UploadStatus::Issued => Ok(()),
        s => Err(ApiError::Conflict(format!(
            "the upload is {s}; start a new one"
        ))),
    }
}

fn provider_of(
    state: &AppState,
    rec: &UploadRecord,
) -> Result<(Arc<crate::config::Profile>, Arc<dyn Provider>), ApiError> {
    let profile = state.profile(&rec.profile)?.clone();
    let provider = rights::provider_for(state, &profile)?;
    Ok((profile, provider))
}

/// One presigned UploadPart URL.
pub struct SignedPart {
    pub part_number: u32,
    pub signed: SignedUrl,
}

/// Presigned UploadPart URLs, signed now with a short expiry. With `pin_sizes`, and where the
/// signature can carry it (V4), each URL only takes the planned size of its part.
pub async fn sign_parts(
    state: &AppState,
    rec: &UploadRecord,
    numbers: &[u32],
    pin_sizes: bool,
) -> Result<Vec<SignedPart>, ApiError> {
    let r = sign_parts_inner(state, rec, numbers, pin_sizes);
    count(state, "sign_parts", &r);
    r
}

fn sign_parts_inner(
    state: &AppState,
    rec: &UploadRecord,
    numbers: &[u32],
    pin_sizes: bool,
) -> Result<Vec<SignedPart>, ApiError> {
    require_uploading(rec)?;
    let max = state.settings.multipart.max_parts_per_request;
    if numbers.is_empty() || numbers.len() > max {
        return Err(ApiError::InvalidArgument(format!(
            "part_numbers: between 1 and {max} part numbers per request"
        )));
    }
    let highest = rec.part_count.unwrap_or(MAX_PARTS);
    let mut seen = std::collections::BTreeSet::new();
    for &n in numbers {
        if n == 0 || n > highest {
            return Err(ApiError::InvalidArgument(format!(
                "part number {n} is outside 1..={highest}"
            )));
        }
        if !seen.insert(n) {
            return Err(ApiError::InvalidArgument(format!(
                "part number {n} is listed twice"
            )));
        }
    }
    let now = OffsetDateTime::now_utc();
    let left = (rec.expires_at - now).whole_seconds();
    if left <= 0 {
        return Err(ApiError::Conflict(
            "the upload has expired; start a new one".into(),
        ));
    }
    let expires_in = state
        .settings
        .multipart
        .part_url_expires_secs
        .min(left as u64);
    let (_, provider) = provider_of(state, rec)?;
    let plan = rec.part_size.zip(rec.part_count).map(|(s, c)| PartPlan {
        part_size: s,
        part_count: c,
    });
    Ok(numbers
        .iter()
        .map(|&n| SignedPart {
            part_number: n,
            signed: provider.presign(
                &UrlRequest {
                    op: ObjectOp::UploadPart {
                        upload_id: storage_id(rec).to_string(),
                        part_number: n,
                    },
                    key: &rec.key,
                    content_type: None,
                    content_md5: None,
                    content_length: match (pin_sizes, plan, rec.declared_size) {
                        (true, Some(p), Some(size)) => Some(plan::part_len(&p, size, n)),
                        _ => None,
                    },
                    callback: None,
                    now,
                    expires_in,
                },
                None,
            ),
        })
        .collect())
}

/// Every part storage holds for the upload (ListParts, followed to the end).
pub async fn list_parts(state: &AppState, rec: &UploadRecord) -> Result<Vec<PartInfo>, ApiError> {
    let r = async {
        require_uploading(rec)?;
        let (profile, provider) = provider_of(state, rec)?;
        let mp = api(provider.as_ref(), &profile.name)?;
        Ok(
            upstream_idempotent(state, provider.as_ref(), "ListParts", || {
                mp.list_parts(&rec.key, storage_id(rec))
            })
            .await?,
        )
    }
    .await;
    count(state, "list_parts", &r);
    r
}

/// Checks a client's part list before anything is sent upstream.
pub fn check_parts(rec: &UploadRecord, parts: &[(u32, String)]) -> Result<(), ApiError> {
    if parts.len() > MAX_PARTS as usize {
        return Err(ApiError::InvalidArgument(format!(
            "parts: at most {MAX_PARTS}"
        )));
    }
    let highest = rec.part_count.unwrap_or(MAX_PARTS);
    let mut previous = 0;
    for (n, etag) in parts {
        if *n == 0 || *n > highest {
            return Err(ApiError::InvalidArgument(format!(
                "part number {n} is outside 1..={highest}"
            )));
        }
        if *n <= previous {
            return Err(ApiError::InvalidArgument(format!(
                "parts must be in ascending order of part number without repeats (part {n} follows part {previous})"
            )));
        }
        previous = *n;
        let e = etag.trim().trim_matches('"');
        if e.is_empty() || e.len() > 128 || !e.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::InvalidArgument(format!(
                "part {n}: etag must be the ETag its upload returned"
            )));
        }
    }
    Ok(())
}

/// The record after completion, and the callback server's answer storage relayed (if any).
pub struct Finished {
    pub record: UploadRecord,
    pub callback_answer: Option<serde_json::Value>,
}

/// CompleteMultipartUpload with the callback attached, so completion arrives through the same
/// verified callback path as a single upload. Without `parts`, the gateway lists them.
pub async fn complete(
    state: &AppState,
    rec: &UploadRecord,
    parts: Option<Vec<(u32, String)>>,
) -> Result<Finished, ApiError> {
    let r = complete_inner(state, rec, parts).await;
    count(state, "complete", &r);
    r
}

async fn complete_inner(
    state: &AppState,
    rec: &UploadRecord,
    parts: Option<Vec<(u32, String)>>,
) -> Result<Finished, ApiError> {
    if rec.status == UploadStatus::Completed {
        return Ok(Finished {
            record: rec.clone(),
            callback_answer: None,
        });
    }
    require_uploading(rec)?;
    let (profile, provider) = provider_of(state, rec)?;
    let mp = api(provider.as_ref(), &profile.name)?;
    let parts = match parts.filter(|p| !p.is_empty()) {
        Some(p) => {
            check_parts(rec, &p)?;
            p
        }
        None => {
            let listed = upstream_idempotent(state, provider.as_ref(), "ListParts", || {
                mp.list_parts(&rec.key, storage_id(rec))
            })
            .await?;
            if listed.is_empty() {
                return Err(ApiError::InvalidArgument(
                    "no part has been uploaded yet".into(),
                ));
            }
            listed
                .into_iter()
                .map(|p| (p.part_number, p.etag))
                .collect()
        }
    };
    let callback = profile.callback.then(|| {
        rights::object_callback(
            state,
            &profile,
            &rec.user,
            rec.id.as_str(),
            &rec.key,
            &rec.vars,
        )
    });
    let done = upstream(
        state,
        provider.as_ref(),
        "CompleteMultipartUpload",
        mp.complete(&rec.key, storage_id(rec), &parts, callback.as_ref()),
    )
    .await;
    let answer = match done {
        Ok(answer) => answer,
        // A repeated complete (the first answer was lost): storage no longer knows the upload,
        // but the object may be there. Storage decides below.
        Err(UpstreamError::Refused { ref code, .. }) if code == "NoSuchUpload" => None,
        Err(e) => return Err(e.into()),
    };
    // The callback normally completed the record already; when it failed (203), went to the
    // journal, or the profile has none, storage is asked directly.
    let current = state
        .store
        .get_record(&rec.id)
        .await?
        .ok_or_else(|| ApiError::NotFound("upload not found".into()))?;
    if current.status == UploadStatus::Completed {
        return Ok(Finished {
            record: current,
            callback_answer: answer,
        });
    }
    match reconcile::check(state, &current, "complete").await? {
        (Outcome::Missing, _) => Err(ApiError::StorageUploadGone),
        (Outcome::Rejected, r) => Err(ApiError::UploadRejected(
            r.failure.unwrap_or_else(|| "rules broken".into()),
        )),
        (_, record) => Ok(Finished {
            record,
            callback_answer: answer,
        }),
    }
}

/// AbortMultipartUpload and record `aborted`. Aborting an aborted upload is a no-op.
pub async fn abort(state: &AppState, rec: &UploadRecord) -> Result<UploadRecord, ApiError> {
    let r = abort_inner(state, rec).await;
    count(state, "abort", &r);
    r
}

async fn abort_inner(state: &AppState, rec: &UploadRecord) -> Result<UploadRecord, ApiError> {
    if rec.status == UploadStatus::Aborted {
        return Ok(rec.clone());
    }
    require_uploading(rec)?;
    let (profile, provider) = provider_of(state, rec)?;
    let mp = api(provider.as_ref(), &profile.name)?;
    abort_upstream(state, provider.as_ref(), mp, &rec.key, storage_id(rec)).await?;
    match state
        .store
        .finish_record(&rec.id, UploadStatus::Aborted)
        .await?
    {
        TransitionOutcome::Applied(r, _) => Ok(r),
        TransitionOutcome::Unchanged(r, _) if r.status == UploadStatus::Aborted => Ok(r),
        TransitionOutcome::Unchanged(r, _) => {
            Err(ApiError::Conflict(format!("the upload is {}", r.status)))
        }
        TransitionOutcome::NotFound => Err(ApiError::NotFound("upload not found".into())),
    }
}

/// Aborts upstream; an upload storage no longer has counts as aborted.
pub async fn abort_upstream(
    state: &AppState,
    provider: &dyn Provider,
    mp: &dyn MultipartApi,
    key: &str,
    storage_id: &str,
) -> Result<(), UpstreamError> {
    match upstream_idempotent(state, provider, "AbortMultipartUpload", || {
        mp.abort(key, storage_id)
    })
    .await
    {
        Err(UpstreamError::Refused { code, .. }) if code == "NoSuchUpload" => Ok(()),
        other => other,
    }
}

/// The caller's multipart uploads still in progress, newest first.
pub async fn in_progress(state: &AppState, who: &AuthUser) -> Result<Vec<UploadRecord>, ApiError> {
    let page = state
        .store
        .list_records(
            &who.user,
            &ListQuery {
                status: Some(UploadStatus::Uploading),
                limit: 100,
                cursor: None,
            },
        )
        .await?;
    Ok(page
        .items
        .into_iter()
        .filter(|r| r.kind == UploadKind::Multipart)
        .collect())
}
