//! Storage event notifications (S3 through Amazon SNS, MinIO webhooks) from arrival to
//! answer. The route's verifier proves the notification genuine (SNS signature, MinIO
//! token); what it says is still only a hint, delivered at least once and in no order. Each
//! object it names goes to [`Uploads::complete_from_storage`]: the gateway's own HeadObject
//! must show the object carrying the binding its right stored, and then that storage check
//! (not the notification) completes the record, exactly once, through the path `confirm`
//! and callbacks take. A repeat is a duplicate and changes nothing.
//!
//! While Redis is down the answer is 5xx and nothing is acknowledged: SNS and MinIO send
//! again, and the reconciler completes the upload from storage at its deadline regardless.

use super::Uploads;
use super::confirm::Outcome;
use crate::config::ProviderKind;
use crate::domain::{ObjectKey, UploadRecord};
use crate::error::ApiError;
use crate::providers::{NotificationVerifier, Notified, ObjectNotice, RawCallback};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub type Notifiers = BTreeMap<&'static str, Arc<dyn NotificationVerifier>>;

/// `upload_gateway_notifications_total{outcome}` for a refusal.
fn outcome_of(e: &ApiError) -> &'static str {
    use crate::providers::s3::sns::SnsError;
    match e {
        ApiError::NotificationUnauthorized => "unauthorized",
        ApiError::Sns(SnsError::SignatureInvalid) => "bad_signature",
        ApiError::NotificationStorageDisagrees(_) => "storage_disagrees",
        ApiError::NotificationUnknownBucket(_)
        | ApiError::NotificationKeyNotManaged
        | ApiError::NotificationUnknownUpload => "unknown",
        e if actix_web::ResponseError::status_code(e).is_server_error() => "error",
        _ => "refused",
    }
}

fn answer(rec: &UploadRecord) -> Value {
    json!({
        "upload_id": rec.id.as_str(),
        "key": rec.key,
        "status": rec.status.as_str(),
        "size": rec.size,
        "etag": rec.etag,
        "content_type": rec.content_type,
    })
}

impl Uploads {
    /// The notification routes configured (`Providers::notification_verifiers`).
    pub fn with_notifiers(mut self, notifiers: Notifiers) -> Uploads {
        self.notifiers = notifiers;
        self
    }

    /// The route's name as mounted, when that notification source is configured.
    pub fn notifier(&self, source: &str) -> Option<&'static str> {
        self.notifiers.get_key_value(source).map(|(k, _)| *k)
    }

    fn verifier(&self, source: &str) -> Result<&Arc<dyn NotificationVerifier>, ApiError> {
        self.notifiers
            .get(source)
            .ok_or_else(|| ApiError::NotFound("no such notification endpoint".into()))
    }

    pub fn count_notice(&self, source: &str, outcome: &str) {
        self.metrics
            .notifications_total
            .with_label_values(&[source, outcome])
            .inc();
    }

    /// A liveness probe (MinIO's `HEAD` at start-up, with its credentials).
    pub fn probe(&self, source: &str, raw: &RawCallback<'_>) -> Result<(), ApiError> {
        self.verifier(source)?
            .probe(raw)
            .inspect_err(|_| self.count_notice(source, "unauthorized"))?;
        Ok(())
    }

    /// One notification: verified, then each object it names checked against storage.
    pub async fn notify(&self, source: &str, raw: RawCallback<'_>) -> Result<Value, ApiError> {
        let notified = self
            .verifier(source)?
            .verify(&raw)
            .await
            .map_err(ApiError::from)
            .inspect_err(|e| self.count_notice(source, outcome_of(e)))?;
        let (notices, ignored) = match notified {
            Notified::Objects { notices, ignored } => (notices, ignored),
            Notified::TestEvent => {
                self.count_notice(source, "ignored");
                return Ok(json!({"outcome": "ignored", "reason": "s3:TestEvent"}));
            }
            Notified::SubscriptionConfirmed => {
                self.count_notice(source, "subscription");
                return Ok(json!({"outcome": "subscription-confirmed"}));
            }
            Notified::Unsubscribed => {
                self.count_notice(source, "subscription");
                return Ok(json!({"outcome": "unsubscribed"}));
            }
        };
        for _ in 0..ignored {
            self.count_notice(source, "ignored");
        }
        let (mut uploads, mut first_error, mut any_new) = (Vec::new(), None, false);
        for notice in &notices {
            match self.notice(source, notice).await {
                Ok((rec, new)) => {
                    any_new |= new;
                    self.count_notice(source, if new { "completed" } else { "duplicate" });
                    uploads.push(answer(&rec));
                }
                Err(e) => {
                    self.count_notice(source, outcome_of(&e));
                    first_error.get_or_insert(e);
                }
            }
        }
        // One refused object fails the delivery, so SNS and MinIO report it; delivering it
        // again changes nothing for the objects already recorded.
        if let Some(e) = first_error {
            return Err(e);
        }
        let outcome = match (uploads.is_empty(), any_new) {
            (true, _) => "ignored",
            (false, true) => "completed",
            (false, false) => "duplicate",
        };
        Ok(json!({"outcome": outcome, "uploads": uploads, "ignored": ignored}))
    }

    /// One object: which configured S3 bucket it is in, then the storage check. `true` when
    /// this notice completed the record.
    async fn notice(
        &self,
        source: &str,
        notice: &ObjectNotice,
    ) -> Result<(UploadRecord, bool), ApiError> {
        let key = notice.key();
        let buckets = self.buckets_named(ProviderKind::S3.as_str(), notice.bucket());
        if buckets.is_empty() {
            return Err(ApiError::NotificationUnknownBucket(
                notice.bucket().chars().take(63).collect(),
            ));
        }
        // A key the gateway would never build, or under no profile's prefix, is not its own.
        let valid = ObjectKey::parse(key).is_ok();
        let bucket = buckets
            .iter()
            .find(|b| {
                valid
                    && self
                        .settings
                        .profiles
                        .values()
                        .any(|p| p.bucket.name == **b && p.may_hold_key(key))
            })
            .ok_or(ApiError::NotificationKeyNotManaged)?;
        let checked = self.complete_from_storage(bucket, key, source).await;
        match checked {
            Ok((Outcome::Completed, Some(rec))) => Ok((rec, true)),
            Ok((Outcome::AlreadyFinal, Some(rec))) => Ok((rec, false)),
            Ok((Outcome::Rejected, Some(rec))) => Err(ApiError::UploadRejected(
                rec.failure.unwrap_or_else(|| "rules broken".into()),
            )),
            Ok((Outcome::Missing, _)) => Err(ApiError::NotificationStorageDisagrees(
                "storage holds no object at this key".into(),
            )),
            Ok(_) => Err(ApiError::NotificationUnknownUpload),
            Err(ApiError::InvalidObjectKey(_)) => Err(ApiError::NotificationKeyNotManaged),
            Err(e) => Err(e),
        }
    }
}
