//! How long the request being served has waited on services outside the gateway (storage,
//! STS, the app's pre-upload hook), so its own share of the latency (auth, planning, signing,
//! Redis, the answer) can be told apart: `upload_gateway_http_own_duration_seconds`.
//!
//! The count lives in a task-local set around each request's future, so the places that time
//! those calls can add to it without threading a handle through every service call. Calls
//! made outside a request (background jobs, tasks spawned off it) find no scope and are not
//! counted.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

tokio::task_local! {
    static WAITED_NANOS: Arc<AtomicU64>;
}

/// Runs `fut` with a fresh count; returns its output and the time counted.
pub async fn measured<F: Future>(fut: F) -> (F::Output, Duration) {
    let waited = Arc::new(AtomicU64::new(0));
    let out = WAITED_NANOS.scope(waited.clone(), fut).await;
    (out, Duration::from_nanos(waited.load(Ordering::Relaxed)))
}

/// Adds one outside call's duration to the current request's count, if there is one.
pub fn add(d: Duration) {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let _ = WAITED_NANOS.try_with(|w| w.fetch_add(nanos, Ordering::Relaxed));
}

/// The request's own time: all of it but the outside waits. Calls run concurrently can sum
/// to more than the request took; the own time is then zero, not negative.
pub fn own_time(total: Duration, waited: Duration) -> Duration {
    total.saturating_sub(waited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_inside_a_request_are_counted_and_outside_ones_are_not() {
        add(Duration::from_millis(5)); // no request: ignored
        let ((), waited) = measured(async {
            add(Duration::from_millis(2));
            tokio::task::yield_now().await;
            add(Duration::from_micros(300));
        })
        .await;
        assert_eq!(waited, Duration::from_micros(2300));
        let ((), none) = measured(async {}).await;
        assert_eq!(none, Duration::ZERO);
    }

    #[tokio::test]
    async fn nested_requests_keep_their_own_counts() {
        let (inner, outer) = measured(async {
            add(Duration::from_millis(1));
            measured(async { add(Duration::from_millis(7)) }).await.1
        })
        .await;
        assert_eq!(inner, Duration::from_millis(7));
        assert_eq!(outer, Duration::from_millis(1));
    }

    #[test]
    fn own_time_never_goes_below_zero() {
        let ms = Duration::from_millis;
        assert_eq!(own_time(ms(10), ms(4)), ms(6));
        assert_eq!(own_time(ms(3), ms(4)), Duration::ZERO);
    }
}
