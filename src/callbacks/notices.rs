//! Storage event notifications (S3 through Amazon SNS, MinIO webhooks) from arrival to
//! answer. They arrive at least once and in no order, and say nothing the gateway records
//! on their word: each object a verified notification names is only a hint to ask storage.
//! The gateway's own HeadObject must show the object, agree with the notification's size
//! and ETag, and carry the binding the gateway's right stored with it (which names and
//! proves the upload); then the storage check, not the notification, is recorded, through
//! the same exactly-once step (or the journal) as every callback. Repeats are duplicates.

use super::Receiver;
use super::binding::{self, BindingError};
use crate::error::ApiError;
use crate::providers::{Notified, ObjectNotice, RawCallback, VerifiedCallback};
use serde_json::{Value, json};
use time::OffsetDateTime;

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

fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"')
        .eq_ignore_ascii_case(b.trim_matches('"'))
}

impl Receiver {
    /// The route's name as mounted, when that notification source is configured.
    pub fn notifier(&self, source: &str) -> Option<&'static str> {
        self.notifiers.get_key_value(source).map(|(k, _)| *k)
    }

    /// A liveness probe (MinIO's `HEAD` at start-up, with its credentials).
    pub fn probe(&self, source: &str, raw: &RawCallback<'_>) -> Result<(), ApiError> {
        let v = self
            .notifiers
            .get(source)
            .ok_or_else(|| ApiError::NotFound("no such notification endpoint".into()))?;
        v.probe(raw)
            .inspect_err(|_| self.count_notice(source, "unauthorized"))?;
        Ok(())
    }

    pub fn count_notice(&self, source: &str, outcome: &str) {
        self.metrics
            .notifications_total
            .with_label_values(&[source, outcome])
            .inc();
    }

    /// One notification: verified, then each object it names checked against storage.
    pub async fn notify(&self, source: &str, raw: RawCallback<'_>) -> Result<Value, ApiError> {
        let v = self
            .notifiers
            .get(source)
            .ok_or_else(|| ApiError::NotFound("no such notification endpoint".into()))?;
        let notified = v
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
        let mut uploads = Vec::new();
        let mut first_error = None;
        let mut any_new = false;
        for notice in &notices {
            match self.notice(notice).await {
                Ok((answer, result)) => {
                    any_new |= result != "duplicate";
                    let outcome = if result == "duplicate" {
                        "duplicate"
                    } else {
                        "completed"
                    };
                    self.count_notice(source, outcome);
                    uploads.push(answer);
                }
                Err(e) => {
                    self.count_notice(source, outcome_of(&e));
                    first_error.get_or_insert(e);
                }
            }
        }
        // One refused object fails the delivery: SNS and MinIO then report it, and a
        // redelivery changes nothing for the objects already recorded.
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

    /// One object: the storage check, the binding it carries, then the record.
    async fn notice(&self, notice: &ObjectNotice) -> Result<(Value, &'static str), ApiError> {
        let key = notice.key();
        let buckets: Vec<_> = self
            .settings
            .buckets
            .values()
            .filter(|b| b.bucket == notice.bucket())
            .collect();
        if buckets.is_empty() {
            return Err(ApiError::NotificationUnknownBucket(
                notice.bucket().chars().take(63).collect(),
            ));
        }
        // A key the gateway would never build (or no profile's prefix) is none of its own.
        let profile = self
            .settings
            .profiles
            .values()
            .filter(|_| crate::domain::ObjectKey::parse(key).is_ok())
            .find(|p| p.bucket.bucket == notice.bucket() && p.may_hold_key(key))
            .ok_or(ApiError::NotificationKeyNotManaged)?;
        let provider = self.providers.get(&profile.bucket.name).ok_or_else(|| {
            ApiError::internal(format!("no provider for bucket '{}'", profile.bucket.name))
        })?;
        let head = tokio::time::timeout(super::inspect::BUDGET, provider.head_object(key));
        let meta = match head.await {
            Err(_) => return Err(ApiError::UpstreamTimeout("storage")),
            Ok(r) => r?.ok_or_else(|| {
                ApiError::NotificationStorageDisagrees("storage holds no object at this key".into())
            })?,
        };
        if let (Some(said), Some(stored)) = (notice.etag(), meta.etag.as_deref())
            && !same_etag(said, stored)
        {
            return Err(ApiError::NotificationStorageDisagrees(
                "the object's ETag is not the notified one (it changed since)".into(),
            ));
        }
        if notice.size().is_some_and(|n| n != meta.size) {
            return Err(ApiError::NotificationStorageDisagrees(
                "the object's size is not the notified one (it changed since)".into(),
            ));
        }
        let stored = meta
            .binding
            .as_deref()
            .ok_or(ApiError::NotificationUnknownUpload)?;
        let binding = binding::bind_stored(&self.settings, key, stored).map_err(|e| match e {
            BindingError::Missing => ApiError::NotificationUnknownUpload,
            BindingError::Mismatch(_) => ApiError::NotificationStorageDisagrees(
                "the object's binding was not issued for this key".into(),
            ),
        })?;
        let callback = VerifiedCallback::from_storage_check(
            provider.kind(),
            OffsetDateTime::now_utc(),
            &profile.bucket.bucket,
            key,
            meta,
        );
        match self.settle(notice.source(), callback, binding).await {
            Err(ApiError::NotFound(_)) => Err(ApiError::NotificationUnknownUpload),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn etags_compare_without_quotes_or_case() {
        assert!(super::same_etag("\"ABC\"", "abc"));
        assert!(!super::same_etag("abc", "abd"));
    }
}
