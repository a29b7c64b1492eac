//! The storage half of the configuration file as written: `[buckets.*]` (with their
//! `[buckets.*.sts]`) and `[profiles.*]`. Re-exported from `raw`, where the rest lives.

use super::hook::QuotaSection;
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSection {
    pub provider: String,
    pub bucket: String,
    /// COS derives it from bucket and region when absent.
    #[serde(default)]
    pub endpoint: String,
    pub region: String,
    #[serde(default)]
    pub signature_version: Option<String>,
    #[serde(default)]
    pub url_style: Option<String>,
    pub access_key_id: String,
    #[serde(default)]
    pub access_key_secret: Option<SecretString>,
    #[serde(default)]
    pub access_key_secret_file: Option<PathBuf>,
    #[serde(default)]
    pub upstream_timeout_ms: Option<u64>,
    #[serde(default)]
    pub sts: Option<StsSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsSection {
    /// Defaults per vendor (OSS: `https://sts.aliyuncs.com`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// OSS requires it; COS with `action = "AssumeRole"`.
    #[serde(default)]
    pub role_arn: String,
    /// COS only: `GetFederationToken` (default) or `AssumeRole`.
    #[serde(default)]
    pub action: Option<String>,
    /// COS only: the STS region (default: the bucket's).
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default = "default_sts_duration")]
    pub duration_secs: u64,
    #[serde(default = "default_sts_timeout")]
    pub timeout_ms: u64,
    /// Defaults to the bucket's own key pair.
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub access_key_secret: Option<SecretString>,
    #[serde(default)]
    pub access_key_secret_file: Option<PathBuf>,
}

fn default_sts_duration() -> u64 {
    3600
}
fn default_sts_timeout() -> u64 {
    3000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSection {
    pub bucket: String,
    pub key_template: String,
    pub max_size_bytes: u64,
    #[serde(default = "one")]
    pub min_size_bytes: u64,
    #[serde(default = "any_type")]
    pub content_types: Vec<String>,
    #[serde(default = "default_expiry")]
    pub expires_in_secs: u64,
    #[serde(default = "yes")]
    pub callback: bool,
    #[serde(default)]
    pub callback_body_type: Option<String>,
    /// Default: every kind but `sts`, which a profile must list to hand out credentials.
    #[serde(default)]
    pub kinds: Option<Vec<String>>,
    /// Let this profile's STS credentials share a key prefix with presigned uploads, forms
    /// and multipart uploads (those uploads are then checked against storage before they
    /// are recorded, since an STS holder could have overwritten them).
    #[serde(default)]
    pub allow_sts_shared_prefix: bool,
    #[serde(default)]
    pub client_chosen_name: bool,
    #[serde(default)]
    pub part_size_bytes: Option<u64>,
    /// `POST /v1/uploads`: files of at least this many bytes go multipart.
    #[serde(default)]
    pub multipart_threshold_bytes: Option<u64>,
    /// Read the first bytes of each arrived object and check what they are.
    #[serde(default)]
    pub content_check: bool,
    /// Delete objects whose record ends `failed` for breaking the profile.
    #[serde(default)]
    pub delete_rejected: bool,
    /// Lifetime of the owner's download URLs (`GET /v1/uploads/{id}/download`).
    #[serde(default)]
    pub download_expires_secs: Option<u64>,
    /// Name of a `[pre_upload.hooks.<name>]` asked before each right is issued.
    #[serde(default)]
    pub pre_upload_hook: Option<String>,
    /// Per-user limits under this profile.
    #[serde(default)]
    pub quota: Option<QuotaSection>,
}

fn one() -> u64 {
    1
}
fn yes() -> bool {
    true
}
fn any_type() -> Vec<String> {
    vec!["*/*".into()]
}
fn default_expiry() -> u64 {
    900
}
