//! Uploads whose callback never came (OSS gave the client a 203, or the provider has no
//! callbacks): the gateway asks storage itself. `confirm` does it for one upload on the
//! client's request; the background reconciler does it for unfinished uploads past their
//! expiry, one replica at a time. An object that is there completes the record through the
//! same path as a callback (rules, content check, event, idempotence); one that is not
//! expires it.

use super::Uploads;
use crate::callbacks::Accepted;
use crate::callbacks::binding::Binding;
use crate::callbacks::inspect;
use crate::callbacks::record::{self, Applied, ApplyError};
use crate::config::Profile;
use crate::domain::content_check::{self, ContentFacts};
use crate::domain::{UploadKind, UploadRecord, UploadStatus, UserId};
use crate::error::ApiError;
use crate::providers::{ObjectMeta, Provider, VerifiedCallback};
use crate::store::{DueKind, TransitionOutcome};

/// How many due uploads one reconciler round looks at.
const BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    AlreadyFinal,
    Missing,
    Expired,
    Rejected,
    /// An object is there, but not the one this upload's right wrote (its binding differs).
    Unbound,
    /// The object is there, but not the size or ETag an unsigned callback claimed.
    Disagrees,
}

/// What an unsigned callback says about the object; storage must show the same.
#[derive(Debug, Default, Clone)]
pub struct Claimed {
    pub size: Option<u64>,
    /// Without quotes; compared case-insensitively.
    pub etag: Option<String>,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::AlreadyFinal => "already_final",
            Outcome::Missing => "missing",
            Outcome::Expired => "expired",
            Outcome::Rejected => "rejected",
            Outcome::Unbound => "unbound",
            Outcome::Disagrees => "disagrees",
        }
    }
}

impl Uploads {
    /// The client's "my upload finished" when its callback failed (OSS answered 203): the
    /// gateway checks storage and completes the record if the object is there.
    pub async fn confirm(&self, user: &UserId, id: &str) -> Result<UploadRecord, ApiError> {
        let rec = self.load_own(user, id).await?;
        match self.check_storage(&rec, "confirm").await? {
            (Outcome::Missing, _) => Err(ApiError::ObjectMissing),
            (Outcome::Unbound, _) => Err(ApiError::ObjectBindingMismatch),
            (Outcome::Rejected, r) => Err(ApiError::UploadRejected(
                r.failure.unwrap_or_else(|| "rules broken".into()),
            )),
            (_, r) => Ok(r),
        }
    }

    /// Checks one upload in storage and completes its record if the object is there.
    pub(super) async fn check_storage(
        &self,
        rec: &UploadRecord,
        trigger: &str,
    ) -> Result<(Outcome, UploadRecord), ApiError> {
        let result = self.check_inner(rec, &Claimed::default()).await;
        self.count_check(trigger, &result);
        result
    }

    pub(super) fn count_check(
        &self,
        trigger: &str,
        result: &Result<(Outcome, UploadRecord), ApiError>,
    ) {
        let label = match result {
            Ok((o, _)) => o.label(),
            // A client's mistake (another kind of upload, say) is not a failure to alert on.
            Err(e) if actix_web::ResponseError::status_code(e).is_client_error() => "refused",
            Err(_) => "error",
        };
        self.metrics
            .reconciliations_total
            .with_label_values(&[trigger, label])
            .inc();
    }

