//! Every metric the gateway exports, declared once with its help text, in its own registry.
//!
//! Names are `upload_gateway_*`, snake_case, with the unit in the name and `_total` on
//! counters. Labels are bounded: route patterns (never raw paths), profiles from config,
//! outcome enums. Never a user id or an object key.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

use crate::metrics_labels::{
    CALLBACK_RESULTS, PROVIDERS, STS_CLASSES, UPSTREAM_CLASSES, UPSTREAM_OPERATIONS,
};
pub use crate::metrics_labels::{
    HOOK_OUTCOMES, NOTIFICATION_OUTCOMES, REDIS_OPERATIONS, WEBHOOK_OUTCOMES,
};

/// Set at build time (the Dockerfile passes the git commit); "unknown" for a plain `cargo build`.
pub const BUILD_COMMIT: &str = match option_env!("UPLOAD_GATEWAY_COMMIT") {
    Some(c) => c,
    None => "unknown",
};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Finer below a few milliseconds, where the gateway's own part of a storage-bound request lies.
const OWN_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5,
];

pub struct Metrics {
    registry: Registry,
    pub http_requests_total: IntCounterVec,
    pub http_request_duration_seconds: HistogramVec,
    pub http_own_duration_seconds: HistogramVec,
    pub redis_command_duration_seconds: HistogramVec,
    pub redis_errors_total: IntCounterVec,
    pub rate_limited_total: IntCounterVec,
    pub auth_failures_total: IntCounterVec,
    pub credentials_issued_total: IntCounterVec,
    pub sts_request_duration_seconds: HistogramVec,
    pub sts_errors_total: IntCounterVec,
    pub sts_cache_total: IntCounterVec,
    pub callbacks_total: IntCounterVec,
    pub callback_duration_seconds: HistogramVec,
    pub callback_conflicts_total: IntCounterVec,
    pub journal_depth: IntGauge,
    pub journal_replayed_total: IntCounterVec,
    pub public_key_fetches_total: IntCounterVec,
    pub notifications_total: IntCounterVec,
    pub sns_cert_fetches_total: IntCounterVec,
    pub reconciliations_total: IntCounterVec,
    pub multipart_total: IntCounterVec,
    pub upstream_request_duration_seconds: HistogramVec,
    pub upstream_errors_total: IntCounterVec,
    pub sweeper_aborted_total: IntCounterVec,
    pub sweep_duration_seconds: HistogramVec,
    pub sweep_errors_total: IntCounterVec,
    pub webhook_deliveries_total: IntCounterVec,
    pub webhook_delivery_duration_seconds: HistogramVec,
    pub webhook_backlog_events: IntGaugeVec,
    pub webhook_dead_letters: IntGaugeVec,
    pub webhook_dead_lettered_total: IntCounterVec,
    pub pre_upload_hook_total: IntCounterVec,
    pub pre_upload_hook_duration_seconds: HistogramVec,
    pub quota_refused_total: IntCounterVec,
    pub build_info: IntGaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    histogram_with(registry, name, help, labels, LATENCY_BUCKETS)
}

