//! Every call the service makes to storage goes through here: timed and counted by provider
//! and operation, and repeated once where the call is safe to repeat.

use super::Uploads;
use crate::providers::{Provider, UpstreamError};
use std::future::Future;
use std::time::{Duration, Instant};

impl Uploads {
    /// Runs one storage call, timed and counted by provider and operation.
    pub(super) async fn upstream<T>(
        &self,
        provider: &dyn Provider,
        operation: &'static str,
        call: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        let started = Instant::now();
        let result = call.await;
        let took = started.elapsed();
        crate::upstream_wait::add(took);
        let m = &self.metrics;
        m.upstream_request_duration_seconds
            .with_label_values(&[provider.kind(), operation])
            .observe(took.as_secs_f64());
        if let Err(e) = &result {
            m.upstream_errors_total
                .with_label_values(&[provider.kind(), operation, e.class()])
                .inc();
        }
        result
    }

    /// As [`Uploads::upstream`], once more after a transient failure: only for calls that
    /// are safe to repeat (ListParts, AbortMultipartUpload, ListMultipartUploads).
    pub(super) async fn upstream_idempotent<T, F, Fut>(
        &self,
        provider: &dyn Provider,
        operation: &'static str,
        mut call: F,
    ) -> Result<T, UpstreamError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        match self.upstream(provider, operation, call()).await {
            Err(e) if e.is_transient() => {
                // The pause is spent on storage's account too: it is no work of the gateway's.
                crate::upstream_wait::timed(tokio::time::sleep(Duration::from_millis(200))).await;
                self.upstream(provider, operation, call()).await
            }
            other => other,
        }
    }
}
