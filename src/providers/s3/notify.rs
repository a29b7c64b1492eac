//! The two notification routes of S3-compatible storage, verified:
//! - [`SnsVerifier`] (`/v1/callbacks/s3-sns`): raw delivery refused, the TopicArn
//!   allow-listed before anything is fetched, the certificate URL validated, then fetched
//!   ([`super::sns_certs`]), the signature checked ([`super::sns::verify`]), then the S3
//!   event read; confirmations go only to the topic's own SNS host ([`super::sns_confirm`]).
//! - [`WebhookVerifier`] (`/v1/callbacks/s3-webhook`, MinIO): MinIO signs nothing, so the
//!   bearer token it is configured with (`auth_token`) is compared in constant time.

use super::s3_event::{self, S3Event};
use super::sns::{self, MessageType, SnsEnvelope, SnsError};
use super::sns_cert_url::{CertUrlPolicy, TopicArn, validate_cert_url};
use super::sns_certs::{SnsCerts, sns_client};
use super::sns_confirm;
use crate::config::{SnsSettings, WebhookTokenSettings};
use crate::metrics::Metrics;
use crate::providers::{
    NotificationError, NotificationVerifier, Notified, ObjectNotice, RawCallback,
};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const SNS_SOURCE: &str = "s3-sns";
pub const WEBHOOK_SOURCE: &str = "s3-webhook";

/// The topics in config, parsed (a bad one is a config error, found by `check-config`).
pub fn parse_topics(s: &SnsSettings) -> Result<Vec<TopicArn>, String> {
    s.topic_arns
        .iter()
        .map(|t| {
            TopicArn::parse(t).map_err(|_| {
                format!("'{t}' is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic>)")
            })
        })
        .collect()
}

fn notices(source: &'static str, message: &str) -> Result<Notified, NotificationError> {
    let event = s3_event::parse(message)
        .map_err(|e| NotificationError::Malformed(format!("the S3 event: {e}")))?;
    let records = match event {
        S3Event::Test { .. } => return Ok(Notified::TestEvent),
        S3Event::Records(r) => r,
    };
    let total = records.len();
    let notices: Vec<ObjectNotice> = records
        .into_iter()
        .filter(|r| r.is_object_created())
        .map(|r| ObjectNotice::new(source, r))
        .collect();
    Ok(Notified::Objects {
        ignored: total - notices.len(),
        notices,
    })
}

pub struct SnsVerifier {
    topics: Vec<TopicArn>,
    policy: CertUrlPolicy,
    certs: SnsCerts,
    http: reqwest::Client,
    confirm: bool,
    metrics: Arc<Metrics>,
}

impl SnsVerifier {
    pub fn new(s: &SnsSettings, metrics: Arc<Metrics>) -> Result<SnsVerifier, String> {
        let http = sns_client(s)?;
        Ok(SnsVerifier {
            topics: parse_topics(s).map_err(|e| format!("callbacks.s3_sns.topic_arns: {e}"))?,
            policy: CertUrlPolicy {
                extra_hosts: s.extra_cert_hosts.clone(),
            },
            certs: SnsCerts::new(s, http.clone()),
            http,
            confirm: s.confirm_subscriptions,
            metrics,
        })
    }

    fn count_fetch(&self, result: &str) {
        self.metrics
            .sns_cert_fetches_total
            .with_label_values(&[result])
            .inc();
    }

    async fn run(&self, raw: &RawCallback<'_>) -> Result<Notified, NotificationError> {
        if raw
            .header("x-amz-sns-rawdelivery")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            return Err(SnsError::RawDelivery.into());
        }
        let envelope = SnsEnvelope::parse(raw.body)?;
        // Before any fetch: a message for a topic nobody configured costs nothing.
        if !self.topics.iter().any(|t| t == envelope.topic_arn()) {
            return Err(NotificationError::TopicNotAllowed);
        }
        let url = validate_cert_url(
            envelope.signing_cert_url(),
            envelope.topic_arn(),
            &self.policy,
        )?;
        let cert = match self.certs.get(&url).await {
            Ok((cert, fetched)) => {
                self.count_fetch(if fetched { "fetched" } else { "cache_hit" });
                cert
            }
            Err(e) => {
                self.count_fetch("failed");
                return Err(NotificationError::CertUnavailable(e.to_string()));
            }
        };
        let message = sns::verify(envelope, &url, &cert)?;
        match message.kind() {
            MessageType::Notification => notices(SNS_SOURCE, message.message()),
            MessageType::UnsubscribeConfirmation => {
                tracing::warn!(
                    topic = message.topic_arn().as_str(),
                    "SNS says this endpoint was unsubscribed; notifications stop until it is subscribed again"
                );
                Ok(Notified::Unsubscribed)
            }
            MessageType::SubscriptionConfirmation => {
                let topic = message.topic_arn().as_str();
                if !self.confirm {
                    tracing::warn!(
                        topic,
                        "SNS subscription confirmation refused (callbacks.s3_sns.confirm_subscriptions = false)"
                    );
                    return Err(NotificationError::ConfirmationDisabled);
                }
                let token = message.token().unwrap_or_default();
                let Some(url) = sns_confirm::confirm_url(message.topic_arn(), token) else {
                    return Err(NotificationError::Malformed(
                        "the confirmation's Token is not one SNS issues".into(),
                    ));
                };
                sns_confirm::confirm(&self.http, url)
                    .await
                    .map_err(NotificationError::ConfirmFailed)?;
                tracing::info!(topic, "SNS subscription confirmed");
                Ok(Notified::SubscriptionConfirmed)
            }
        }
    }
}