fn histogram_with(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("valid metric");
    registry
        .register(Box::new(h.clone()))
        .expect("unique metric");
    h
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        let journal_depth = IntGauge::new(
            "upload_gateway_callback_journal_depth",
            "Verified callbacks waiting in the local journal for Redis",
        )
        .expect("valid metric");
        r.register(Box::new(journal_depth.clone()))
            .expect("unique metric");
        let m = Metrics {
            http_requests_total: counter(
                &r,
                "upload_gateway_http_requests_total",
                "HTTP requests by route pattern, method and status",
                &["route", "method", "status"],
            ),
            http_request_duration_seconds: histogram(
                &r,
                "upload_gateway_http_request_duration_seconds",
                "HTTP request latency by route pattern",
                &["route"],
            ),
            http_own_duration_seconds: histogram_with(
                &r,
                "upload_gateway_http_own_duration_seconds",
                "HTTP request latency less the time spent waiting on storage, STS, hooks and key fetches",
                &["route"],
                OWN_BUCKETS,
            ),
            redis_command_duration_seconds: histogram(
                &r,
                "upload_gateway_redis_command_duration_seconds",
                "Redis operation latency by operation",
                &["operation"],
            ),
            redis_errors_total: counter(
                &r,
                "upload_gateway_redis_errors_total",
                "Redis operations that failed or timed out",
                &["operation"],
            ),
            rate_limited_total: counter(
                &r,
                "upload_gateway_rate_limited_total",
                "Requests refused by the per-user rate limit",
                &["route"],
            ),
            auth_failures_total: counter(
                &r,
                "upload_gateway_auth_failures_total",
                "Rejected client authentications by reason",
                &["reason"],
            ),
            credentials_issued_total: counter(
                &r,
                "upload_gateway_credentials_issued_total",
                "Upload rights issued",
                &["provider", "kind", "profile"],
            ),
            sts_request_duration_seconds: histogram(
                &r,
                "upload_gateway_sts_request_duration_seconds",
                "Latency of STS AssumeRole calls",
                &["provider"],
            ),
            sts_errors_total: counter(
                &r,
                "upload_gateway_sts_errors_total",
                "Failed STS calls by class",
                &["provider", "class"],
            ),
            sts_cache_total: counter(
                &r,
                "upload_gateway_sts_cache_total",
                "STS credential cache lookups",
                &["result"],
            ),
            callbacks_total: counter(
                &r,
                "upload_gateway_callbacks_total",
                "Storage callbacks by result",
                &["provider", "result"],
            ),
            callback_duration_seconds: histogram(
                &r,
                "upload_gateway_callback_duration_seconds",
                "Time to verify and record a callback",
                &["provider"],
            ),
            callback_conflicts_total: counter(
                &r,
                "upload_gateway_callback_conflicts_total",
                "Callbacks for an upload already completed with another ETag",
                &["provider"],
            ),
            journal_depth,
            journal_replayed_total: counter(
                &r,
                "upload_gateway_callback_journal_replayed_total",
                "Journaled callbacks replayed into Redis",
                &["result"],
            ),
            public_key_fetches_total: counter(
                &r,
                "upload_gateway_callback_key_fetches_total",
                "Callback public key fetches by result",
                &["result"],
            ),
            notifications_total: counter(
                &r,
                "upload_gateway_notifications_total",
                "Storage event notifications (SNS, MinIO webhooks) by source and outcome",
                &["source", "outcome"],
            ),
            sns_cert_fetches_total: counter(
                &r,
                "upload_gateway_sns_cert_fetches_total",
                "SNS signing certificate lookups by result",
                &["result"],
            ),
            reconciliations_total: counter(
                &r,
                "upload_gateway_reconciliations_total",
                "Uploads checked against storage by outcome",
                &["trigger", "outcome"],
            ),
            multipart_total: counter(
                &r,
                "upload_gateway_multipart_total",
                "Multipart operations by outcome",
                &["operation", "outcome"],
            ),
            upstream_request_duration_seconds: histogram(
                &r,
                "upload_gateway_upstream_request_duration_seconds",
                "Latency of calls to object storage",
                &["provider", "operation"],
            ),
            upstream_errors_total: counter(
                &r,
                "upload_gateway_upstream_errors_total",
                "Failed calls to object storage by class",
                &["provider", "operation", "class"],
            ),
            sweeper_aborted_total: counter(
                &r,
                "upload_gateway_sweeper_aborted_total",
                "Multipart uploads aborted by the sweeper",
                &["reason"],
            ),
            sweep_duration_seconds: histogram(
                &r,
                "upload_gateway_sweep_duration_seconds",
                "Duration of one sweep",
                &["task"],
            ),
            sweep_errors_total: counter(
                &r,
                "upload_gateway_sweep_errors_total",
                "Errors during sweeps",
                &["task"],
            ),
            webhook_deliveries_total: counter(
                &r,
                "upload_gateway_webhook_deliveries_total",
                "Webhook delivery attempts by endpoint and outcome",
                &["endpoint", "outcome"],
            ),
            webhook_delivery_duration_seconds: histogram(
                &r,
                "upload_gateway_webhook_delivery_duration_seconds",
                "Latency of webhook delivery attempts",
                &["endpoint"],
            ),
            webhook_backlog_events: gauge(
                &r,
                "upload_gateway_webhook_backlog_events",
                "Events not yet delivered to the endpoint (pending plus unread, all shards)",
                &["endpoint"],
            ),
            webhook_dead_letters: gauge(
                &r,
                "upload_gateway_webhook_dead_letters",
                "Events waiting in the endpoint's dead-letter list",
                &["endpoint"],
            ),
            webhook_dead_lettered_total: counter(
                &r,
                "upload_gateway_webhook_dead_lettered_total",
                "Events given up on after the retry period",
                &["endpoint"],
            ),
            pre_upload_hook_total: counter(
                &r,
                "upload_gateway_pre_upload_hook_total",
                "Pre-upload hook calls by profile and outcome",
                &["profile", "outcome"],
            ),
            pre_upload_hook_duration_seconds: histogram(
                &r,
                "upload_gateway_pre_upload_hook_duration_seconds",
                "Latency of pre-upload hook calls",
                &["profile"],
            ),
            quota_refused_total: counter(
                &r,
                "upload_gateway_quota_refused_total",
                "Rights refused because the user's quota had no room, by profile",
                &["profile"],
            ),
            build_info: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "upload_gateway_build_info",
                        "Always 1; the labels say which build is running",
                    ),
                    &["version", "commit"],
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            registry: r,
        };
        m.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), BUILD_COMMIT])
            .set(1);
        // Only Linux has /proc; elsewhere the gateway simply exports no process_* series.
        #[cfg(target_os = "linux")]
        m.registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("unique metric");
        m.zero_error_counters();
        m
    }

    fn zero_error_counters(&self) {
        for op in REDIS_OPERATIONS {
            self.redis_errors_total.with_label_values(&[op]);
        }
        for p in PROVIDERS {
            self.callback_conflicts_total.with_label_values(&[p]);
            for result in CALLBACK_RESULTS {
                self.callbacks_total.with_label_values(&[p, result]);
            }
            for class in STS_CLASSES {
                self.sts_errors_total.with_label_values(&[p, class]);
            }
            for op in UPSTREAM_OPERATIONS {
                for class in UPSTREAM_CLASSES {
                    self.upstream_errors_total
                        .with_label_values(&[p, op, class]);
                }
            }
        }
        for result in ["applied", "duplicate", "refused"] {
            self.journal_replayed_total.with_label_values(&[result]);
        }
        for reason in ["expired", "orphan"] {
            self.sweeper_aborted_total.with_label_values(&[reason]);
        }
        self.sweep_errors_total.with_label_values(&["multipart"]);
        for source in ["s3_sns", "s3_webhook"] {
            for outcome in NOTIFICATION_OUTCOMES {
                self.notifications_total
                    .with_label_values(&[source, outcome]);
            }
        }
        self.sns_cert_fetches_total.with_label_values(&["failed"]);
    }

    pub fn observe_http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http_requests_total
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.http_request_duration_seconds
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// Prometheus text exposition of the gateway's own registry.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
