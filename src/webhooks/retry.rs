//! When to try a failing delivery again, and when to stop: exponential backoff with jitter,
//! for `retry_period` counted from the moment the event was appended (so a replica that
//! takes an entry over keeps the original deadline rather than starting a new one).

use crate::config::WebhookSettings;
use std::time::Duration;

/// The wait before attempt `failures + 1`: `initial × 2^(failures-1)`, capped at
/// `max_backoff`, of which a random half is dropped (spreads the retries of many events that
/// failed together, so a recovering backend is not hit by all of them at once).
pub fn backoff(s: &WebhookSettings, failures: u32, random: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let full = s
        .initial_backoff
        .saturating_mul(1u32 << exp)
        .min(s.max_backoff);
    full.div_f64(2.0) + full.div_f64(2.0).mul_f64(random.clamp(0.0, 1.0))
}

/// `None`: the retry period is over, give up. Otherwise the wait before the next attempt,
/// never past the end of the period (the last attempt is made at the deadline).
pub fn next_wait(
    s: &WebhookSettings,
    failures: u32,
    appended_ms: u64,
    now_ms: u64,
    random: f64,
) -> Option<Duration> {
    let deadline = appended_ms.saturating_add(s.retry_period.as_millis() as u64);
    if now_ms >= deadline {
        return None;
    }
    Some(backoff(s, failures, random).min(Duration::from_millis(deadline - now_ms)))
}

/// A uniform number in [0, 1) from the OS's random source.
pub fn random() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;

    fn settings() -> Settings {
        Settings::from_toml(&format!(
            "{MINIMAL}\n[webhooks]\ninitial_backoff_ms = 1000\nmax_backoff_ms = 60000\nretry_period_secs = 3600\n"
        ))
        .unwrap()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_up_to_half_jitter() {
        let s = settings();
        let w = &s.webhooks;
        assert_eq!(backoff(w, 1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(w, 1, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(w, 4, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(w, 30, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(w, u32::MAX, 0.0), Duration::from_secs(30));
        for _ in 0..1000 {
            let r = random();
            assert!((0.0..1.0).contains(&r));
        }
    }

    #[test]
    fn retries_stop_at_the_end_of_the_period_counted_from_the_event() {
        let s = settings();
        let w = &s.webhooks;
        let appended = 1_000_000;
        assert_eq!(
            next_wait(w, 1, appended, appended, 1.0),
            Some(Duration::from_secs(1))
        );
        // Near the deadline the wait shrinks to reach it exactly, then retries stop.
        let late = appended + 3_600_000 - 200;
        assert_eq!(
            next_wait(w, 20, appended, late, 1.0),
            Some(Duration::from_millis(200))
        );
        assert_eq!(next_wait(w, 1, appended, appended + 3_600_000, 0.5), None);
    }
}
