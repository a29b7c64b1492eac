//! Public keys that callbacks are verified with: pinned ones first (OSS's current key ships in
//! the binary), then keys fetched from allow-listed URLs only, with a timeout, a size cap, no
//! redirects, a TTL cache and one fetch in flight per URL. Fetches are bounded globally too
//! (at most [`MAX_CONCURRENT_FETCHES`] at once and [`MAX_FETCHES_PER_WINDOW`] per
//! [`FETCH_WINDOW`]); a host that cannot be reached (connect error) is not tried
//! again for a while whatever the URL, and a URL that answered wrongly is not fetched again
//! for a while, so unauthenticated callbacks naming many URLs cannot become many requests.
//! Where the operator knows the key URLs in advance (`callbacks.exact_key_urls`), no other
//! URL is ever fetched, whatever the prefixes allow.

use super::key_url::{self, KeyUrlError};
use super::signature::{self, VerifyingKey};
use crate::config::CallbackSettings;
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_CONCURRENT_FETCHES: usize = 4;
pub const MAX_FETCHES_PER_WINDOW: u32 = 10;
pub const FETCH_WINDOW: Duration = Duration::from_secs(10);
/// How long a host that failed a fetch is not asked again.
const HOST_FAILURE_TTL: Duration = Duration::from_secs(30);

/// A fixed-window count of fetches started.
struct FetchBudget {
    window_start: Instant,
    used: u32,
}

