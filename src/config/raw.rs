//! The configuration file as written: TOML plus `UPLOAD_GATEWAY__SECTION__KEY` overrides.
//! Every struct rejects unknown keys, so a typo fails at start-up instead of being ignored.

pub use super::hook::{HookSection, PreUploadSection, QuotaSection};
pub use super::raw_storage::{BucketSection, ProfileSection, StsSection};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub log: LogSection,
    #[serde(default)]
    pub metrics: MetricsSection,
    #[serde(default)]
    pub redis: RedisSection,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    #[serde(default)]
    pub cors: CorsSection,
    #[serde(default)]
    pub security: SecuritySection,
    #[serde(default)]
    pub callbacks: CallbacksSection,
    #[serde(default)]
    pub multipart: MultipartSection,
    #[serde(default)]
    pub uppy: UppySection,
    #[serde(default)]
    pub demo: DemoSection,
    #[serde(default)]
    pub webhooks: WebhooksSection,
    #[serde(default)]
    pub pre_upload: PreUploadSection,
    /// Per-user limits over all profiles together.
    #[serde(default)]
    pub quota: Option<QuotaSection>,
    #[serde(default)]
    pub buckets: BTreeMap<String, BucketSection>,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSection>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: String,
    pub public_url: String,
    pub workers: usize,
    pub max_body_bytes: usize,
    pub shutdown_timeout_secs: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            workers: 0,
            max_body_bytes: 64 * 1024,
            shutdown_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    pub format: LogFormat,
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    pub listen: Option<String>,
    pub bearer_token: Option<SecretString>,
    pub bearer_token_file: Option<PathBuf>,
    /// Serve `/metrics` on the API port without a token (local development).
    pub public: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSection {
    pub url: String,
    pub cluster_nodes: Vec<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    pub key_prefix: String,
    pub command_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub record_ttl_secs: u64,
    pub events_maxlen: u64,
}

