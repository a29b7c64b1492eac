//! The one error type that reaches HTTP clients.
//!
//! Every variant has a status and a stable kebab-case code; the body is always
//! `{"code": "...", "message": "..."}`. Messages of 5xx answers never carry internal
//! detail: the cause is logged (with the request id) and the client gets a generic text.

use crate::providers::s3::sns::SnsError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[path = "error_from.rs"]
mod from;

/// Body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub code: &'a str,
    pub message: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    // --- authentication (401) ---
    #[error("missing credentials: send 'Authorization: Bearer <token>' or 'X-Api-Key'")]
    MissingCredentials,
    #[error("the bearer token is not valid: {0}")]
    InvalidToken(String),
    #[error("the bearer token has expired; obtain a new one")]
    TokenExpired,
    #[error("the API key is not known")]
    UnknownApiKey,

    // --- request shape (400/404/405/413/415) ---
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported content type: {0}")]
    UnsupportedMediaType(String),
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("method {method} is not allowed here (allowed: {allow})")]
    MethodNotAllowed { method: String, allow: String },
    #[error("{0}")]
    NotFound(String),
    #[error(
        "cross-origin request refused: {0}; the origin and request headers must be listed in cors.allowed_origins / cors.allowed_headers"
    )]
    CorsRefused(String),
    #[error("{0}")]
    InvalidArgument(String),

    // --- upload policy (4xx) ---
    #[error("unknown upload profile '{0}'")]
    UnknownProfile(String),
    #[error(
        "content type '{content_type}' is not allowed by profile '{profile}' (allowed: {allowed})"
    )]
    ContentTypeNotAllowed {
        content_type: String,
        profile: String,
        allowed: String,
    },
    #[error("size {size} exceeds the limit of {max} bytes for profile '{profile}'")]
    SizeTooLarge {
        size: u64,
        max: u64,
        profile: String,
    },
    #[error("size {size} is below the minimum of {min} bytes for profile '{profile}'")]
    SizeTooSmall {
        size: u64,
        min: u64,
        profile: String,
    },
    #[error("{0}")]
    InvalidFilename(String),
    #[error("{0}")]
    InvalidObjectKey(String),
    #[error("profile '{profile}' does not allow {kind} uploads")]
    KindNotAllowed { profile: String, kind: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("the upload is {0}; only completed uploads can be downloaded or deleted")]
    UploadNotCompleted(String),
    #[error("storage of profile '{0}' offers no downloads or deletes through the gateway")]
    ObjectsNotSupported(String),

    // --- storage callbacks and confirmation ---
    #[error("{0}")]
    CallbackMalformed(String),
    #[error("the public key URL is not on the allow-list; nothing was fetched")]
    CallbackKeyUrlRejected,
    #[error("the callback's public key could not be obtained; retry shortly")]
    CallbackKeyUnavailable(String),
    #[error("the callback signature does not match its request target and body")]
    CallbackBadSignature,
    #[error("{0}")]
    CallbackBindingMismatch(String),
    #[error("this upload was already completed with a different object version (ETag)")]
    CallbackConflict,
    #[error("the stored object breaks the upload's rules: {0}")]
    UploadRejected(String),
    #[error("the callback could not be recorded; the upload can be confirmed later")]
    CallbackNotRecorded,
    #[error("storage holds no object at this upload's key yet; upload it, then confirm again")]
    ObjectMissing,
    #[error("the object at this upload's key was not written with this upload's rights")]
    ObjectBindingMismatch,
    #[error("{0}")]
    AppendPositionMismatch(String),
    #[error("the object is not appendable (a plain upload wrote it)")]
    ObjectNotAppendable,
    #[error("{0}")]
    ScopeNotAllowed(String),

    // --- storage event notifications (SNS, MinIO webhooks) ---
    #[error("{0}")]
    Sns(SnsError),
    #[error("the TopicArn is not one of callbacks.s3_sns.topic_arns; nothing was fetched")]
    SnsTopicNotAllowed,
    #[error("the SNS signing certificate could not be obtained; retry shortly")]
    SnsCertUnavailable(String),
    #[error(
        "this gateway does not confirm SNS subscriptions (callbacks.s3_sns.confirm_subscriptions = false)"
    )]
    SnsConfirmationDisabled,
    #[error("confirming the SNS subscription failed; SNS can resend the confirmation")]
    SnsConfirmFailed(String),
    #[error(
        "the webhook needs 'Authorization: Bearer <callbacks.s3_webhook.token>' (MinIO's auth_token)"
    )]
    NotificationUnauthorized,
    #[error("{0}")]
    NotificationMalformed(String),
    #[error("no S3 bucket in the configuration is named '{0}'")]
    NotificationUnknownBucket(String),
    #[error("the object key lies outside every profile's prefix in this bucket")]
    NotificationKeyNotManaged,
    #[error("no upload of the gateway wrote this object")]
    NotificationUnknownUpload,
    #[error("storage does not confirm the notification: {0}")]
    NotificationStorageDisagrees(String),

    // --- multipart ---
    #[error(
        "storage no longer holds this multipart upload (aborted, completed or expired); start a new upload"
    )]
    StorageUploadGone,
    #[error(
        "storage refused the part list ({0}): list every uploaded part once, in ascending order, with the ETag its upload returned; parts other than the last must meet the minimum part size"
    )]
    PartsRejected(String),

    // --- the app backend's pre-upload hook and quotas ---
    #[error("the upload was refused by the app: {0}")]
    HookDenied(String),
    #[error("the app's pre-upload check {0}")]
    HookUnavailable(&'static str),
    #[error("{0}")]
    QuotaExceeded(Box<QuotaRefusal>),

    // --- throttling (429) ---
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },

    // --- dependencies (5xx) ---
    #[error("the upload store is unavailable; retry shortly")]
    StoreUnavailable,
    #[error("the service is not ready: {0}")]
    NotReady(String),
    #[error("{0} did not answer in time; retry shortly")]
    UpstreamTimeout(&'static str),
    #[error("{service} could not serve the request; retry shortly")]
    UpstreamFailed {
        service: &'static str,
        detail: String,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a quota refused a right: the scope without room, its limits and what is left.
#[derive(Debug, Clone, Serialize)]
pub struct QuotaRefusal {
    /// `all` (every profile together) or `profile:<name>`.
    pub scope: String,
    /// Bytes the right would reserve.
    pub requested_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_remaining: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_remaining: Option<u64>,
}

impl fmt::Display for QuotaRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the quota '{}' has no room for {} more bytes",
            self.scope, self.requested_bytes
        )?;
        if let Some(b) = self.bytes_remaining {
            write!(f, " ({b} bytes left")?;
            match self.objects_remaining {
                Some(o) => write!(f, ", {o} objects left)")?,
                None => f.write_str(")")?,
            }
        } else if let Some(o) = self.objects_remaining {
            write!(f, " ({o} objects left)")?;
        }
        f.write_str("; delete uploads or ask for a larger quota")
    }
}

