//! `[webhooks]`: which endpoints get the upload events, signed how, retried for how long.
//!
//! The endpoint list is the allow-list: the gateway only ever calls these URLs, so each is
//! checked here, once, and nothing a request carries can add one.

use super::values::{check_name, ms, parse_http_url};
use super::{ConfigError, raw, secret};
use base64::Engine;
use secrecy::{ExposeSecret, SecretSlice};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// The event types a webhook can subscribe to (every type the streams carry).
pub const EVENT_TYPES: &[&str] = &[
    "upload.completed",
    "upload.failed",
    "upload.expired",
    "upload.aborted",
];

const SECRET_PREFIX: &str = "whsec_";

pub struct WebhookSettings {
    pub endpoints: Vec<Arc<WebhookEndpoint>>,
    pub start: WebhookStart,
    /// How long after the event a failing delivery is still retried.
    pub retry_period: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_response_bytes: usize,
    /// Requests in flight at once per endpoint and replica.
    pub max_concurrency: usize,
    pub poll_interval: Duration,
    /// How long an entry may sit untouched in a consumer's hands before another replica
    /// takes it over.
    pub claim_idle: Duration,
}

/// Where a new endpoint's consumer groups start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookStart {
    Oldest,
    New,
}

pub struct WebhookEndpoint {
    pub name: String,
    pub url: Url,
    /// Every one signs each request (several during a rotation); never empty.
    pub secrets: Vec<WebhookSecret>,
    /// Empty: every type.
    pub events: Vec<String>,
}

impl WebhookEndpoint {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event_type)
    }
}

/// The key bytes of a `whsec_` secret; Debug never shows them.
pub struct WebhookSecret(SecretSlice<u8>);

