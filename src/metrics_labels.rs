//! Label values the error counters can take, exported as 0 from the start: `increase()` over
//! a series whose first sample is already 1 reports nothing, so without these an alert misses
//! the first error of each kind. Keep in step with the code that increments them (the Redis
//! operations are checked by a test in `metrics_tests.rs`).

pub(crate) const PROVIDERS: &[&str] = &["oss", "cos", "s3"];
pub const REDIS_OPERATIONS: &[&str] = &[
    "claim_object",
    "create_record",
    "dead_letter_list",
    "dead_letter_put",
    "dead_letter_remove",
    "drop_deadline",
    "due_uploads",
    "get_record",
    "index_record",
    "list_index",
    "list_records",
    "ping",
    "prune_index",
    "quota_overdue",
    "quota_recheck",
    "quota_reserve",
    "quota_settle",
    "quota_usage",
    "rate_limit",
    "release_lock",
    "renew_lock",
    "stream_ack",
    "stream_backlog",
    "stream_claim",
    "stream_group",
    "stream_read",
    "stream_touch",
    "try_lock",
    "update_record",
];
// The alerts watch refusals and journaling as well as the error counters.
pub(crate) const CALLBACK_RESULTS: &[&str] = &[
    "accepted",
    "duplicate",
    "journaled",
    "not_recorded",
    "key_url_rejected",
    "key_fetch_failed",
    "bad_signature",
    "binding_mismatch",
    "unknown_upload",
    "conflict",
    "rejected",
    "malformed",
];
pub(crate) const STS_CLASSES: &[&str] = &[
    "timeout",
    "unreachable",
    "refused",
    "bad_response",
    "not_configured",
];
pub(crate) const UPSTREAM_OPERATIONS: &[&str] = &[
    "InitiateMultipartUpload",
    "ListParts",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListMultipartUploads",
    "HeadObject",
];
pub(crate) const UPSTREAM_CLASSES: &[&str] = &[
    "timeout",
    "connect",
    "protocol",
    "no_such_upload",
    "invalid_parts",
    "denied",
    "server",
    "rejected",
];

/// What one storage notification came to (the `outcome` label of
/// `upload_gateway_notifications_total`); one count per object it names, or one for the
/// message when it names none.
pub const NOTIFICATION_OUTCOMES: &[&str] = &[
    "completed",
    "duplicate",
    "ignored",
    "subscription",
    "refused",
    "unauthorized",
    "bad_signature",
    "storage_disagrees",
    "unknown",
    "error",
];

/// What one pre-upload hook call came to (the `outcome` label).
pub const HOOK_OUTCOMES: &[&str] = &[
    "allowed",
    "denied",
    "timeout",
    "unreachable",
    "bad_status",
    "invalid_answer",
];

/// What one webhook delivery attempt came to (the `outcome` label).
pub const WEBHOOK_OUTCOMES: &[&str] = &["delivered", "rejected", "timeout", "unreachable"];
