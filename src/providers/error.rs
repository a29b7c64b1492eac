//! How a call to storage or STS failed, classified by the adapter that made it: callers
//! match on variants, never on a vendor's error strings.

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    /// The multipart upload no longer exists upstream (aborted, completed or expired).
    #[error("storage no longer holds the multipart upload")]
    UploadGone,
    /// Storage refused the part list; `code` is the vendor's, shown to the client.
    #[error("storage refused the part list: {code}")]
    PartsRejected { code: String },
    /// Storage understood the request and refused it for another reason (denied, throttled,
    /// malformed): nothing the client can fix.
    #[error("{service} refused the request: {code} (HTTP {status})")]
    Refused {
        service: &'static str,
        status: u16,
        code: String,
    },
    /// An append did not start where the object ends; `next` is where it does, if known.
    #[error("the append position is not the object's length")]
    AppendPosition { next: Option<u64> },
    /// The object exists and is not appendable (it was written by a plain upload).
    #[error("the object is not appendable")]
    NotAppendable,
    #[error("{service} failed: {detail}")]
    Failed {
        service: &'static str,
        /// Metric label: connect, protocol, not_configured, ...
        class: &'static str,
        detail: String,
    },
}

impl UpstreamError {
    /// Metric label (`upload_gateway_upstream_errors_total{class}`).
    pub fn class(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::UploadGone => "no_such_upload",
            UpstreamError::PartsRejected { .. } => "invalid_parts",
            UpstreamError::AppendPosition { .. } => "append-position",
            UpstreamError::NotAppendable => "not-appendable",
            UpstreamError::Failed { class, .. } => class,
            UpstreamError::Refused { status, .. } => match status {
                401 | 403 => "denied",
                500.. => "server",
                _ => "rejected",
            },
        }
    }

    /// Worth one more try for a call that is safe to repeat.
    pub fn is_transient(&self) -> bool {
        matches!(self.class(), "timeout" | "server" | "connect")
    }
}
