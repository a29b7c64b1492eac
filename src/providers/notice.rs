//! Storage event notifications (S3 via Amazon SNS, MinIO webhooks): what a verified one says.
//! A notification is only a hint, delivered at least once and in no order: the gateway
//! records nothing on its word, but asks storage itself (HeadObject) and completes an upload
//! only when storage agrees. So an [`ObjectNotice`] carries what the notification claimed,
//! and only a notification verifier in `providers` makes one.

use super::RawCallback;
use super::s3::sns::SnsError;
use futures_util::future::BoxFuture;

/// One object a verified notification says was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectNotice {
    source: &'static str,
    bucket: String,
    key: String,
    size: Option<u64>,
    etag: Option<String>,
}

impl ObjectNotice {
    pub(in crate::providers) fn new(
        source: &'static str,
        record: super::s3::s3_event::S3Record,
    ) -> ObjectNotice {
        ObjectNotice {
            source,
            bucket: record.bucket,
            key: record.key,
            size: record.size,
            etag: record.etag,
        }
    }
    /// The route it came through (`s3-sns`, `s3-webhook`).
    pub fn source(&self) -> &'static str {
        self.source
    }
    /// The bucket's real name, as storage calls it.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
    /// Decoded (`+` is a space, `%XX` undone).
    pub fn key(&self) -> &str {
        &self.key
    }
    pub fn size(&self) -> Option<u64> {
        self.size
    }
    /// Without quotes.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }
}

/// What a verified notification came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// Objects created; `ignored` counts the other records (removals and the like).
    Objects {
        notices: Vec<ObjectNotice>,
        ignored: usize,
    },
    /// S3's `s3:TestEvent`, sent when notifications are configured: nothing happened.
    TestEvent,
    /// A SubscriptionConfirmation, confirmed with the topic's own SNS host (never by
    /// fetching the message's SubscribeURL).
    SubscriptionConfirmed,
    /// An UnsubscribeConfirmation: noted, nothing fetched.
    Unsubscribed,
}

/// Why a notification was refused. Verifiers say no more than this; the HTTP answer is
/// chosen in `error.rs`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotificationError {
    #[error(transparent)]
    Sns(#[from] SnsError),
    #[error("the TopicArn is not in callbacks.s3_sns.topic_arns")]
    TopicNotAllowed,
    /// Detail for the log only.
    #[error("the signing certificate could not be obtained: {0}")]
    CertUnavailable(String),
    #[error(
        "the gateway does not confirm subscriptions (callbacks.s3_sns.confirm_subscriptions = false)"
    )]
    ConfirmationDisabled,
    /// Detail for the log only.
    #[error("ConfirmSubscription failed: {0}")]
    ConfirmFailed(String),
    #[error("the webhook's bearer token is missing or wrong")]
    Unauthorized,
    #[error("{0}")]
    Malformed(String),
}

/// Turns a notification request into what it says, or says why not. One per route.
pub trait NotificationVerifier: Send + Sync {
    /// The route name under `/v1/callbacks/` and the `source` metrics label.
    fn source(&self) -> &'static str;
    fn verify<'a>(
        &'a self,
        raw: &'a RawCallback<'a>,
    ) -> BoxFuture<'a, Result<Notified, NotificationError>>;
    /// A liveness probe (MinIO sends `HEAD` with its credentials at start-up).
    fn probe(&self, raw: &RawCallback<'_>) -> Result<(), NotificationError>;
}
