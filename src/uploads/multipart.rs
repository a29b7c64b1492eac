//! The multipart relay: the gateway makes the control calls to storage with its own keys;
//! the client only PUTs part bytes to presigned part URLs. The gateway's upload id maps to
//! (user, profile, bucket, key, storage upload id) in the upload record, and every operation
//! starts from a record the caller owns: a client never names a key or a storage upload id.
//!
//! Shared by the native routes (`/v1/multipart`), the Uppy-compatible ones (`/s3`) and
//! `POST /v1/uploads`.

use super::confirm::Outcome;
use super::{PutObject, Uploads};
use crate::domain::part_plan::{self, Limits, MAX_PARTS, PartPlan};
use crate::domain::{ClientVars, UploadKind, UploadRecord, UploadStatus, UserId};
use crate::error::ApiError;
use crate::providers::UpstreamError;
use crate::providers::{MultipartApi, ObjectOp, PartInfo, Provider, SignedUrl, UrlRequest};
use crate::store::{ListQuery, TransitionOutcome};
use std::collections::BTreeSet;
use std::time::Duration;

pub(super) fn api<'p>(
    provider: &'p dyn Provider,
    profile: &str,
) -> Result<&'p dyn MultipartApi, ApiError> {
    provider
        .multipart()
        .ok_or_else(|| ApiError::KindNotAllowed {
            profile: profile.to_string(),
            kind: "multipart",
        })
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

/// One presigned UploadPart URL.
pub struct SignedPart {
    pub part_number: u32,
    pub signed: SignedUrl,
}

/// The record after completion, and the callback server's answer storage relayed (if any).
pub struct Finished {
    pub record: UploadRecord,
    pub callback_answer: Option<serde_json::Value>,
}

impl Uploads {
    fn count_multipart<T>(&self, operation: &str, r: &Result<T, ApiError>) {
        let outcome = match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        self.metrics
            .multipart_total
            .with_label_values(&[operation, outcome])
            .inc();
    }

    /// Starts a multipart upload: profile rules, key from the template,
    /// InitiateMultipartUpload upstream, then the record (status `uploading`, indexed by
    /// deadline for the sweeper). Without a declared size (Uppy) no part plan is made.
    pub async fn start_multipart(
        &self,
        user: &UserId,
        ask: &PutObject,
        part_size: Option<u64>,
    ) -> Result<UploadRecord, ApiError> {
        let r = self.start_inner(user, ask, part_size).await;
        self.count_multipart("initiate", &r);
        r
    }

    async fn start_inner(
        &self,
        user: &UserId,
        ask: &PutObject,
        part_size: Option<u64>,
    ) -> Result<UploadRecord, ApiError> {
        // The callback is checked for size now and sent with CompleteMultipartUpload, rebuilt
        // from the record then.
        let mut plan = self.plan(user, UploadKind::Multipart, ask).await?;
        let profile = plan.profile.clone();
        let mp = api(plan.provider.as_ref(), &profile.name)?;
        let parts = match ask.size {
            // The client's preference, else the profile's (`part_size_bytes`).
            Some(size) => Some(
                part_plan::plan(size, part_size.or(profile.part_size), &self.part_limits(mp))
                    .map_err(ApiError::InvalidArgument)?,
            ),
            None if part_size.is_some() => {
                return Err(ApiError::InvalidArgument(
                    "part_size needs size: the plan is made for a known file size".into(),
                ));
            }
            None => None,
        };
        let binding = self.object_binding(plan.provider.as_ref(), &plan.record);
        let storage_id = self
            .upstream(
                plan.provider.as_ref(),
                "InitiateMultipartUpload",
                mp.initiate(
                    plan.key.as_str(),
                    plan.content_type.as_str(),
                    binding.as_deref(),
                ),
            )
            .await?;
        let rec = &mut plan.record;
        rec.status = UploadStatus::Uploading;
        rec.storage_upload_id = Some(storage_id.clone());
        rec.part_size = parts.map(|p| p.part_size);
        rec.part_count = parts.map(|p| p.part_count);
        rec.expires_at =
            plan.now + Duration::from_secs(self.settings.multipart.upload_expires_secs);
        if let Err(e) = self.record_issued(rec, &profile, &plan.admission).await {
            // Nothing refers to the upstream upload now: take it back (the sweeper's orphan
            // scan catches it if this fails too).
            let _ = crate::upstream_wait::timed(mp.abort(plan.key.as_str(), &storage_id)).await;
            return Err(e);
        }
        self.count_issued(plan.provider.as_ref(), UploadKind::Multipart, &profile);
        Ok(plan.record)
    }

    fn part_limits(&self, mp: &dyn MultipartApi) -> Limits {
        let l = mp.limits();
        Limits {
            min_part: l.min_part,
            max_part: l.max_part,
            default_part: self.settings.multipart.default_part_size,
        }
    }

    /// The caller's multipart upload; anything else (malformed id, someone else's upload,
    /// another kind) is the same 404.
    pub async fn load_multipart(&self, user: &UserId, id: &str) -> Result<UploadRecord, ApiError> {
        let rec = self.load_own(user, id).await?;
        if rec.kind != UploadKind::Multipart || rec.storage_upload_id.is_none() {
            return Err(ApiError::NotFound("upload not found".into()));
        }
        Ok(rec)
    }

