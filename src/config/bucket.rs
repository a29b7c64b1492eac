//! `[buckets.NAME]`: where objects go and the keys that sign for them.

use super::values::{ms, parse_http_url};
use super::{ConfigError, raw, secret};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

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

pub(super) fn validate(
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