impl Default for RedisSection {
    fn default() -> Self {
        RedisSection {
            url: "redis://127.0.0.1:6379".into(),
            cluster_nodes: vec![],
            username: None,
            password: None,
            password_file: None,
            key_prefix: "ugw".into(),
            command_timeout_ms: 1000,
            connect_timeout_ms: 1000,
            record_ttl_secs: 7 * 24 * 3600,
            events_maxlen: 100_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    pub user_claim: String,
    pub jwt: Option<JwtSection>,
    pub api_keys: Vec<ApiKeySection>,
    /// Lifetime of the credential URLs minted for mobile SDKs' stock providers.
    pub sdk_url_ttl_secs: u64,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            user_claim: "sub".into(),
            jwt: None,
            api_keys: vec![],
            sdk_url_ttl_secs: 12 * 3600,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSection {
    pub hs256_secret: Option<SecretString>,
    pub hs256_secret_file: Option<PathBuf>,
    pub rs256_public_key_pem: Option<String>,
    pub rs256_public_key_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySection {
    pub name: String,
    pub user: String,
    /// Hex SHA-256 of the key; the key itself never sits in the config.
    pub sha256: String,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSection {
    pub enabled: bool,
    pub per_minute: u32,
    pub burst: u32,
}

impl Default for RateLimitSection {
    fn default() -> Self {
        RateLimitSection {
            enabled: true,
            per_minute: 60,
            burst: 20,
        }
    }
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CorsSection {
    pub allowed_origins: Vec<String>,
    pub max_age_secs: Option<usize>,
    /// Request headers browsers may send besides the gateway's own (tracing headers such as
    /// `traceparent`, `sentry-trace`, `baggage`).
    pub allowed_headers: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SecuritySection {
    pub allow_world_readable_secret_files: bool,
    /// HMAC key binding callbacks to the uploads they belong to.
    pub ticket_secret: Option<SecretString>,
    pub ticket_secret_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallbacksSection {
    pub path: String,
    pub public_url: Option<String>,
    pub callback_host: Option<String>,
    pub callback_sni: bool,
    pub key_url_prefixes: Vec<String>,
    pub exact_key_urls: Vec<String>,
    pub pinned_keys: Vec<PinnedKeySection>,
    pub key_fetch_timeout_ms: u64,
    pub key_max_bytes: usize,
    pub key_cache_ttl_secs: u64,
    pub max_body_bytes: usize,
    pub journal_dir: PathBuf,
    pub redis_timeout_ms: u64,
    pub replay_interval_ms: u64,
    pub response_fields: Vec<String>,
    pub reconcile_interval_secs: u64,
    /// S3 event notifications delivered by Amazon SNS (`POST /v1/callbacks/s3-sns`).
    pub s3_sns: Option<S3SnsSection>,
    /// MinIO bucket-notification webhooks (`POST /v1/callbacks/s3-webhook`).
    pub s3_webhook: Option<S3WebhookSection>,
}

impl Default for CallbacksSection {
    fn default() -> Self {
        CallbacksSection {
            path: "/v1/callbacks/oss".into(),
            public_url: None,
            callback_host: None,
            callback_sni: false,
            key_url_prefixes: vec![
                super::DEFAULT_KEY_URL_PREFIXES[0].into(),
                super::DEFAULT_KEY_URL_PREFIXES[1].into(),
            ],
            exact_key_urls: vec![],
            pinned_keys: vec![],
            key_fetch_timeout_ms: 2000,
            key_max_bytes: 8 * 1024,
            key_cache_ttl_secs: 3600,
            max_body_bytes: 64 * 1024,
            journal_dir: PathBuf::from("data/journal"),
            redis_timeout_ms: 300,
            replay_interval_ms: 1000,
            response_fields: vec![],
            reconcile_interval_secs: 60,
            s3_sns: None,
            s3_webhook: None,
        }
    }
}

/// `[callbacks.s3_sns]` (defaults and rules in `config/notifications.rs`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3SnsSection {
    pub topic_arns: Vec<String>,
    pub extra_cert_hosts: Vec<String>,
    pub confirm_subscriptions: bool,
    pub fetch_timeout_ms: u64,
    pub cert_max_bytes: usize,
    pub cert_cache_ttl_secs: u64,
    pub ca_file: Option<PathBuf>,
    pub resolve: BTreeMap<String, String>,
}

impl Default for S3SnsSection {
    fn default() -> Self {
        S3SnsSection {
            topic_arns: vec![],
            extra_cert_hosts: vec![],
            confirm_subscriptions: true,
            fetch_timeout_ms: 2000,
            cert_max_bytes: 16 * 1024,
            cert_cache_ttl_secs: 24 * 3600,
            ca_file: None,
            resolve: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct S3WebhookSection {
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct PinnedKeySection {
    pub url: String,
    pub pem: Option<String>,
    pub pem_file: Option<PathBuf>,
}

/// `[webhooks]`: signed deliveries of the upload events to the app backend (defaults and
/// rules in `webhooks.rs`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksSection {
    pub start_at: String,
    pub retry_period_secs: u64,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub max_response_bytes: usize,
    pub max_concurrency: usize,
    pub poll_interval_ms: u64,
    pub claim_idle_ms: u64,
    pub endpoints: Vec<WebhookEndpointSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointSection {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub secrets: Vec<SecretString>,
    /// One secret per line.
    pub secrets_file: Option<PathBuf>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub allow_http: bool,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct MultipartSection {
    pub part_url_expires_secs: u64,
    pub upload_expires_secs: u64,
    pub sweep_interval_secs: u64,
    pub orphan_age_secs: u64,
    pub default_part_size: u64,
    pub max_parts_per_request: usize,
}

impl Default for MultipartSection {
    fn default() -> Self {
        MultipartSection {
            part_url_expires_secs: 900,
            upload_expires_secs: 24 * 3600,
            sweep_interval_secs: 300,
            orphan_age_secs: 48 * 3600,
            default_part_size: 8 * 1024 * 1024,
            max_parts_per_request: 100,
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct UppySection {
    pub enabled: bool,
    pub prefix: String,
    pub profile: Option<String>,
}

impl Default for UppySection {
    fn default() -> Self {
        UppySection {
            enabled: true,
            prefix: "/s3".into(),
            profile: None,
        }
    }
}

#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSection {
    pub enabled: bool,
    pub profile: Option<String>,
    /// The user every demo request acts as (the demo has no login).
    pub user: Option<String>,
}