    /// Presigned UploadPart URLs, signed now with a short expiry. With `pin_sizes`, and where
    /// the signature can carry it, each URL only takes the planned size of its part.
    pub fn sign_parts(
        &self,
        rec: &UploadRecord,
        numbers: &[u32],
        pin_sizes: bool,
    ) -> Result<Vec<SignedPart>, ApiError> {
        let r = self.sign_parts_inner(rec, numbers, pin_sizes);
        self.count_multipart("sign_parts", &r);
        r
    }

    fn sign_parts_inner(
        &self,
        rec: &UploadRecord,
        numbers: &[u32],
        pin_sizes: bool,
    ) -> Result<Vec<SignedPart>, ApiError> {
        require_uploading(rec)?;
        let max = self.settings.multipart.max_parts_per_request;
        if numbers.is_empty() || numbers.len() > max {
            return Err(ApiError::InvalidArgument(format!(
                "part_numbers: between 1 and {max} part numbers per request"
            )));
        }
        let highest = rec.part_count.unwrap_or(MAX_PARTS);
        let mut seen = BTreeSet::new();
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
        let now = self.now();
        let left = (rec.expires_at - now).whole_seconds();
        if left <= 0 {
            return Err(ApiError::Conflict(
                "the upload has expired; start a new one".into(),
            ));
        }
        let expires_in = self
            .settings
            .multipart
            .part_url_expires_secs
            .min(left as u64);
        let (_, provider) = self.profile_of(rec)?;
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
                            (true, Some(p), Some(size)) => Some(part_plan::part_len(&p, size, n)),
                            _ => None,
                        },
                        callback: None,
                        binding: None,
                        now,
                        expires_in,
                    },
                    None,
                ),
            })
            .collect())
    }

    /// Every part storage holds for the upload (ListParts, followed to the end).
    pub async fn list_parts(&self, rec: &UploadRecord) -> Result<Vec<PartInfo>, ApiError> {
        let r = async {
            require_uploading(rec)?;
            let (profile, provider) = self.profile_of(rec)?;
            let mp = api(provider.as_ref(), &profile.name)?;
            Ok(self
                .upstream_idempotent(provider.as_ref(), "ListParts", || {
                    mp.list_parts(&rec.key, storage_id(rec))
                })
                .await?)
        }
        .await;
        self.count_multipart("list_parts", &r);
        r
    }

    /// CompleteMultipartUpload with the callback attached, so completion arrives through the
    /// same verified callback path as a single upload. Without `parts`, the gateway lists
    /// them.
    pub async fn complete_multipart(
        &self,
        rec: &UploadRecord,
        parts: Option<Vec<(u32, String)>>,
    ) -> Result<Finished, ApiError> {
        let r = self.complete_inner(rec, parts).await;
        self.count_multipart("complete", &r);
        r
    }

    async fn complete_inner(
        &self,
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
        let (profile, provider) = self.profile_of(rec)?;
        let mp = api(provider.as_ref(), &profile.name)?;
        let parts = match parts.filter(|p| !p.is_empty()) {
            Some(p) => {
                check_parts(rec, &p)?;
                p
            }
            None => {
                let listed = self
                    .upstream_idempotent(provider.as_ref(), "ListParts", || {
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
            self.object_callback(
                &profile,
                &rec.user,
                &rec.id,
                &rec.key,
                rec.declared_size,
                &ClientVars::from_record(&rec.vars),
            )
        });
        let done = self
            .upstream(
                provider.as_ref(),
                "CompleteMultipartUpload",
                mp.complete(&rec.key, storage_id(rec), &parts, callback.as_ref()),
            )
            .await;
        let answer = match done {
            Ok(done) => done.relayed_answer,
            // A repeated complete (the first answer was lost): storage no longer knows the
            // upload, but the object may be there. Storage decides below.
            Err(UpstreamError::UploadGone) => None,
            Err(e) => return Err(e.into()),
        };
        // The callback normally completed the record already; when it failed (203), went to
        // the journal, or the profile has none, storage is asked directly.
        let current = self
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
        match self.check_storage(&current, "complete").await? {
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
    pub async fn abort_multipart(&self, rec: &UploadRecord) -> Result<UploadRecord, ApiError> {
        let r = self.abort_inner(rec).await;
        self.count_multipart("abort", &r);
        r
    }

    async fn abort_inner(&self, rec: &UploadRecord) -> Result<UploadRecord, ApiError> {
        if rec.status == UploadStatus::Aborted {
            return Ok(rec.clone());
        }
        require_uploading(rec)?;
        let (profile, provider) = self.profile_of(rec)?;
        let mp = api(provider.as_ref(), &profile.name)?;
        self.abort_upstream(provider.as_ref(), mp, &rec.key, storage_id(rec))
            .await?;
        match self
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
    pub(super) async fn abort_upstream(
        &self,
        provider: &dyn Provider,
        mp: &dyn MultipartApi,
        key: &str,
        storage_id: &str,
    ) -> Result<(), UpstreamError> {
        match self
            .upstream_idempotent(provider, "AbortMultipartUpload", || {
                mp.abort(key, storage_id)
            })
            .await
        {
            Err(UpstreamError::UploadGone) => Ok(()),
            other => other,
        }
    }

    /// The caller's multipart uploads still in progress, newest first.
    pub async fn multipart_in_progress(
        &self,
        user: &UserId,
    ) -> Result<Vec<UploadRecord>, ApiError> {
        let page = self
            .store
            .list_records(
                user,
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
