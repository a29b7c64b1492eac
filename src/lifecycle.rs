//! What the running gateway does around serving: a start-up check of Redis's eviction policy,
//! and on shutdown, draining the callback journal into Redis, because a replica that is
//! scaled away may never start on its volume again.

use crate::config::{RedisSettings, Settings};
use crate::state::AppState;
use crate::store::StoreConn;
use std::collections::HashMap;
use std::time::Duration;

/// How long shutdown may spend replaying the journal, on top of `server.shutdown_timeout_secs`
/// (the orchestrator's grace period must cover both; the Kubernetes manifests allow 45 s).
pub const SHUTDOWN_REPLAY_BUDGET: Duration = Duration::from_secs(10);

/// Redis's `maxmemory-policy`, or why it cannot be read (managed Redis often refuses CONFIG).
pub async fn redis_eviction_policy(redis: &RedisSettings) -> Result<String, String> {
    let query = async {
        let mut conn = StoreConn::new(redis)
            .map_err(|e| e.to_string())?
            .get()
            .await
            .map_err(|e| e.to_string())?;
        let reply: HashMap<String, String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("maxmemory-policy")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        reply
            .get("maxmemory-policy")
            .cloned()
            .ok_or_else(|| "CONFIG GET answered without maxmemory-policy".to_string())
    };
    tokio::time::timeout(redis.connect_timeout + redis.command_timeout, query)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// Logs a warning when Redis may evict keys: an evicted record or ticket is an upload the
/// gateway forgets, silently.
pub async fn warn_if_redis_evicts(settings: std::sync::Arc<Settings>) {
    match redis_eviction_policy(&settings.redis).await {
        Ok(p) if p == "noeviction" => {}
        Ok(policy) => tracing::warn!(
            %policy,
            "Redis maxmemory-policy evicts keys under memory pressure, which loses upload \
             records; set maxmemory-policy noeviction"
        ),
        Err(error) => tracing::info!(
            %error,
            "could not read Redis maxmemory-policy; make sure it is noeviction"
        ),
    }
}

/// Replays what the journal still holds into Redis, if Redis answers, within
/// [`SHUTDOWN_REPLAY_BUDGET`]. What is left stays on disk for the next start or for
/// `upload-gateway journal replay`.
pub async fn drain_journal(state: &AppState) {
    let journal = state.callbacks.journal();
    let depth = journal.depth();
    if depth == 0 {
        return;
    }
    let attempt = with_retries(|| async {
        state.store.ping().await.map_err(|e| e.to_string())?;
        state.callbacks.replay(&state.store).await
    });
    match tokio::time::timeout(SHUTDOWN_REPLAY_BUDGET, attempt).await {
        Ok(Ok(n)) => tracing::info!(entries = n, "journal replayed into Redis on shutdown"),
        Ok(Err(error)) => tracing::warn!(
            %error,
            left = journal.depth(),
            "journal not replayed on shutdown; it stays in callbacks.journal_dir"
        ),
        Err(_) => tracing::warn!(
            left = journal.depth(),
            "journal replay on shutdown ran out of time; the rest stays in callbacks.journal_dir"
        ),
    }
}

/// A connection that broke while Redis was away fails once more before it reconnects; a
/// second replay is harmless (applied entries come back as duplicates).
async fn with_retries<F, Fut>(mut attempt: F) -> Result<usize, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, String>>,
{
    let mut last = String::new();
    for _ in 0..3 {
        match attempt().await {
            Ok(n) => return Ok(n),
            Err(e) => {
                tracing::debug!(error = %e, "journal replay on shutdown failed; retrying");
                last = e
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(last)
}
