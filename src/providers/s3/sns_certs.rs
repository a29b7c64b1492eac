//! SNS signing certificates, fetched only for a [`ValidatedCertUrl`] (so a URL off the
//! allow-list cannot reach the network by construction): https only, no redirects, a
//! timeout, a size cap, a TTL cache with one fetch in flight per URL, at most
//! [`MAX_CONCURRENT_FETCHES`] at once and [`MAX_FETCHES_PER_WINDOW`] per [`FETCH_WINDOW`],
//! and a URL that answered wrongly is not asked again for a while. Unsigned messages naming
//! fresh certificate names therefore cannot become a flood of requests to SNS.

use super::sns::SigningCert;
use super::sns_cert_url::ValidatedCertUrl;
use crate::config::SnsSettings;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const MAX_CONCURRENT_FETCHES: usize = 4;
pub const MAX_FETCHES_PER_WINDOW: u32 = 10;
pub const FETCH_WINDOW: Duration = Duration::from_secs(10);
const FAILURE_TTL: Duration = Duration::from_secs(30);

/// Why no certificate: the detail is for the log (it may name the host), never the answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CertFetchError {
    #[error("too many certificate fetches; not fetched")]
    Throttled,
    #[error("certificate fetch failed: {0}")]
    Failed(String),
}

pub struct SnsCerts {
    http: reqwest::Client,
    cache: moka::future::Cache<String, Arc<SigningCert>>,
    failed: moka::future::Cache<String, String>,
    in_flight: tokio::sync::Semaphore,
    budget: Mutex<(Instant, u32)>,
    max_bytes: usize,
}

/// The client for every call the gateway makes to SNS (certificates, ConfirmSubscription):
/// https only, never following a redirect, with the configured roots and address overrides.
pub fn sns_client(s: &SnsSettings) -> Result<reqwest::Client, String> {
    let mut b = crate::http_client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(s.fetch_timeout)
        .connect_timeout(s.fetch_timeout);
    if let Some(pem) = &s.ca_pem {
        let roots = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("callbacks.s3_sns.ca_file: {e}"))?;
        b = b.tls_certs_only(roots);
    }
    for (host, addr) in &s.resolve {
        b = b.resolve(host, *addr);
    }
    b.build().map_err(|e| format!("sns client: {e}"))
}

impl SnsCerts {
    pub fn new(s: &SnsSettings, http: reqwest::Client) -> SnsCerts {
        SnsCerts {
            http,
            cache: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(s.cert_cache_ttl)
                .build(),
            failed: moka::future::Cache::builder()
                .max_capacity(1024)
                .time_to_live(FAILURE_TTL)
                .build(),
            in_flight: tokio::sync::Semaphore::new(MAX_CONCURRENT_FETCHES),
            budget: Mutex::new((Instant::now(), 0)),
            max_bytes: s.cert_max_bytes,
        }
    }

    /// The certificate at `url`, from the cache or fetched; `fetched` says which.
    pub async fn get(
        &self,
        url: &ValidatedCertUrl,
    ) -> Result<(Arc<SigningCert>, bool), CertFetchError> {
        let key = url.as_str().to_string();
        if let Some(c) = self.cache.get(&key).await {
            return Ok((c, false));
        }
        if let Some(e) = self.failed.get(&key).await {
            return Err(CertFetchError::Failed(e));
        }
        let got = self
            .cache
            .try_get_with(key.clone(), self.bounded_fetch(url))
            .await;
        match got {
            Ok(c) => Ok((c, true)),
            Err(e) => {
                if let CertFetchError::Failed(detail) = e.as_ref() {
                    self.failed.insert(key, detail.clone()).await;
                }
                Err(e.as_ref().clone())
            }
        }
    }

    fn take_budget(&self) -> bool {
        let mut b = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(b.0) >= FETCH_WINDOW {
            *b = (now, 0);
        }
        b.1 += 1;
        b.1 <= MAX_FETCHES_PER_WINDOW
    }

    async fn bounded_fetch(
        &self,
        url: &ValidatedCertUrl,
    ) -> Result<Arc<SigningCert>, CertFetchError> {
        let _slot = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| CertFetchError::Throttled)?;
        if !self.take_budget() {
            return Err(CertFetchError::Throttled);
        }
        let pem = self.fetch(url).await.map_err(CertFetchError::Failed)?;
        SigningCert::from_pem(&pem)
            .map(Arc::new)
            .map_err(|e| CertFetchError::Failed(e.to_string()))
    }

    async fn fetch(&self, url: &ValidatedCertUrl) -> Result<Vec<u8>, String> {
        let mut resp = self
            .http
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| format!("request: {}", e.without_url()))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(format!("answered HTTP {}", resp.status().as_u16()));
        }
        let too_large = || format!("certificate larger than {} bytes", self.max_bytes);
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("body: {}", e.without_url()))?
        {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