    /// `claimed`: what an unsigned callback said of the object (nothing, for confirm and
    /// the reconciler); storage must agree before anything is recorded.
    pub(super) async fn check_inner(
        &self,
        rec: &UploadRecord,
        claimed: &Claimed,
    ) -> Result<(Outcome, UploadRecord), ApiError> {
        if rec.status.is_final() {
            return Ok((Outcome::AlreadyFinal, rec.clone()));
        }
        if rec.kind == UploadKind::Sts {
            return Err(ApiError::InvalidArgument(
                "an sts grant is confirmed one object at a time: send {\"key\": \"<object key>\"}"
                    .into(),
            ));
        }
        let (profile, provider) = self.profile_of(rec)?;
        let head = provider.head_object(&rec.key);
        let Some(meta) = self.upstream(provider.as_ref(), "HeadObject", head).await? else {
            return Ok((Outcome::Missing, rec.clone()));
        };
        let etag_differs = match (&claimed.etag, &meta.etag) {
            (Some(c), Some(m)) => !c.eq_ignore_ascii_case(m),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if etag_differs || claimed.size.is_some_and(|s| s != meta.size) {
            return Ok((Outcome::Disagrees, rec.clone()));
        }
        let binding = Binding::Upload {
            upload_id: rec.id.clone(),
            user: rec.user.clone(),
            declared_size: rec.declared_size,
        };
        self.complete_checked(rec, &profile, provider.as_ref(), &rec.key, meta, binding)
            .await
    }

    /// Completes `rec` with what storage's HeadObject said of the object at `key`, if the
    /// object carries the upload's binding: the rules, the content check, the record and
    /// its event, exactly once, through the same path as a storage callback.
    pub(super) async fn complete_checked(
        &self,
        rec: &UploadRecord,
        profile: &Profile,
        provider: &dyn Provider,
        key: &str,
        meta: ObjectMeta,
        binding: Binding,
    ) -> Result<(Outcome, UploadRecord), ApiError> {
        if !self.binding_holds(provider, rec, &meta) {
            return Ok((Outcome::Unbound, rec.clone()));
        }
        let mut callback = VerifiedCallback::from_storage_check(
            provider.kind(),
            self.now(),
            &rec.bucket,
            key,
            meta,
        );
        if profile.content_check {
            let Some(facts) = self.read_content(provider, key).await? else {
                return Ok((Outcome::Missing, rec.clone()));
            };
            callback = callback.with_content(facts);
        }
        let entry = Accepted { callback, binding };
        match record::apply(&self.store, &self.settings, &entry).await {
            Ok(Applied::New(r)) => Ok((Outcome::Completed, r)),
            Ok(Applied::Duplicate(r)) => Ok((Outcome::AlreadyFinal, r)),
            Err(ApplyError::Rejected(r, _)) => {
                inspect::discard(&self.providers, &self.settings, &r).await;
                Ok((Outcome::Rejected, *r))
            }
            Err(ApplyError::Conflict(r)) => Ok((Outcome::AlreadyFinal, *r)),
            Err(ApplyError::UnknownUpload) => Err(ApiError::NotFound("upload not found".into())),
            Err(ApplyError::Mismatch(m)) => Err(ApiError::internal(format!("reconcile: {m}"))),
            Err(ApplyError::Store(e)) => Err(e.into()),
        }
    }

    /// What the object's first bytes are (content checks); `None` when it is not there.
    async fn read_content(
        &self,
        provider: &dyn Provider,
        key: &str,
    ) -> Result<Option<ContentFacts>, ApiError> {
        let objects = provider
            .objects()
            .ok_or_else(|| ApiError::internal("content checks need object reads"))?;
        let read = objects.read_head(key, content_check::SNIFF_BYTES);
        let head = self.upstream(provider, "GetObject", read).await?;
        Ok(head.map(|h| content_check::sniff(&h)))
    }

    /// One reconciler round, if this replica holds the lock: uploads past their deadline are
    /// completed from storage or marked `expired`. Returns how many uploads were looked at.
    pub async fn reconcile_once(&self) -> Result<usize, ApiError> {
        let interval = self.settings.callbacks.reconcile_interval;
        let round = self.store.with_lock("reconcile", interval, self.round());
        round.await?.unwrap_or(Ok(0))
    }

    async fn round(&self) -> Result<usize, ApiError> {
        let now = self.now();
        let due = self
            .store
            .due_uploads_of(now, BATCH, DueKind::NotMultipart)
            .await?;
        for id in &due {
            let Some(rec) = self.store.get_record(id).await? else {
                self.store.drop_deadline(id).await?;
                continue;
            };
            // Multipart uploads belong to their own sweeper, which aborts them upstream.
            if rec.kind == UploadKind::Multipart {
                continue;
            }
            let outcome = if rec.kind == UploadKind::Sts {
                Ok((Outcome::Missing, rec.clone()))
            } else {
                self.check_storage(&rec, "reconciler").await
            };
            match outcome {
                Ok((Outcome::Missing | Outcome::Unbound, _)) => self.expire(&rec).await?,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(upload_id = %rec.id, error = %e, "reconcile failed; will retry")
                }
            }
        }
        Ok(due.len())
    }

    async fn expire(&self, rec: &UploadRecord) -> Result<(), ApiError> {
        let outcome = self
            .store
            .finish_record(&rec.id, UploadStatus::Expired)
            .await?;
        if let TransitionOutcome::Applied(..) = outcome {
            self.metrics
                .reconciliations_total
                .with_label_values(&["reconciler", Outcome::Expired.label()])
                .inc();
        }
        Ok(())
    }
}