impl ApiError {
    pub fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(e.into())
    }

    /// Stable machine-readable code. Never change one once released.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingCredentials => "missing-credentials",
            ApiError::InvalidToken(_) => "invalid-token",
            ApiError::TokenExpired => "token-expired",
            ApiError::UnknownApiKey => "unknown-api-key",
            ApiError::InvalidJson(_) => "invalid-json",
            ApiError::InvalidQuery(_) => "invalid-query",
            ApiError::InvalidPath(_) => "invalid-path",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::RouteNotFound { .. } => "route-not-found",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::NotFound(_) => "not-found",
            ApiError::CorsRefused(_) => "cors-refused",
            ApiError::InvalidArgument(_) => "invalid-argument",
            ApiError::UnknownProfile(_) => "unknown-profile",
            ApiError::ContentTypeNotAllowed { .. } => "content-type-not-allowed",
            ApiError::SizeTooLarge { .. } => "size-too-large",
            ApiError::SizeTooSmall { .. } => "size-too-small",
            ApiError::InvalidFilename(_) => "invalid-filename",
            ApiError::InvalidObjectKey(_) => "invalid-object-key",
            ApiError::KindNotAllowed { .. } => "upload-kind-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::UploadNotCompleted(_) => "upload-not-completed",
            ApiError::ObjectsNotSupported(_) => "objects-not-supported",
            ApiError::CallbackMalformed(_) => "callback-malformed",
            ApiError::CallbackKeyUrlRejected => "callback-key-url-rejected",
            ApiError::CallbackKeyUnavailable(_) => "callback-key-unavailable",
            ApiError::CallbackBadSignature => "callback-bad-signature",
            ApiError::CallbackBindingMismatch(_) => "callback-binding-mismatch",
            ApiError::CallbackConflict => "callback-conflict",
            ApiError::UploadRejected(_) => "upload-rejected",
            ApiError::CallbackNotRecorded => "callback-not-recorded",
            ApiError::ObjectMissing => "object-missing",
            ApiError::ObjectBindingMismatch => "object-binding-mismatch",
            ApiError::AppendPositionMismatch(_) => "append-position-mismatch",
            ApiError::ObjectNotAppendable => "object-not-appendable",
            ApiError::ScopeNotAllowed(_) => "scope-not-allowed",
            ApiError::Sns(e) => e.code(),
            ApiError::SnsTopicNotAllowed => "sns-topic-not-allowed",
            ApiError::SnsCertUnavailable(_) => "sns-cert-unavailable",
            ApiError::SnsConfirmationDisabled => "sns-confirmation-disabled",
            ApiError::SnsConfirmFailed(_) => "sns-confirm-failed",
            ApiError::NotificationUnauthorized => "notification-unauthorized",
            ApiError::NotificationMalformed(_) => "notification-malformed",
            ApiError::NotificationUnknownBucket(_) => "notification-unknown-bucket",
            ApiError::NotificationKeyNotManaged => "notification-key-not-managed",
            ApiError::NotificationUnknownUpload => "notification-unknown-upload",
            ApiError::NotificationStorageDisagrees(_) => "notification-storage-disagrees",
            ApiError::StorageUploadGone => "storage-upload-gone",
            ApiError::PartsRejected(_) => "parts-rejected",
            ApiError::HookDenied(_) => "hook-denied",
            ApiError::HookUnavailable(_) => "hook-unavailable",
            ApiError::QuotaExceeded(_) => "quota-exceeded",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::StoreUnavailable => "store-unavailable",
            ApiError::NotReady(_) => "not-ready",
            ApiError::UpstreamTimeout(_) => "upstream-timeout",
            ApiError::UpstreamFailed { .. } => "upstream-failed",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Text for the client. 5xx answers say nothing about internals.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => {
                "internal error; the request id identifies it in the logs".into()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials
            | ApiError::InvalidToken(_)
            | ApiError::TokenExpired
            | ApiError::UnknownApiKey => StatusCode::UNAUTHORIZED,
            ApiError::InvalidJson(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidPath(_)
            | ApiError::InvalidArgument(_)
            | ApiError::ContentTypeNotAllowed { .. }
            | ApiError::SizeTooSmall { .. }
            | ApiError::InvalidFilename(_)
            | ApiError::InvalidObjectKey(_)
            | ApiError::UnknownProfile(_) => StatusCode::BAD_REQUEST,
            ApiError::KindNotAllowed { .. } => StatusCode::FORBIDDEN,
            ApiError::ObjectsNotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::SizeTooLarge { .. } | ApiError::PayloadTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RouteNotFound { .. } | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::CorsRefused(_) => StatusCode::BAD_REQUEST,
            ApiError::Conflict(_)
            | ApiError::UploadNotCompleted(_)
            | ApiError::CallbackConflict
            | ApiError::ObjectMissing
            | ApiError::ObjectBindingMismatch
            | ApiError::AppendPositionMismatch(_)
            | ApiError::ObjectNotAppendable
            | ApiError::StorageUploadGone => StatusCode::CONFLICT,
            ApiError::ScopeNotAllowed(_) => StatusCode::FORBIDDEN,
            ApiError::Sns(SnsError::SignatureInvalid | SnsError::CertUrlMismatch)
            | ApiError::SnsTopicNotAllowed
            | ApiError::SnsConfirmationDisabled => StatusCode::FORBIDDEN,
            ApiError::Sns(_) | ApiError::NotificationMalformed(_) => StatusCode::BAD_REQUEST,
            ApiError::SnsCertUnavailable(_) | ApiError::SnsConfirmFailed(_) => {
                StatusCode::BAD_GATEWAY
            }
            ApiError::NotificationUnauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotificationUnknownBucket(_)
            | ApiError::NotificationKeyNotManaged
            | ApiError::NotificationUnknownUpload => StatusCode::NOT_FOUND,
            ApiError::NotificationStorageDisagrees(_) => StatusCode::CONFLICT,
            ApiError::PartsRejected(_) => StatusCode::BAD_REQUEST,
            ApiError::CallbackMalformed(_) | ApiError::CallbackKeyUrlRejected => {
                StatusCode::BAD_REQUEST
            }
            ApiError::CallbackBadSignature | ApiError::CallbackBindingMismatch(_) => {
                StatusCode::FORBIDDEN
            }
            ApiError::UploadRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CallbackKeyUnavailable(_) => StatusCode::BAD_GATEWAY,
            ApiError::CallbackNotRecorded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::HookDenied(_) | ApiError::QuotaExceeded(_) => StatusCode::FORBIDDEN,
            ApiError::HookUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StoreUnavailable | ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UpstreamFailed { .. } => StatusCode::BAD_GATEWAY,
            ApiError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let ApiError::UpstreamFailed { detail, .. }
        | ApiError::CallbackKeyUnavailable(detail)
        | ApiError::SnsCertUnavailable(detail)
        | ApiError::SnsConfirmFailed(detail) = self
        {
            tracing::error!(code = self.code(), error = %self, detail = %detail, "request failed");
        } else if status.is_server_error() {
            // The cause goes to the log, inside the request span that carries the request id.
            tracing::error!(code = self.code(), error = %ErrorChain(self), "request failed");
        } else {
            tracing::info!(code = self.code(), reason = %self, "request rejected");
        }
        let message = self.public_message();
        let mut resp = HttpResponse::build(status);
        match self {
            ApiError::RateLimited { retry_after_secs } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    resp.insert_header((header::ALLOW, v));
                }
            }
            ApiError::MissingCredentials
            | ApiError::InvalidToken(_)
            | ApiError::TokenExpired
            | ApiError::UnknownApiKey
            | ApiError::NotificationUnauthorized => {
                resp.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"upload-gateway\""),
                ));
            }
            _ => {}
        }
        if let ApiError::QuotaExceeded(q) = self {
            // The remaining quota beside code and message, so a client can say how much is left.
            return resp.json(serde_json::json!({
                "code": self.code(),
                "message": message,
                "quota": **q,
            }));
        }
        resp.json(ErrorBody {
            code: self.code(),
            message: &message,
        })
    }
}

/// Renders an error with all its sources, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
