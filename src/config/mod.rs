//! Configuration: read once at start-up, in layers (TOML file, then `UPLOAD_GATEWAY__*`
//! environment variables), validated into typed settings. A bad config fails with one line
//! naming the key and what is wrong.
//!
//! One module per section, each holding its settings types and the function that validates
//! its raw section; this file loads the layers and runs them in order. Config is the bottom
//! layer: it imports only `crate::domain` and external crates.

mod auth;
mod bucket;
mod callbacks;
mod error;
mod features;
mod hook;
mod notifications;
mod profile;
pub mod raw;
mod raw_storage;
mod redis;
mod secret;
mod security;
mod server;
mod values;
mod webhooks;

pub use auth::{ApiKeySettings, AuthSettings, JwtSettings};
pub use bucket::{
    BucketSettings, CosBucket, CosStsAction, CosStsSettings, OssBucket, OssStsSettings,
    ProviderKind, S3Bucket, S3StsSettings, SignatureVersion, UrlStyle, VendorBucket,
};
pub use callbacks::{
    CallbackSettings, DEFAULT_KEY_URL_PREFIXES, KeyParseError, PinnedKey, RESPONSE_FIELDS,
    parse_public_key,
};
pub use error::ConfigError;
pub use hook::{PreUploadHook, PreUploadSettings, QuotaLimits};
pub use notifications::{MIN_WEBHOOK_TOKEN_LEN, SnsSettings, WebhookTokenSettings};
pub use profile::{CallbackBodyType, Profile};
pub use redis::RedisSettings;
pub use server::MetricsSettings;
pub use webhooks::{EVENT_TYPES, WebhookEndpoint, WebhookSecret, WebhookSettings, WebhookStart};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use raw::RawSettings;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use url::Url;

pub const ENV_PREFIX: &str = "UPLOAD_GATEWAY__";
pub const CONFIG_PATH_ENV: &str = "UPLOAD_GATEWAY_CONFIG";

pub struct Settings {
    pub server: raw::ServerSection,
    pub listen: SocketAddr,
    pub public_url: Url,
    pub log: raw::LogSection,
    pub metrics: MetricsSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub rate_limit: raw::RateLimitSection,
    pub cors: raw::CorsSection,
    pub ticket_secret: SecretString,
    pub callbacks: CallbackSettings,
    pub multipart: raw::MultipartSection,
    pub uppy: raw::UppySection,
    pub demo: raw::DemoSection,
    pub webhooks: WebhookSettings,
    pub pre_upload: PreUploadSettings,
    /// Per-user limits over all profiles together.
    pub quota: Option<QuotaLimits>,
    pub buckets: BTreeMap<String, Arc<BucketSettings>>,
    pub profiles: BTreeMap<String, Arc<Profile>>,
}

impl Settings {
    /// Reads the file (if any), applies environment overrides, validates.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError::new(
                    "",
                    format!("config file {} does not exist", path.display()),
                ));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__"));
        let raw: RawSettings = figment.extract()?;
        Settings::validate(raw)
    }

    /// Parses TOML text directly (tests, `check-config` on stdin).
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        let raw: RawSettings = Figment::new().merge(Toml::string(text)).extract()?;
        Settings::validate(raw)
    }

    /// Stops at the first bad key, so the one line printed names it. Checks that span
    /// sections (profiles name buckets; uppy and the demo name profiles; the ticket secret is
    /// required only if a profile asks for callbacks) run once what they refer to is built.
    pub fn validate(raw: RawSettings) -> Result<Settings, ConfigError> {
        let world = raw.security.allow_world_readable_secret_files;
        let (listen, public_url) = server::validate(&raw.server)?;
        let metrics = server::validate_metrics(raw.metrics, world)?;
        let redis = redis::validate(raw.redis, world)?;
        let auth = auth::validate(raw.auth, world)?;
        server::check_rate_limit(&raw.rate_limit)?;
        server::check_cors(&raw.cors)?;
        let callbacks = callbacks::validate(raw.callbacks, &public_url, world)?;
        let ticket_secret = security::ticket_secret(raw.security, world)?;

        let mut buckets = BTreeMap::new();
        for (name, b) in raw.buckets {
            values::check_name("buckets", &name)?;
            buckets.insert(name.clone(), Arc::new(bucket::validate(&name, b, world)?));
        }
        let pre_upload = hook::validate(raw.pre_upload, world)?;
        let quota = hook::quota("quota", raw.quota)?;
        let mut profiles = BTreeMap::new();
        for (name, p) in raw.profiles {
            values::check_name("profiles", &name)?;
            let profile = profile::validate(&name, p, &buckets, &pre_upload.hooks)?;
            profiles.insert(name, Arc::new(profile));
        }
        profile::check_sts_prefixes(&profiles)?;

        let needs_ticket = profiles.values().any(|p| p.callback);
        let ticket_secret = security::require_ticket_secret(ticket_secret, needs_ticket)?;
        features::check_multipart(&raw.multipart)?;
        features::check_uppy(&raw.uppy, &profiles)?;
        features::check_demo(&raw.demo, listen, &profiles)?;
        let webhooks = webhooks::validate(raw.webhooks, world)?;

        Ok(Settings {
            server: raw.server,
            listen,
            public_url,
            log: raw.log,
            metrics,
            redis,
            auth,
            rate_limit: raw.rate_limit,
            cors: raw.cors,
            ticket_secret,
            callbacks,
            multipart: raw.multipart,
            uppy: raw.uppy,
            demo: raw.demo,
            webhooks,
            pre_upload,
            quota,
            buckets,
            profiles,
        })
    }

    pub fn profile(&self, name: &str) -> Option<&Arc<Profile>> {
        self.profiles.get(name)
    }

    /// Settings that load but are likely wrong: `check-config` prints them, `serve` logs them.
    pub fn warnings(&self) -> Vec<String> {
        let loopback = |u: &Url| match u.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let mut out = Vec::new();
        if loopback(&self.callbacks.url) && self.profiles.values().any(|p| p.callback) {
            for b in self.buckets.values().filter(|b| !loopback(&b.endpoint)) {
                out.push(format!(
                    "callbacks go to {}, a loopback address, but bucket '{}' is at {}: storage cannot reach it and every upload will end in 203 CallbackFailed; set server.public_url (or callbacks.public_url) to an address storage can reach",
                    self.callbacks.url,
                    b.name,
                    b.endpoint.host_str().unwrap_or("?")
                ));
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests;
