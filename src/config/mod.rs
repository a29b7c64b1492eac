//! Configuration: read once at start-up, in layers (TOML file, then `UPLOAD_GATEWAY__*`
//! environment variables), validated into typed settings. A bad config fails with one line
//! naming the key and what is wrong.

mod profile;
pub mod raw;
mod secret;

pub use profile::{CallbackBodyType, Profile};

use crate::domain::UserId;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use raw::RawSettings;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub const ENV_PREFIX: &str = "UPLOAD_GATEWAY__";
pub const CONFIG_PATH_ENV: &str = "UPLOAD_GATEWAY_CONFIG";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "config error: {}", self.message)
        } else {
            write!(f, "config error: {}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        let source = e
            .metadata
            .as_ref()
            .map(|m| match &m.source {
                Some(figment::Source::File(path)) => {
                    format!(" (from {} `{}`)", m.name, path.display())
                }
                _ => format!(" (from {})", m.name),
            })
            .unwrap_or_default();
        let message = match &e.kind {
            figment::error::Kind::UnknownField(field, _) => {
                // figment's path already ends with the unknown field.
                let key = if e.path.is_empty() {
                    field.clone()
                } else {
                    e.path.join(".")
                };
                return ConfigError::new(&key, format!("unknown key{source}"));
            }
            kind => format!("{kind}{source}"),
        };
        ConfigError::new(&e.path.join("."), message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Oss,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Oss => "oss",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    V1,
    V4,
}

/// How object URLs are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlStyle {
    /// `https://<bucket>.<endpoint host>/<key>` (what OSS requires for new buckets).
    VirtualHosted,
    /// The endpoint already names the bucket (a custom domain): `<endpoint>/<key>`.
    Cname,
    /// `<endpoint>/<bucket>/<key>` (S3-compatible stores).
    Path,
}

pub struct BucketSettings {
    /// The config name (`[buckets.<name>]`).
    pub name: String,
    pub provider: ProviderKind,
    pub bucket: String,
    pub endpoint: Url,
    pub region: String,
    pub signature_version: SignatureVersion,
    pub url_style: UrlStyle,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    pub upstream_timeout: Duration,
    pub sts: Option<StsSettings>,
}

pub struct StsSettings {
    pub endpoint: Url,
    pub role_arn: String,
    pub duration: Duration,
    pub timeout: Duration,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
}

pub struct MetricsSettings {
    pub listen: Option<SocketAddr>,
    pub bearer_token: Option<SecretString>,
}

pub struct RedisSettings {
    pub url: String,
    pub cluster_nodes: Vec<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub key_prefix: String,
    pub command_timeout: Duration,
    pub connect_timeout: Duration,
    pub record_ttl: Duration,
    pub events_maxlen: u64,
}

pub struct JwtSettings {
    pub hs256_secret: Option<SecretString>,
    pub rs256_public_key_pem: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_secs: u64,
}

pub struct ApiKeySettings {
    pub name: String,
    pub user: UserId,
    pub sha256: [u8; 32],
}

pub struct AuthSettings {
    pub user_claim: String,
    pub jwt: Option<JwtSettings>,
    pub api_keys: Vec<ApiKeySettings>,
}

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
pub struct KeyParseError(String);

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
}

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

    pub fn validate(raw: RawSettings) -> Result<Settings, ConfigError> {
        let world = raw.security.allow_world_readable_secret_files;

        let listen: SocketAddr =
            raw.server.listen.parse().map_err(|e| {
                ConfigError::new("server.listen", format!("not a socket address: {e}"))
            })?;
        let public_url = parse_http_url("server.public_url", &raw.server.public_url)?;
        if raw.server.max_body_bytes == 0 {
            return Err(ConfigError::new("server.max_body_bytes", "must be > 0"));
        }

        let metrics = MetricsSettings {
            listen: raw
                .metrics
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
                raw.metrics.bearer_token,
                raw.metrics.bearer_token_file.as_deref(),
                world,
            )?,
        };

        let r = raw.redis;
        if r.key_prefix.is_empty() || r.key_prefix.contains(['{', '}', ' ']) {
            return Err(ConfigError::new(
                "redis.key_prefix",
                "must be non-empty and contain no '{', '}' or spaces",
            ));
        }
        if r.cluster_nodes.is_empty()
            && !r.url.starts_with("redis://")
            && !r.url.starts_with("rediss://")
        {
            return Err(ConfigError::new(
                "redis.url",
                "must start with redis:// or rediss://",
            ));
        }
        if r.url.contains('@') {
            return Err(ConfigError::new(
                "redis.url",
                "must not embed credentials; use redis.username and redis.password(_file)",
            ));
        }
        if r.record_ttl_secs < 60 {
            return Err(ConfigError::new(
                "redis.record_ttl_secs",
                "must be at least 60",
            ));
        }
        let redis = RedisSettings {
            password: secret::resolve(
                "redis.password",
                r.password,
                r.password_file.as_deref(),
                world,
            )?,
            url: r.url,
            cluster_nodes: r.cluster_nodes,
            username: r.username,
            key_prefix: r.key_prefix,
            command_timeout: ms("redis.command_timeout_ms", r.command_timeout_ms)?,
            connect_timeout: ms("redis.connect_timeout_ms", r.connect_timeout_ms)?,
            record_ttl: Duration::from_secs(r.record_ttl_secs),
            events_maxlen: r.events_maxlen.max(1),
        };

        let auth = validate_auth(raw.auth, world)?;

        if raw.rate_limit.enabled && (raw.rate_limit.per_minute == 0 || raw.rate_limit.burst == 0) {
            return Err(ConfigError::new(
                "rate_limit",
                "per_minute and burst must be > 0 when enabled",
            ));
        }

        for origin in &raw.cors.allowed_origins {
            if origin != "*" {
                parse_http_url("cors.allowed_origins", origin)?;
            }
        }

        let c = raw.callbacks;
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
        let callbacks = CallbackSettings {
            path: c.path,
            url: callback_url,
            callback_host: c.callback_host,
            callback_sni: c.callback_sni,
            key_url_prefixes: c.key_url_prefixes,
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
        };

        let ticket_secret = secret::resolve(
            "security.ticket_secret",
            raw.security.ticket_secret,
            raw.security.ticket_secret_file.as_deref(),
            world,
        )?;

        let mut buckets = BTreeMap::new();
        for (name, b) in raw.buckets {
            check_name("buckets", &name)?;
            buckets.insert(name.clone(), Arc::new(validate_bucket(&name, b, world)?));
        }

        let mut profiles = BTreeMap::new();
        for (name, p) in raw.profiles {
            check_name("profiles", &name)?;
            let profile = profile::validate(&name, p, &buckets)?;
            profiles.insert(name, Arc::new(profile));
        }
        profile::check_sts_prefixes(&profiles)?;

        let needs_ticket = profiles.values().any(|p| p.callback);
        let ticket_secret = match ticket_secret {
            Some(s) => {
                use secrecy::ExposeSecret;
                if s.expose_secret().len() < 16 {
                    return Err(ConfigError::new(
                        "security.ticket_secret",
                        "must be at least 16 characters",
                    ));
                }
                s
            }
            None if needs_ticket => {
                return Err(ConfigError::new(
                    "security.ticket_secret",
                    "missing secret: set security.ticket_secret or security.ticket_secret_file (profiles request callbacks)",
                ));
            }
            // No profile asks for callbacks: any value works, none is ever checked.
            None => SecretString::from(uuid::Uuid::new_v4().to_string()),
        };

        if raw.multipart.part_url_expires_secs == 0 || raw.multipart.upload_expires_secs == 0 {
            return Err(ConfigError::new("multipart", "expiry times must be > 0"));
        }
        if raw.multipart.orphan_age_secs <= raw.multipart.upload_expires_secs {
            // Otherwise the orphan scan would abort uploads that are still in use.
            return Err(ConfigError::new(
                "multipart.orphan_age_secs",
                "must be greater than multipart.upload_expires_secs",
            ));
        }
        if raw.uppy.enabled {
            if !raw.uppy.prefix.starts_with('/') || raw.uppy.prefix.ends_with('/') {
                return Err(ConfigError::new(
                    "uppy.prefix",
                    "must start with '/' and not end with '/' (e.g. /s3)",
                ));
            }
            if let Some(p) = &raw.uppy.profile
                && !profiles.contains_key(p)
            {
                return Err(ConfigError::new(
                    "uppy.profile",
                    format!("no profile named '{p}'"),
                ));
            }
        }
        if raw.demo.enabled {
            // The demo acts as one user without any login: never on a reachable address.
            if !listen.ip().is_loopback() {
                return Err(ConfigError::new(
                    "demo.enabled",
                    "the demo has no login; it is only allowed with a loopback server.listen",
                ));
            }
            match &raw.demo.profile {
                Some(p) if profiles.contains_key(p) => {}
                Some(p) => {
                    return Err(ConfigError::new(
                        "demo.profile",
                        format!("no profile named '{p}'"),
                    ));
                }
                None => {
                    return Err(ConfigError::new(
                        "demo.profile",
                        "required when demo.enabled",
                    ));
                }
            }
            match raw.demo.user.as_deref().map(UserId::parse) {
                Some(Ok(_)) => {}
                _ => return Err(ConfigError::new("demo.user", "required when demo.enabled")),
            }
        }

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
            buckets,
            profiles,
        })
    }

    pub fn profile(&self, name: &str) -> Option<&Arc<Profile>> {
        self.profiles.get(name)
    }
}