impl FetchBudget {
    fn take(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= FETCH_WINDOW {
            self.window_start = now;
            self.used = 0;
        }
        if self.used < MAX_FETCHES_PER_WINDOW {
            self.used += 1;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Url(#[from] KeyUrlError),
    /// Detail for the log only: it may name the URL's host and the failure.
    #[error("public key fetch failed: {0}")]
    Fetch(String),
}

enum FetchFailure {
    /// Over the global bound: nothing was fetched, the host is not blamed.
    Throttled,
    /// No connection: the host is not tried again for a while.
    Unreachable(String),
    /// The host answered (or stalled), but not with a usable key: this URL is not tried
    /// again for a while.
    Answered(String),
}

pub struct PublicKeys {
    prefixes: key_url::KeyUrlPrefixes,
    /// When not empty, the only URLs that may be fetched.
    exact: Vec<String>,
    /// Keys from config; OSS's own key is looked up in [`signature::pinned_oss_key_pem`].
    pinned: HashMap<String, Arc<VerifyingKey>>,
    oss_v1: Arc<VerifyingKey>,
    fetched: moka::future::Cache<String, Arc<VerifyingKey>>,
    /// Hosts that could not be reached recently and URLs that answered wrongly, so that a
    /// flood of callbacks naming dead URLs does not become a flood of fetches.
    failed_hosts: moka::future::Cache<String, String>,
    failed_urls: moka::future::Cache<String, String>,
    in_flight: tokio::sync::Semaphore,
    budget: Mutex<FetchBudget>,
    http: reqwest::Client,
    max_bytes: usize,
    metrics: Arc<Metrics>,
}

impl PublicKeys {
    pub fn new(settings: &CallbackSettings, metrics: Arc<Metrics>) -> Result<Self, String> {
        let mut pinned = HashMap::new();
        let oss_v1 = Arc::new(
            signature::parse_public_key(signature::OSS_PUB_KEY_V1_PEM)
                .map_err(|e| e.to_string())?,
        );
        for k in &settings.pinned_keys {
            let key = signature::parse_public_key(&k.pem)
                .map_err(|e| format!("callbacks.pinned_keys ({}): {e}", k.url))?;
            pinned.insert(k.url.clone(), Arc::new(key));
        }
        let prefixes = key_url::KeyUrlPrefixes::new(&settings.key_url_prefixes);
        for u in &settings.exact_key_urls {
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, u);
            key_url::allowed_key_url(&b64, &prefixes).map_err(|_| {
                format!("callbacks.exact_key_urls: '{u}' is not a key URL a callback may name")
            })?;
        }
        let http = crate::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.key_fetch_timeout)
            .connect_timeout(settings.key_fetch_timeout)
            .build()
            .map_err(|e| format!("key fetch client: {e}"))?;
        Ok(PublicKeys {
            prefixes,
            exact: settings.exact_key_urls.clone(),
            pinned,
            oss_v1,
            fetched: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(settings.key_cache_ttl)
                .build(),
            failed_hosts: moka::future::Cache::builder()
                .max_capacity(256)
                .time_to_live(HOST_FAILURE_TTL)
                .build(),
            failed_urls: moka::future::Cache::builder()
                .max_capacity(1024)
                .time_to_live(HOST_FAILURE_TTL)
                .build(),
            in_flight: tokio::sync::Semaphore::new(MAX_CONCURRENT_FETCHES),
            budget: Mutex::new(FetchBudget {
                window_start: Instant::now(),
                used: 0,
            }),
            http,
            max_bytes: settings.key_max_bytes,
            metrics,
        })
    }

    /// The key named by an `x-oss-pub-key-url` header (base64). The URL is checked against the
    /// allow-list before anything else, pinned keys included.
    pub async fn get(&self, header_b64: &str) -> Result<Arc<VerifyingKey>, KeyError> {
        let url = key_url::allowed_key_url(header_b64, &self.prefixes)?;
        if let Some(k) = self.pinned.get(&url) {
            return Ok(k.clone());
        }
        if signature::pinned_oss_key_pem(&url).is_some() {
            return Ok(self.oss_v1.clone());
        }
        if !self.exact.is_empty() && !self.exact.contains(&url) {
            self.count("not_listed");
            return Err(KeyUrlError::NotAllowed.into());
        }
        if let Some(k) = self.fetched.get(&url).await {
            self.count("cache_hit");
            return Ok(k);
        }
        let host = url::Url::parse(&url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let failed = match self.failed_hosts.get(&host).await {
            Some(e) => Some(e),
            None => self.failed_urls.get(&url).await,
        };
        if let Some(e) = failed {
            self.count("recently_failed");
            return Err(KeyError::Fetch(e));
        }
        // One fetch per URL at a time; concurrent callers wait for its result.
        let got = crate::upstream_wait::timed(
            self.fetched
                .try_get_with(url.clone(), self.bounded_fetch(&url)),
        )
        .await;
        match got {
            Ok(k) => {
                self.count("fetched");
                Ok(k)
            }
            Err(e) => match e.as_ref() {
                FetchFailure::Throttled => {
                    self.count("throttled");
                    Err(KeyError::Fetch("too many key fetches; not fetched".into()))
                }
                FetchFailure::Unreachable(detail) => {
                    self.count("failed");
                    self.failed_hosts.insert(host, detail.clone()).await;
                    Err(KeyError::Fetch(detail.clone()))
                }
                FetchFailure::Answered(detail) => {
                    self.count("failed");
                    self.failed_urls.insert(url, detail.clone()).await;
                    Err(KeyError::Fetch(detail.clone()))
                }
            },
        }
    }

    /// One fetch within the global bounds: a concurrency slot (waited for, up to the fetch
    /// timeout) and the per-window budget (refused when spent).
    async fn bounded_fetch(&self, url: &str) -> Result<Arc<VerifyingKey>, FetchFailure> {
        let _slot = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| FetchFailure::Throttled)?;
        let allowed = self
            .budget
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(Instant::now());
        if !allowed {
            return Err(FetchFailure::Throttled);
        }
        self.fetch(url).await.map(Arc::new)
    }

    fn count(&self, result: &str) {
        self.metrics
            .public_key_fetches_total
            .with_label_values(&[result])
            .inc();
    }

    async fn fetch(&self, url: &str) -> Result<VerifyingKey, FetchFailure> {
        let mut resp = self.http.get(url).send().await.map_err(|e| {
            let connect = e.is_connect();
            let detail = format!("request: {}", e.without_url());
            if connect {
                FetchFailure::Unreachable(detail)
            } else {
                FetchFailure::Answered(detail)
            }
        })?;
        self.read_key(&mut resp)
            .await
            .map_err(FetchFailure::Answered)
    }

    async fn read_key(&self, resp: &mut reqwest::Response) -> Result<VerifyingKey, String> {
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("answered HTTP {}", resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(format!("key larger than {} bytes", self.max_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("body: {}", e.without_url()))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(format!("key larger than {} bytes", self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let pem = String::from_utf8(body).map_err(|_| "key is not text".to_string())?;
        signature::parse_public_key(&pem).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fetch_budget_allows_a_bounded_number_per_window() {
        let start = Instant::now();
        let mut b = FetchBudget {
            window_start: start,
            used: 0,
        };
        let allowed = (0..300).filter(|_| b.take(start)).count();
        assert_eq!(allowed, MAX_FETCHES_PER_WINDOW as usize);
        assert!(b.take(start + FETCH_WINDOW));
    }
}