impl WebhookSecret {
    /// `whsec_` followed by base64 (padded or not) of 24 to 64 bytes, as the Standard
    /// Webhooks libraries accept.
    pub fn parse(text: &str) -> Result<WebhookSecret, &'static str> {
        let b64 = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or("must start with whsec_")?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(b64.trim_end_matches('='))
            .map_err(|_| "is not whsec_ followed by base64")?;
        if !(24..=64).contains(&bytes.len()) {
            return Err("must hold 24 to 64 bytes of key (whsec_ + base64 of them)");
        }
        Ok(WebhookSecret(SecretSlice::from(bytes)))
    }

    pub fn key(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

impl Default for raw::WebhooksSection {
    fn default() -> Self {
        raw::WebhooksSection {
            start_at: "new".into(),
            retry_period_secs: 24 * 3600,
            initial_backoff_ms: 5_000,
            max_backoff_ms: 3_600_000,
            timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            max_response_bytes: 64 * 1024,
            max_concurrency: 16,
            poll_interval_ms: 500,
            claim_idle_ms: 60_000,
            endpoints: vec![],
        }
    }
}

pub(super) fn validate(
    w: raw::WebhooksSection,
    world: bool,
) -> Result<WebhookSettings, ConfigError> {
    let start = match w.start_at.as_str() {
        "new" => WebhookStart::New,
        "oldest" => WebhookStart::Oldest,
        _ => {
            return Err(ConfigError::new(
                "webhooks.start_at",
                "must be \"new\" or \"oldest\"",
            ));
        }
    };
    if w.retry_period_secs == 0 {
        return Err(ConfigError::new(
            "webhooks.retry_period_secs",
            "must be > 0",
        ));
    }
    if w.max_backoff_ms < w.initial_backoff_ms {
        return Err(ConfigError::new(
            "webhooks.max_backoff_ms",
            "must be at least webhooks.initial_backoff_ms",
        ));
    }
    if w.max_response_bytes == 0 {
        return Err(ConfigError::new(
            "webhooks.max_response_bytes",
            "must be > 0",
        ));
    }
    if !(1..=1024).contains(&w.max_concurrency) {
        return Err(ConfigError::new(
            "webhooks.max_concurrency",
            "must be 1 to 1024",
        ));
    }
    // Below that, a busy replica's own entries would look stuck between two touches.
    if w.claim_idle_ms < 500 || w.claim_idle_ms < 3 * w.poll_interval_ms {
        return Err(ConfigError::new(
            "webhooks.claim_idle_ms",
            "must be at least 500 and at least 3 × webhooks.poll_interval_ms",
        ));
    }
    let mut endpoints: Vec<Arc<WebhookEndpoint>> = Vec::new();
    for (i, e) in w.endpoints.into_iter().enumerate() {
        let key = format!("webhooks.endpoints[{i}]");
        check_name("webhooks.endpoints", &e.name)?;
        if endpoints.iter().any(|o| o.name == e.name) {
            return Err(ConfigError::new(
                &format!("{key}.name"),
                format!("'{}' is used twice", e.name),
            ));
        }
        endpoints.push(Arc::new(endpoint(&key, e, world)?));
    }
    Ok(WebhookSettings {
        endpoints,
        start,
        retry_period: Duration::from_secs(w.retry_period_secs),
        initial_backoff: ms("webhooks.initial_backoff_ms", w.initial_backoff_ms)?,
        max_backoff: ms("webhooks.max_backoff_ms", w.max_backoff_ms)?,
        timeout: ms("webhooks.timeout_ms", w.timeout_ms)?,
        connect_timeout: ms("webhooks.connect_timeout_ms", w.connect_timeout_ms)?,
        max_response_bytes: w.max_response_bytes,
        max_concurrency: w.max_concurrency,
        poll_interval: ms("webhooks.poll_interval_ms", w.poll_interval_ms)?,
        claim_idle: ms("webhooks.claim_idle_ms", w.claim_idle_ms)?,
    })
}

fn endpoint(
    key: &str,
    e: raw::WebhookEndpointSection,
    world: bool,
) -> Result<WebhookEndpoint, ConfigError> {
    let url_key = format!("{key}.url");
    let url = parse_http_url(&url_key, &e.url)?;
    if url.fragment().is_some() {
        return Err(ConfigError::new(&url_key, "must not have a #fragment"));
    }
    if url.scheme() != "https" && !e.allow_http && !is_loopback(&url) {
        return Err(ConfigError::new(
            &url_key,
            "must be https:// (plain http only to loopback, or with allow_http = true)",
        ));
    }
    let secrets = secrets(key, &e.secrets, e.secrets_file.as_deref(), world)?;
    for ev in &e.events {
        if !EVENT_TYPES.contains(&ev.as_str()) {
            return Err(ConfigError::new(
                &format!("{key}.events"),
                format!(
                    "unknown event type '{ev}' (known: {})",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(WebhookEndpoint {
        name: e.name,
        url,
        secrets,
        events: e.events,
    })
}

/// `secrets` or `secrets_file` (one per line) of a signed outbound endpoint, each a `whsec_`
/// secret; errors name the position, never the value.
pub(super) fn secrets(
    key: &str,
    inline: &[secrecy::SecretString],
    file: Option<&std::path::Path>,
    world: bool,
) -> Result<Vec<WebhookSecret>, ConfigError> {
    let secrets_key = format!("{key}.secrets");
    let texts: Vec<String> = match (inline.is_empty(), file) {
        (false, Some(_)) => {
            return Err(ConfigError::new(
                &secrets_key,
                "set either secrets or secrets_file, not both",
            ));
        }
        (false, None) => inline
            .iter()
            .map(|s| s.expose_secret().to_string())
            .collect(),
        (true, Some(path)) => secret::require(&secrets_key, None, Some(path), world)?
            .expose_secret()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
        (true, None) => vec![],
    };
    if texts.is_empty() {
        return Err(ConfigError::new(
            &secrets_key,
            "missing secret: set secrets = [\"whsec_...\"] or secrets_file",
        ));
    }
    let mut secrets = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let s = WebhookSecret::parse(t)
            .map_err(|why| ConfigError::new(&format!("{secrets_key}[{i}]"), why))?;
        secrets.push(s);
    }
    Ok(secrets)
}

pub(super) fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(Host::Ipv4(a)) => a.is_loopback(),
        Some(Host::Ipv6(a)) => a.is_loopback(),
        Some(Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn with(endpoint: &str) -> Result<Settings, String> {
        Settings::from_toml(&format!("{MINIMAL}\n[[webhooks.endpoints]]\n{endpoint}"))
            .map_err(|e| e.to_string())
    }

    fn refused(endpoint: &str) -> String {
        match with(endpoint) {
            Ok(_) => panic!("accepted: {endpoint}"),
            Err(e) => e,
        }
    }

    #[test]
    fn an_endpoint_with_https_and_a_whsec_secret_is_accepted() {
        let s = with(&format!(
            "name = \"backend\"\nurl = \"https://api.example.com/hooks\"\nsecrets = [\"{SECRET}\", \"{SECRET}\"]\nevents = [\"upload.completed\"]"
        ))
        .unwrap();
        let e = &s.webhooks.endpoints[0];
        assert_eq!(e.secrets.len(), 2);
        assert!(e.wants("upload.completed") && !e.wants("upload.expired"));
        assert!(!format!("{:?}", e.secrets[0]).contains("MfKQ"));
        assert!(
            with(&format!(
                "name = \"l\"\nurl = \"http://127.0.0.1:9/h\"\nsecrets = [\"{SECRET}\"]"
            ))
            .is_ok()
        );
    }

    #[test]
    fn bad_urls_secrets_and_event_types_are_refused_without_echoing_the_secret() {
        for (endpoint, expected) in [
            (format!("name = \"b\"\nurl = \"http://api.example.com/h\"\nsecrets = [\"{SECRET}\"]"), "must be https://"),
            (format!("name = \"b\"\nurl = \"ftp://api.example.com/h\"\nsecrets = [\"{SECRET}\"]"), "http:// or https://"),
            (format!("name = \"b\"\nurl = \"https://u:p@api.example.com/h\"\nsecrets = [\"{SECRET}\"]"), "credentials"),
            (format!("name = \"b\"\nurl = \"https://api.example.com/h#x\"\nsecrets = [\"{SECRET}\"]"), "fragment"),
            ("name = \"b\"\nurl = \"https://api.example.com/h\"".to_string(), "missing secret"),
            ("name = \"b\"\nurl = \"https://api.example.com/h\"\nsecrets = [\"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"]".to_string(), "whsec_"),
            ("name = \"b\"\nurl = \"https://api.example.com/h\"\nsecrets = [\"whsec_c2hvcnQ=\"]".to_string(), "24 to 64 bytes"),
            (format!("name = \"b\"\nurl = \"https://api.example.com/h\"\nsecrets = [\"{SECRET}\"]\nevents = [\"upload.started\"]"), "unknown event type"),
            (format!("name = \"B!\"\nurl = \"https://api.example.com/h\"\nsecrets = [\"{SECRET}\"]"), "names must be"),
        ] {
            let e = refused(&endpoint);
            assert!(e.contains(expected), "{endpoint}: {e}");
            assert!(!e.contains("MfKQ9r8") && !e.contains("c2hvcnQ"), "{e}");
        }
        let twice = format!(
            "name = \"b\"\nurl = \"https://a.example.com/\"\nsecrets = [\"{SECRET}\"]\n[[webhooks.endpoints]]\nname = \"b\"\nurl = \"https://b.example.com/\"\nsecrets = [\"{SECRET}\"]"
        );
        assert!(refused(&twice).contains("used twice"));
    }
}
