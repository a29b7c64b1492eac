//! One callback from arrival to answer: the provider's verifier (signature, body), the
//! binding, then the record in Redis within the callback budget, or the journal when Redis
//! cannot take it in time. The answer is 200 only once the arrival is durable in one of the
//! two.

use super::Accepted;
use super::binding::{self, BindingError};
use super::inspect;
use super::journal::{self, Journal};
use super::record::{self, Applied, ApplyError};
use super::trust;
use crate::config::Settings;
use crate::domain::{UploadId, UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::providers::{CallbackVerifier, Providers, RawCallback, VerifiedCallback};
use crate::store::Store;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use time::OffsetDateTime;

pub struct Receiver {
    verifiers: BTreeMap<&'static str, Arc<dyn CallbackVerifier>>,
    journal: Arc<Journal>,
    /// For the HeadObject that replaces the facts of callbacks the client may have written.
    providers: Providers,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
    /// The store with the callback's tighter per-operation timeout.
    store: Store,
}

/// How one callback ended, as counted in `upload_gateway_callbacks_total{result}`.
fn result_of(e: &ApiError) -> &'static str {
    match e {
        ApiError::CallbackKeyUrlRejected => "key_url_rejected",
        ApiError::CallbackKeyUnavailable(_) => "key_fetch_failed",
        ApiError::CallbackBadSignature => "bad_signature",
        ApiError::CallbackBindingMismatch(_) => "binding_mismatch",
        ApiError::NotFound(_) => "unknown_upload",
        ApiError::CallbackConflict => "conflict",
        ApiError::UploadRejected(_) => "rejected",
        ApiError::CallbackNotRecorded => "not_recorded",
        ApiError::ObjectMissing => "object_missing",
        ApiError::UpstreamTimeout(_) | ApiError::UpstreamFailed { .. } => "storage_check_failed",
        _ => "malformed",
    }
}

impl Receiver {
    pub fn new(
        settings: Arc<Settings>,
        verifiers: BTreeMap<&'static str, Arc<dyn CallbackVerifier>>,
        providers: Providers,
        store: &Store,
        metrics: Arc<Metrics>,
    ) -> Result<Receiver, String> {
        let c = &settings.callbacks;
        let journal = Journal::open(&c.journal_dir, metrics.journal_depth.clone())
            .map_err(|e| format!("callbacks.journal_dir ({}): {e}", c.journal_dir.display()))?;
        Ok(Receiver {
            verifiers,
            journal: Arc::new(journal),
            providers,
            store: store.with_timeout(c.redis_timeout),
            settings,
            metrics,
        })
    }

