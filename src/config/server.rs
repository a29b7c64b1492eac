//! `[server]`, `[metrics]`, `[rate_limit]` and `[cors]`: the listeners and what they let in.

use super::values::parse_http_url;
use super::{ConfigError, raw, secret};
use secrecy::SecretString;
use std::net::SocketAddr;
use url::Url;

pub struct MetricsSettings {
    pub listen: Option<SocketAddr>,
    pub bearer_token: Option<SecretString>,
    /// `/metrics` on the API port without a token.
    pub public: bool,
}

impl MetricsSettings {
    /// Whether the API listener serves `/metrics`: not by default, because it is public;
    /// only with a token, or when a deployment says so explicitly.
    pub fn on_api_port(&self) -> bool {
        self.listen.is_none() && (self.bearer_token.is_some() || self.public)
    }
}

/// The address to bind and the URL clients reach it by.
pub(super) fn validate(s: &raw::ServerSection) -> Result<(SocketAddr, Url), ConfigError> {
    let listen: SocketAddr = s
        .listen
        .parse()
        .map_err(|e| ConfigError::new("server.listen", format!("not a socket address: {e}")))?;
    let public_url = parse_http_url("server.public_url", &s.public_url)?;
    if s.max_body_bytes == 0 {
        return Err(ConfigError::new("server.max_body_bytes", "must be > 0"));
    }
    Ok((listen, public_url))
}

pub(super) fn validate_metrics(
    m: raw::MetricsSection,
    world: bool,
) -> Result<MetricsSettings, ConfigError> {
    Ok(MetricsSettings {
        listen: m
            .listen
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|e| {
                    ConfigError::new("metrics.listen", format!("not a socket address: {e}"))
                })
            })
            .transpose()?,
        bearer_token: secret::resolve(
            "metrics.bearer_token",
            m.bearer_token,
            m.bearer_token_file.as_deref(),
            world,
        )?,
        public: m.public,
    })
}

pub(super) fn check_rate_limit(r: &raw::RateLimitSection) -> Result<(), ConfigError> {
    if r.enabled && (r.per_minute == 0 || r.burst == 0) {
        return Err(ConfigError::new(
            "rate_limit",
            "per_minute and burst must be > 0 when enabled",
        ));
    }
    Ok(())
}

pub(super) fn check_cors(c: &raw::CorsSection) -> Result<(), ConfigError> {
    for origin in &c.allowed_origins {
        if origin != "*" {
            parse_http_url("cors.allowed_origins", origin)?;
        }
    }
    for h in &c.allowed_headers {
        let token = !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token {
            return Err(ConfigError::new(
                "cors.allowed_headers",
                format!("'{h}' is not a header name"),
            ));
        }
    }
    Ok(())
}