fn ms(key: &str, v: u64) -> Result<Duration, ConfigError> {
    if v == 0 {
        return Err(ConfigError::new(key, "must be > 0"));
    }
    Ok(Duration::from_millis(v))
}

fn check_name(section: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            &format!("{section}.{name}"),
            "names must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ))
    }
}

fn parse_http_url(key: &str, s: &str) -> Result<Url, ConfigError> {
    let u = Url::parse(s).map_err(|e| ConfigError::new(key, format!("'{s}' is not a URL: {e}")))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(ConfigError::new(
            key,
            format!("'{s}' must be http:// or https://"),
        ));
    }
    if u.host_str().is_none() {
        return Err(ConfigError::new(key, format!("'{s}' has no host")));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(ConfigError::new(
            key,
            format!("'{s}' must not carry credentials"),
        ));
    }
    Ok(u)
}

fn validate_auth(a: raw::AuthSection, world: bool) -> Result<AuthSettings, ConfigError> {
    if a.user_claim.is_empty() {
        return Err(ConfigError::new("auth.user_claim", "must not be empty"));
    }
    let jwt = match a.jwt {
        None => None,
        Some(j) => {
            let hs256_secret = secret::resolve(
                "auth.jwt.hs256_secret",
                j.hs256_secret,
                j.hs256_secret_file.as_deref(),
                world,
            )?;
            if let Some(s) = &hs256_secret {
                use secrecy::ExposeSecret;
                if s.expose_secret().len() < 32 {
                    return Err(ConfigError::new(
                        "auth.jwt.hs256_secret",
                        "must be at least 32 characters (HS256 keys shorter than the hash are weak)",
                    ));
                }
            }
            let rs256_public_key_pem = match (j.rs256_public_key_pem, j.rs256_public_key_file) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(
                        "auth.jwt.rs256_public_key_pem",
                        "set either rs256_public_key_pem or rs256_public_key_file, not both",
                    ));
                }
                (Some(p), None) => Some(p),
                (None, Some(f)) => Some(std::fs::read_to_string(&f).map_err(|e| {
                    ConfigError::new(
                        "auth.jwt.rs256_public_key_file",
                        format!("cannot read {}: {e}", f.display()),
                    )
                })?),
                (None, None) => None,
            };
            if let Some(pem) = &rs256_public_key_pem {
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                    ConfigError::new(
                        "auth.jwt.rs256_public_key_pem",
                        format!("not an RSA public key PEM: {e}"),
                    )
                })?;
            }
            if hs256_secret.is_none() && rs256_public_key_pem.is_none() {
                return Err(ConfigError::new(
                    "auth.jwt",
                    "set hs256_secret(_file) and/or rs256_public_key_pem(_file)",
                ));
            }
            if j.issuer.is_none() || j.audience.is_none() {
                return Err(ConfigError::new(
                    "auth.jwt",
                    "issuer and audience are required: tokens minted for another service must not work here",
                ));
            }
            Some(JwtSettings {
                hs256_secret,
                rs256_public_key_pem,
                issuer: j.issuer,
                audience: j.audience,
                leeway_secs: j.leeway_secs,
            })
        }
    };
    let mut api_keys = Vec::new();
    for (i, k) in a.api_keys.into_iter().enumerate() {
        let key = format!("auth.api_keys[{i}]");
        let bytes = hex::decode(&k.sha256)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                ConfigError::new(
                    &format!("{key}.sha256"),
                    "must be 64 hex digits: the SHA-256 of the key (printf %s KEY | sha256sum)",
                )
            })?;
        let user = UserId::parse(k.user)
            .map_err(|e| ConfigError::new(&format!("{key}.user"), e.to_string()))?;
        api_keys.push(ApiKeySettings {
            name: k.name,
            user,
            sha256: bytes,
        });
    }
    if jwt.is_none() && api_keys.is_empty() {
        return Err(ConfigError::new(
            "auth",
            "configure auth.jwt and/or auth.api_keys: without them no client can authenticate",
        ));
    }
    Ok(AuthSettings {
        user_claim: a.user_claim,
        jwt,
        api_keys,
    })
}

