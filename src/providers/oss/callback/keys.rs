//! Public keys that callbacks are verified with: pinned ones first (OSS's current key ships in
//! the binary), then keys fetched from allow-listed URLs only, with a timeout, a size cap, no
//! redirects, a TTL cache and one fetch in flight per URL.

use super::signature::{self, KeyUrlError, VerifyingKey};
use crate::config::CallbackSettings;
use crate::metrics::Metrics;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Url(#[from] KeyUrlError),
    /// Detail for the log only: it may name the URL's host and the failure.
    #[error("public key fetch failed: {0}")]
    Fetch(String),
}

pub struct PublicKeys {
    prefixes: Vec<String>,
    /// Keys from config; OSS's own key is looked up in [`signature::pinned_oss_key_pem`].
    pinned: HashMap<String, Arc<VerifyingKey>>,
    oss_v1: Arc<VerifyingKey>,
    fetched: moka::future::Cache<String, Arc<VerifyingKey>>,
    /// Recent failures, so that a flood of callbacks naming a dead URL does not become a
    /// flood of fetches.
    failed: moka::future::Cache<String, String>,
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
        let http = crate::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.key_fetch_timeout)
            .connect_timeout(settings.key_fetch_timeout)
            .build()
            .map_err(|e| format!("key fetch client: {e}"))?;
        Ok(PublicKeys {
            prefixes: settings.key_url_prefixes.clone(),
            pinned,
            oss_v1,
            fetched: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(settings.key_cache_ttl)
                .build(),
            failed: moka::future::Cache::builder()
                .max_capacity(256)
                .time_to_live(Duration::from_secs(10))
                .build(),
            http,
            max_bytes: settings.key_max_bytes,
            metrics,
        })
    }

    /// The key named by an `x-oss-pub-key-url` header (base64). The URL is checked against the
    /// allow-list before anything else, pinned keys included.
    pub async fn get(&self, header_b64: &str) -> Result<Arc<VerifyingKey>, KeyError> {
        let url = signature::allowed_key_url(header_b64, &self.prefixes)?;
        if let Some(k) = self.pinned.get(&url) {
            return Ok(k.clone());
        }
        if signature::pinned_oss_key_pem(&url).is_some() {
            return Ok(self.oss_v1.clone());
        }
        if let Some(k) = self.fetched.get(&url).await {
            self.count("cache_hit");
            return Ok(k);
        }
        if let Some(e) = self.failed.get(&url).await {
            self.count("recently_failed");
            return Err(KeyError::Fetch(e));
        }
        // One fetch per URL at a time; concurrent callers wait for its result.
        let got = self
            .fetched
            .try_get_with(url.clone(), async {
                let key = self.fetch(&url).await?;
                Ok::<_, String>(Arc::new(key))
            })
            .await;
        match got {
            Ok(k) => {
                self.count("fetched");
                Ok(k)
            }
            Err(e) => {
                self.count("failed");
                self.failed.insert(url, e.to_string()).await;
                Err(KeyError::Fetch(e.to_string()))
            }
        }
    }

    fn count(&self, result: &str) {
        self.metrics
            .public_key_fetches_total
            .with_label_values(&[result])
            .inc();
    }

    async fn fetch(&self, url: &str) -> Result<VerifyingKey, String> {
        let mut resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("request: {}", e.without_url()))?;
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
