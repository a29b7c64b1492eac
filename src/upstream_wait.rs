//! How long the request being served has waited on services outside the gateway (storage,
//! STS, the app's pre-upload hook, callback key fetches), so its own share of the latency
//! (auth, planning, signing, Redis, the answer) can be told apart:
//! `upload_gateway_http_own_duration_seconds`.
//!
//! The count lives in a task-local set around each request's future, so the places that make
//! those calls can add to it without threading a handle through every service call. Calls
//! made outside a request (background jobs, tasks spawned off it) find no scope and are not
//! counted. A wait is timed around the call's future, so under load it also holds the time
//! the worker takes to pick the request up again once the answer is in: the own time is exact
//! at low concurrency and a lower bound when the gateway is busy.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

tokio::task_local! {
    static WAITED_NANOS: Cell<u64>;
}

/// Runs `fut` with a fresh count; returns its output and the time counted.
pub async fn measured<F: Future>(fut: F) -> (F::Output, Duration) {
    let mut scoped = pin!(WAITED_NANOS.scope(Cell::new(0), fut));
    let out = (&mut scoped).await;
    let waited = scoped.as_mut().take_value().map_or(0, |c| c.get());
    (out, Duration::from_nanos(waited))
}

/// Adds one outside call's duration to the current request's count, if there is one.
pub fn add(d: Duration) {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let _ = WAITED_NANOS.try_with(|w| w.set(w.get().saturating_add(nanos)));
}

/// Awaits `fut`, an outside call (or a pause between attempts at one), counting its time.
pub async fn timed<F: Future>(fut: F) -> F::Output {
    let started = Instant::now();
    let out = fut.await;
    add(started.elapsed());
    out
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

    #[tokio::test]
    async fn a_timed_call_counts_how_long_it_took() {
        let (v, waited) = measured(timed(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            7
        }))
        .await;
        assert_eq!(v, 7);
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
    }

    #[test]
    fn own_time_never_goes_below_zero() {
        let ms = Duration::from_millis;
        assert_eq!(own_time(ms(10), ms(4)), ms(6));
        assert_eq!(own_time(ms(3), ms(4)), Duration::ZERO);
    }
}