impl NotificationVerifier for SnsVerifier {
    fn source(&self) -> &'static str {
        SNS_SOURCE
    }
    fn verify<'a>(
        &'a self,
        raw: &'a RawCallback<'a>,
    ) -> BoxFuture<'a, Result<Notified, NotificationError>> {
        Box::pin(self.run(raw))
    }
    fn probe(&self, _raw: &RawCallback<'_>) -> Result<(), NotificationError> {
        Ok(())
    }
}

pub struct WebhookVerifier {
    token: SecretString,
}

impl WebhookVerifier {
    pub fn new(s: &WebhookTokenSettings) -> WebhookVerifier {
        WebhookVerifier {
            token: s.token.clone(),
        }
    }

    /// `Authorization: Bearer <token>`, the token compared in constant time.
    fn authorize(&self, raw: &RawCallback<'_>) -> Result<(), NotificationError> {
        let presented = raw
            .header("authorization")
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
            })
            .ok_or(NotificationError::Unauthorized)?;
        let ok: bool = presented
            .as_bytes()
            .ct_eq(self.token.expose_secret().as_bytes())
            .into();
        ok.then_some(()).ok_or(NotificationError::Unauthorized)
    }
}

impl NotificationVerifier for WebhookVerifier {
    fn source(&self) -> &'static str {
        WEBHOOK_SOURCE
    }
    fn verify<'a>(
        &'a self,
        raw: &'a RawCallback<'a>,
    ) -> BoxFuture<'a, Result<Notified, NotificationError>> {
        Box::pin(async move {
            self.authorize(raw)?;
            let body = std::str::from_utf8(raw.body)
                .map_err(|_| NotificationError::Malformed("the body is not UTF-8".into()))?;
            notices(WEBHOOK_SOURCE, body)
        })
    }
    fn probe(&self, raw: &RawCallback<'_>) -> Result<(), NotificationError> {
        self.authorize(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(headers: Vec<(&'a str, &'a str)>, body: &'a [u8]) -> RawCallback<'a> {
        RawCallback {
            request_target: "/v1/callbacks/s3-webhook",
            headers,
            body,
        }
    }

    #[tokio::test]
    async fn the_webhook_takes_exactly_its_bearer_token_and_minio_records() {
        let v = WebhookVerifier {
            token: SecretString::from("0123456789abcdef0123".to_string()),
        };
        let body = br#"{"EventName":"s3:ObjectCreated:Put","Key":"b/a b","Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b","size":3,"eTag":"e"}}},{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"c"}}}]}"#;
        let ok = raw(vec![("authorization", "Bearer 0123456789abcdef0123")], body);
        let Notified::Objects { notices, ignored } = v.verify(&ok).await.unwrap() else {
            panic!("objects expected")
        };
        assert_eq!((notices.len(), ignored), (1, 1));
        assert_eq!((notices[0].bucket(), notices[0].key()), ("b", "a b"));
        assert_eq!(notices[0].source(), WEBHOOK_SOURCE);
        assert!(v.probe(&ok).is_ok());
        for bad in [
            "Bearer 0123456789abcdef012",
            "Bearer 0123456789abcdef01234",
            "Basic 0123456789abcdef0123",
            "0123456789abcdef0123",
        ] {
            let r = raw(vec![("authorization", bad)], body);
            assert!(
                matches!(v.verify(&r).await, Err(NotificationError::Unauthorized)),
                "{bad}"
            );
            assert!(v.probe(&r).is_err(), "{bad}");
        }
        assert!(v.probe(&raw(vec![], b"")).is_err());
    }
}
