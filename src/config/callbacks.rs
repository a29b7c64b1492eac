//! `[callbacks]`: where storage calls the gateway back, which signing keys it trusts, and
//! what the answer to storage may carry.

use super::values::{ms, parse_http_url};
use super::{ConfigError, notifications, raw};
use std::time::Duration;
use url::Url;

/// Record fields a deployment may add to the callback answer (`callbacks.response_fields`).
pub const RESPONSE_FIELDS: &[&str] = &[
    "profile",
    "kind",
    "bucket",
    "crc64",
    "content_md5",
    "image_info",
    "vars",
    "grant_id",
    "completed_at",
    "created_at",
];

/// Where OSS publishes the keys it signs callbacks with (`callbacks.key_url_prefixes`).
pub const DEFAULT_KEY_URL_PREFIXES: [&str; 2] = [
    "http://gosspublic.alicdn.com/",
    "https://gosspublic.alicdn.com/",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RSA public key in PEM form: {0}")]
pub struct KeyParseError(pub(crate) String);

/// Accepts `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo, what OSS serves) and
/// `BEGIN RSA PUBLIC KEY` (PKCS#1). 512-bit keys are accepted: OSS's current key is one.
pub fn parse_public_key(pem: &str) -> Result<rsa::RsaPublicKey, KeyParseError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let pem = pem.trim();
    rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| KeyParseError(e.to_string()))
}

pub struct PinnedKey {
    pub url: String,
    pub pem: String,
}

pub struct CallbackSettings {
    pub path: String,
    /// The URL OSS calls (`callbackUrl`).
    pub url: Url,
    pub callback_host: Option<String>,
    pub callback_sni: bool,
    pub key_url_prefixes: Vec<String>,
    /// When not empty, the only URLs ever fetched (each also under a prefix above).
    pub exact_key_urls: Vec<String>,
    pub pinned_keys: Vec<PinnedKey>,
    pub key_fetch_timeout: Duration,
    pub key_max_bytes: usize,
    pub key_cache_ttl: Duration,
    pub max_body_bytes: usize,
    pub journal_dir: std::path::PathBuf,
    pub redis_timeout: Duration,
    pub replay_interval: Duration,
    pub response_fields: Vec<String>,
    pub reconcile_interval: Duration,
    pub s3_sns: Option<super::notifications::SnsSettings>,
    pub s3_webhook: Option<super::notifications::WebhookTokenSettings>,
}

/// `public_url` is the server's: the callback URL defaults to a path under it.
pub(super) fn validate(
    c: raw::CallbacksSection,
    public_url: &Url,
    world_readable_ok: bool,
) -> Result<CallbackSettings, ConfigError> {
    if !c.path.starts_with('/') {
        return Err(ConfigError::new("callbacks.path", "must start with '/'"));
    }
    let callback_url = match &c.public_url {
        Some(u) => parse_http_url("callbacks.public_url", u)?,
        None => public_url
            .join(c.path.trim_start_matches('/'))
            .map_err(|e| ConfigError::new("callbacks.path", e.to_string()))?,
    };
    for p in &c.key_url_prefixes {
        let u = parse_http_url("callbacks.key_url_prefixes", p)?;
        if !p.ends_with('/') || u.path() == "" {
            return Err(ConfigError::new(
                "callbacks.key_url_prefixes",
                format!("'{p}' must end with '/' so that it pins a host"),
            ));
        }
    }
    for u in &c.exact_key_urls {
        let parsed = parse_http_url("callbacks.exact_key_urls", u)?;
        let normal = parsed.as_str() == u
            && parsed.query().is_none()
            && parsed.fragment().is_none()
            && parsed.username().is_empty()
            && parsed.password().is_none();
        if !normal {
            return Err(ConfigError::new(
                "callbacks.exact_key_urls",
                format!(
                    "'{u}' must be a URL in its normal form, without query, fragment or user info (as a callback names it)"
                ),
            ));
        }
        if !c.key_url_prefixes.iter().any(|p| u.starts_with(p.as_str())) {
            return Err(ConfigError::new(
                "callbacks.exact_key_urls",
                format!("'{u}' is under none of callbacks.key_url_prefixes"),
            ));
        }
    }
    let mut pinned_keys = Vec::new();
    for (i, k) in c.pinned_keys.into_iter().enumerate() {
        let key = format!("callbacks.pinned_keys[{i}]");
        let pem = match (k.pem, k.pem_file) {
            (Some(p), None) => p,
            (None, Some(f)) => std::fs::read_to_string(&f).map_err(|e| {
                ConfigError::new(
                    &format!("{key}.pem_file"),
                    format!("cannot read {}: {e}", f.display()),
                )
            })?,
            _ => return Err(ConfigError::new(&key, "set exactly one of pem or pem_file")),
        };
        parse_public_key(&pem).map_err(|e| ConfigError::new(&key, e.to_string()))?;
        pinned_keys.push(PinnedKey { url: k.url, pem });
    }
    for f in &c.response_fields {
        if !RESPONSE_FIELDS.contains(&f.as_str()) {
            return Err(ConfigError::new(
                "callbacks.response_fields",
                format!("'{f}' is not one of: {}", RESPONSE_FIELDS.join(", ")),
            ));
        }
    }
    Ok(CallbackSettings {
        path: c.path,
        url: callback_url,
        callback_host: c.callback_host,
        callback_sni: c.callback_sni,
        key_url_prefixes: c.key_url_prefixes,
        exact_key_urls: c.exact_key_urls,
        pinned_keys,
        key_fetch_timeout: ms("callbacks.key_fetch_timeout_ms", c.key_fetch_timeout_ms)?,
        key_max_bytes: c.key_max_bytes.max(256),
        key_cache_ttl: Duration::from_secs(c.key_cache_ttl_secs),
        max_body_bytes: c.max_body_bytes.max(1024),
        journal_dir: c.journal_dir,
        redis_timeout: ms("callbacks.redis_timeout_ms", c.redis_timeout_ms)?,
        replay_interval: ms("callbacks.replay_interval_ms", c.replay_interval_ms)?,
        response_fields: c.response_fields,
        reconcile_interval: Duration::from_secs(c.reconcile_interval_secs.max(1)),
        s3_sns: c.s3_sns.map(notifications::validate_sns).transpose()?,
        s3_webhook: c
            .s3_webhook
            .map(|w| notifications::validate_webhook(w, world_readable_ok))
            .transpose()?,
    })
}
