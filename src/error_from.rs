//! How the layers' own errors become answers: storage, upstream, callback and notification
//! errors each map to one `ApiError` variant (and so to one stable code).

use super::ApiError;
use crate::providers::{CallbackError, NotificationError, UpstreamError};
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Timeout(_) => ApiError::StoreUnavailable,
            StoreError::Redis(ref r)
                if r.is_io_error() || r.is_connection_dropped() || r.is_timeout() =>
            {
                tracing::warn!(error = %e, "redis unavailable");
                ApiError::StoreUnavailable
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<UpstreamError> for ApiError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Timeout { service } => ApiError::UpstreamTimeout(service),
            UpstreamError::UploadGone => ApiError::StorageUploadGone,
            UpstreamError::PartsRejected { code } => ApiError::PartsRejected(code),
            UpstreamError::AppendPosition { next } => {
                ApiError::AppendPositionMismatch(match next {
                    Some(n) => {
                        format!("the append must start at position {n}, the object's length")
                    }
                    None => "the append must start at the object's length".into(),
                })
            }
            UpstreamError::NotAppendable => ApiError::ObjectNotAppendable,
            UpstreamError::Failed {
                service, detail, ..
            } => ApiError::UpstreamFailed { service, detail },
            // Denied, throttled or broken upstream: the client cannot fix it.
            UpstreamError::Refused {
                service,
                status,
                code,
            } => ApiError::UpstreamFailed {
                service,
                detail: format!("{code} (HTTP {status})"),
            },
        }
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::Malformed(m) => ApiError::CallbackMalformed(m.to_string()),
            CallbackError::BadBody(m) => ApiError::CallbackMalformed(m),
            CallbackError::UnsupportedMediaType(m) => ApiError::UnsupportedMediaType(m),
            CallbackError::KeyUrlRejected => ApiError::CallbackKeyUrlRejected,
            CallbackError::KeyUnavailable(d) => ApiError::CallbackKeyUnavailable(d),
            CallbackError::BadSignature => ApiError::CallbackBadSignature,
        }
    }
}

impl From<NotificationError> for ApiError {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Sns(e) => ApiError::Sns(e),
            NotificationError::TopicNotAllowed => ApiError::SnsTopicNotAllowed,
            NotificationError::CertUnavailable(d) => ApiError::SnsCertUnavailable(d),
            NotificationError::ConfirmationDisabled => ApiError::SnsConfirmationDisabled,
            NotificationError::ConfirmFailed(d) => ApiError::SnsConfirmFailed(d),
            NotificationError::Unauthorized => ApiError::NotificationUnauthorized,
            NotificationError::Malformed(m) => ApiError::NotificationMalformed(m),
        }
    }
}