fn validate_bucket(
    name: &str,
    b: raw::BucketSection,
    world: bool,
) -> Result<BucketSettings, ConfigError> {
    let key = |k: &str| format!("buckets.{name}.{k}");
    let provider = match b.provider.as_str() {
        "oss" => ProviderKind::Oss,
        other => {
            return Err(ConfigError::new(
                &key("provider"),
                format!("unknown provider '{other}' (supported: oss)"),
            ));
        }
    };
    let endpoint = parse_http_url(&key("endpoint"), &b.endpoint)?;
    if endpoint.path() != "/" || endpoint.query().is_some() {
        return Err(ConfigError::new(
            &key("endpoint"),
            "must be a bare origin such as https://oss-cn-hangzhou.aliyuncs.com",
        ));
    }
    let signature_version = match b.signature_version.as_deref().unwrap_or("v4") {
        "v1" => SignatureVersion::V1,
        "v4" => SignatureVersion::V4,
        other => {
            return Err(ConfigError::new(
                &key("signature_version"),
                format!("'{other}' is not v1 or v4"),
            ));
        }
    };
    let url_style = match b.url_style.as_deref().unwrap_or("virtual-hosted") {
        "virtual-hosted" => UrlStyle::VirtualHosted,
        "cname" => UrlStyle::Cname,
        "path" => UrlStyle::Path,
        other => {
            return Err(ConfigError::new(
                &key("url_style"),
                format!("'{other}' is not virtual-hosted, cname or path"),
            ));
        }
    };
    let bucket_ok = (3..=63).contains(&b.bucket.len())
        && b.bucket
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !b.bucket.starts_with('-')
        && !b.bucket.ends_with('-');
    if !bucket_ok {
        return Err(ConfigError::new(
            &key("bucket"),
            "bucket names are 3-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ));
    }
    if b.region.is_empty() {
        return Err(ConfigError::new(&key("region"), "must not be empty"));
    }
    if b.access_key_id.is_empty() {
        return Err(ConfigError::new(&key("access_key_id"), "must not be empty"));
    }
    let access_key_secret = secret::require(
        &key("access_key_secret"),
        b.access_key_secret,
        b.access_key_secret_file.as_deref(),
        world,
    )?;
    let sts = match b.sts {
        None => None,
        Some(s) => {
            let skey = |k: &str| format!("buckets.{name}.sts.{k}");
            if !(900..=43200).contains(&s.duration_secs) {
                return Err(ConfigError::new(
                    &skey("duration_secs"),
                    "must be between 900 and 43200",
                ));
            }
            if !s.role_arn.starts_with("acs:ram::") {
                return Err(ConfigError::new(
                    &skey("role_arn"),
                    "must look like acs:ram::<account>:role/<name>",
                ));
            }
            let secret_override = secret::resolve(
                &skey("access_key_secret"),
                s.access_key_secret,
                s.access_key_secret_file.as_deref(),
                world,
            )?;
            let (access_key_id, access_key_secret) = match (s.access_key_id, secret_override) {
                (Some(id), Some(sec)) => (id, sec),
                (None, None) => (b.access_key_id.clone(), access_key_secret.clone()),
                _ => {
                    return Err(ConfigError::new(
                        &skey("access_key_id"),
                        "set both access_key_id and access_key_secret(_file), or neither to reuse the bucket's",
                    ));
                }
            };
            Some(StsSettings {
                endpoint: parse_http_url(&skey("endpoint"), &s.endpoint)?,
                role_arn: s.role_arn,
                duration: Duration::from_secs(s.duration_secs),
                timeout: ms(&skey("timeout_ms"), s.timeout_ms)?,
                access_key_id,
                access_key_secret,
            })
        }
    };
    Ok(BucketSettings {
        name: name.to_string(),
        provider,
        bucket: b.bucket,
        endpoint,
        region: b.region,
        signature_version,
        url_style,
        access_key_id: b.access_key_id,
        access_key_secret,
        upstream_timeout: ms(
            &key("upstream_timeout_ms"),
            b.upstream_timeout_ms.unwrap_or(10_000),
        )?,
        sts,
    })
}

#[cfg(test)]
pub(crate) mod tests;