    /// The provider's name as mounted, when it has a callback verifier.
    pub fn provider(&self, name: &str) -> Option<&'static str> {
        self.verifiers.get_key_value(name).map(|(k, _)| *k)
    }

    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }

    /// Counts and times one callback; the answer is what OSS relays to the client.
    pub async fn receive(&self, provider: &str, raw: RawCallback<'_>) -> Result<Value, ApiError> {
        let started = Instant::now();
        let outcome = self.handle(provider, raw).await;
        let result = match &outcome {
            Ok((_, r)) => *r,
            Err(e) => result_of(e),
        };
        self.count(provider, result);
        self.metrics
            .callback_duration_seconds
            .with_label_values(&[provider])
            .observe(started.elapsed().as_secs_f64());
        outcome.map(|(v, _)| v)
    }

    /// Counts a callback refused before it reached [`Receiver::receive`] (e.g. too large).
    pub fn count(&self, provider: &str, result: &str) {
        self.metrics
            .callbacks_total
            .with_label_values(&[provider, result])
            .inc();
    }

    async fn handle(
        &self,
        provider: &str,
        raw: RawCallback<'_>,
    ) -> Result<(Value, &'static str), ApiError> {
        let verifier = self
            .verifiers
            .get(provider)
            .ok_or_else(|| ApiError::NotFound(format!("no callbacks for provider '{provider}'")))?;
        let callback = verifier.verify(&raw, OffsetDateTime::now_utc()).await?;
        let binding = binding::bind(&self.settings, callback.fields()).map_err(|e| match e {
            BindingError::Missing => ApiError::CallbackMalformed(e.to_string()),
            BindingError::Mismatch(_) => ApiError::CallbackBindingMismatch(e.to_string()),
        })?;
        let callback = self.corroborate(callback, &binding).await?;
        let callback = inspect::inspect(&self.providers, &self.settings, callback).await?;
        let entry = Accepted { callback, binding };

        let budget = self.settings.callbacks.redis_timeout;
        let recorded =
            tokio::time::timeout(budget, record::apply(&self.store, &self.settings, &entry)).await;
        let cause = match recorded {
            Ok(Ok(Applied::New(rec))) => return Ok((self.answer(&rec), "accepted")),
            Ok(Ok(Applied::Duplicate(rec))) => return Ok((self.answer(&rec), "duplicate")),
            Ok(Err(ApplyError::Store(e))) => e.to_string(),
            Ok(Err(e)) => {
                if let ApplyError::Rejected(rec, _) = &e {
                    inspect::discard(&self.providers, &self.settings, rec).await;
                }
                return Err(self.refusal(provider, e));
            }
            Err(_) => format!("redis did not finish within {budget:?}"),
        };
        // What Redis would have refused is refused now, and not journaled: the answer is the
        // one Redis up gives, and the reconciler settles the record from storage (as
        // `failed`, for the same rule) once it expires.
        if let Some(reason) = trust::profile_violation(
            &self.settings,
            &entry.binding,
            entry.callback.fields(),
            entry.callback.content(),
        ) {
            tracing::warn!(
                upload_id = %entry.binding.upload_id(),
                cause = %cause,
                "Redis cannot take the callback, which breaks the profile; refused unjournaled"
            );
            return Err(ApiError::UploadRejected(reason));
        }
        tracing::warn!(
            upload_id = %entry.binding.upload_id(),
            cause = %cause,
            "recording the callback in Redis failed; journaling it"
        );
        match self.journal.append(entry.clone()).await {
            Ok(()) => Ok((self.answer_unrecorded(&entry), "journaled")),
            Err(e) => {
                tracing::error!(
                    upload_id = %entry.binding.upload_id(),
                    error = %e,
                    "cannot journal a verified callback; the client will see the callback fail"
                );
                Err(ApiError::CallbackNotRecorded)
            }
        }
    }

    /// A callback whose template the client could have written (STS) proves only that the
    /// object exists: its size, type and ETag are taken from the gateway's own HeadObject.
    async fn corroborate(
        &self,
        callback: VerifiedCallback,
        binding: &binding::Binding,
    ) -> Result<VerifiedCallback, ApiError> {
        let Some(bucket) = trust::storage_check(&self.settings, binding, callback.fields()) else {
            return Ok(callback);
        };
        let provider = self
            .providers
            .get(bucket)
            .ok_or_else(|| ApiError::internal(format!("no provider for bucket '{bucket}'")))?;
        match crate::upstream_wait::timed(provider.head_object(&callback.fields().object)).await? {
            Some(meta) => Ok(callback.corroborated(meta)),
            None => Err(ApiError::ObjectMissing),
        }
    }

    fn refusal(&self, provider: &str, e: ApplyError) -> ApiError {
        match e {
            ApplyError::UnknownUpload => ApiError::NotFound("upload not found".into()),
            ApplyError::Mismatch(what) => ApiError::CallbackBindingMismatch(format!(
                "the callback's {what} does not match the upload record"
            )),
            ApplyError::Conflict(rec) => {
                self.metrics
                    .callback_conflicts_total
                    .with_label_values(&[provider])
                    .inc();
                tracing::warn!(upload_id = %rec.id, "callback for an upload completed with another ETag");
                ApiError::CallbackConflict
            }
            ApplyError::Rejected(_, reason) => ApiError::UploadRejected(reason),
            ApplyError::Store(e) => e.into(),
        }
    }

    /// The JSON OSS relays to the client: small and stable, plus configured extra fields.
    pub fn answer(&self, rec: &UploadRecord) -> Value {
        let mut m = answer_fields(
            &rec.id,
            &rec.key,
            rec.status,
            rec.size,
            rec.etag.as_deref(),
            rec.content_type.as_deref(),
        );
        let extra = &self.settings.callbacks.response_fields;
        if !extra.is_empty()
            && let Ok(Value::Object(full)) = serde_json::to_value(rec)
        {
            for f in extra {
                if let Some(v) = full.get(f) {
                    m.insert(f.clone(), v.clone());
                }
            }
        }
        Value::Object(m)
    }

    /// The answer for a journaled arrival: what the callback itself says, which is what the
    /// record will say once replayed.
    fn answer_unrecorded(&self, entry: &Accepted) -> Value {
        let f = entry.callback.fields();
        Value::Object(answer_fields(
            entry.binding.upload_id(),
            &f.object,
            UploadStatus::Completed,
            f.size,
            f.etag.as_deref(),
            f.mime_type.as_deref(),
        ))
    }

    /// Moves journaled arrivals into Redis. Stops at the first Redis failure and leaves the
    /// rest for the next round; entries already applied are duplicates then, changing nothing.
    pub async fn replay(&self, store: &Store) -> Result<usize, String> {
        let files = self.journal.seal().map_err(|e| format!("journal: {e}"))?;
        let mut applied = 0;
        for file in files {
            let entries = journal::read_entries(&file).map_err(|e| format!("journal: {e}"))?;
            for entry in &entries {
                let result = match record::apply(store, &self.settings, entry).await {
                    Ok(Applied::New(_)) => "applied",
                    Ok(Applied::Duplicate(_)) => "duplicate",
                    Err(ApplyError::Store(e)) => return Err(format!("redis: {e}")),
                    Err(e) => {
                        if let ApplyError::Rejected(rec, _) = &e {
                            // Recorded `failed`, as the journaled answer said.
                            inspect::discard(&self.providers, &self.settings, rec).await;
                        }
                        tracing::warn!(
                            upload_id = %entry.binding.upload_id(),
                            reason = %e,
                            "journaled callback refused on replay; dropped"
                        );
                        "refused"
                    }
                };
                self.metrics
                    .journal_replayed_total
                    .with_label_values(&[result])
                    .inc();
                applied += 1;
            }
            self.journal
                .finish(&file, entries.len())
                .map_err(|e| format!("journal: {e}"))?;
        }
        Ok(applied)
    }
}

fn answer_fields(
    id: &UploadId,
    key: &str,
    status: UploadStatus,
    size: Option<u64>,
    etag: Option<&str>,
    content_type: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("upload_id".into(), id.as_str().into());
    m.insert("key".into(), key.into());
    m.insert("status".into(), status.as_str().into());
    m.insert("size".into(), size.into());
    m.insert("etag".into(), etag.into());
    m.insert("content_type".into(), content_type.into());
    m
}
