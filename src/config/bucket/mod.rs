//! `[buckets.NAME]`: where objects go and the keys that sign for them. What every vendor has
//! is on [`BucketSettings`]; what only one vendor reads is on that vendor's variant of
//! [`VendorBucket`], checked by that vendor's own module, so one vendor's rules (OSS's bucket
//! names, its `acs:ram::` role ARNs) never apply to another's buckets.

mod cos;
mod oss;
mod s3;

pub use cos::{CosBucket, CosStsAction, CosStsSettings};
pub use oss::{OssBucket, OssStsSettings, SignatureVersion};
pub use s3::{S3Bucket, S3StsSettings};

use super::values::{ms, parse_http_url};
use super::{ConfigError, raw, secret};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

/// Which vendor a bucket is at, without its settings: the tag of [`VendorBucket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    Oss,
    Cos,
    S3,
}

impl ProviderKind {
    /// Every vendor `provider = "..."` accepts.
    pub const ALL: [ProviderKind; 3] = [ProviderKind::Oss, ProviderKind::Cos, ProviderKind::S3];

    /// The name in `provider = "..."`, metrics labels and `/v1/callbacks/{provider}`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Oss => "oss",
            ProviderKind::Cos => "cos",
            ProviderKind::S3 => "s3",
        }
    }

    fn parse(name: &str) -> Option<ProviderKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How object URLs are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlStyle {
    /// `https://<bucket>.<endpoint host>/<key>` (what OSS requires for new buckets; S3's
    /// `url_style = "virtual"`).
    VirtualHosted,
    /// The endpoint already names the bucket (a custom domain): `<endpoint>/<key>`.
    Cname,
    /// `<endpoint>/<bucket>/<key>` (S3-compatible stores).
    Path,
}

/// The settings only one vendor has, one variant per vendor.
pub enum VendorBucket {
    Oss(OssBucket),
    Cos(CosBucket),
    S3(S3Bucket),
}

impl VendorBucket {
    pub fn kind(&self) -> ProviderKind {
        match self {
            VendorBucket::Oss(_) => ProviderKind::Oss,
            VendorBucket::Cos(_) => ProviderKind::Cos,
            VendorBucket::S3(_) => ProviderKind::S3,
        }
    }
}

pub struct BucketSettings {
    /// The config name (`[buckets.<name>]`).
    pub name: String,
    pub bucket: String,
    pub endpoint: Url,
    pub region: String,
    pub url_style: UrlStyle,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    pub upstream_timeout: Duration,
    pub vendor: VendorBucket,
}

impl BucketSettings {
    pub fn kind(&self) -> ProviderKind {
        self.vendor.kind()
    }
}

/// A bucket's vendor-neutral keys, already checked: what a vendor's own checks may need
/// besides its own keys (OSS's STS section reuses the bucket's key pair by default).
struct Shared<'a> {
    /// The config name, for naming keys in errors.
    name: &'a str,
    bucket: &'a str,
    region: &'a str,
    access_key_id: &'a str,
    access_key_secret: &'a SecretString,
    world_readable_ok: bool,
}

impl Shared<'_> {
    fn key(&self, k: &str) -> String {
        format!("buckets.{}.{k}", self.name)
    }

    /// The key pair a `[buckets.*.sts]` section calls STS with: its own (both halves set),
    /// or the bucket's (neither).
    fn sts_keys(
        &self,
        id: Option<String>,
        inline_secret: Option<SecretString>,
        secret_file: Option<&std::path::Path>,
    ) -> Result<(String, SecretString), ConfigError> {
        let key = |k: &str| self.key(&format!("sts.{k}"));
        let own_secret = super::secret::resolve(
            &key("access_key_secret"),
            inline_secret,
            secret_file,
            self.world_readable_ok,
        )?;
        match (id, own_secret) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            (None, None) => Ok((
                self.access_key_id.to_string(),
                self.access_key_secret.clone(),
            )),
            _ => Err(ConfigError::new(
                &key("access_key_id"),
                "set both access_key_id and access_key_secret(_file), or neither to reuse the bucket's",
            )),
        }
    }
}

pub(super) fn validate(
    name: &str,
    b: raw::BucketSection,
    world: bool,
) -> Result<BucketSettings, ConfigError> {
    // Every raw key is named here, so a key added to `BucketSection` does not compile until
    // it is handed to the vendors that read it. A vendor's arm must refuse a vendor-only key
    // it does not read rather than ignore it.
    let raw::BucketSection {
        provider,
        bucket,
        endpoint,
        region,
        signature_version,
        url_style,
        access_key_id,
        access_key_secret,
        access_key_secret_file,
        upstream_timeout_ms,
        sts,
    } = b;
    let key = |k: &str| format!("buckets.{name}.{k}");
    let kind = ProviderKind::parse(&provider).ok_or_else(|| {
        let supported: Vec<_> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        ConfigError::new(
            &key("provider"),
            format!(
                "unknown provider '{provider}' (supported: {})",
                supported.join(", ")
            ),
        )
    })?;
    let (cos_endpoint, endpoint) = match kind {
        ProviderKind::Cos => cos::endpoint(&bucket, &region, &endpoint),
        ProviderKind::S3 => (String::new(), s3::endpoint(&region, &endpoint)),
        ProviderKind::Oss => (String::new(), endpoint),
    };
    let endpoint = parse_http_url(&key("endpoint"), &endpoint)?;
    if endpoint.path() != "/" || endpoint.query().is_some() {
        return Err(ConfigError::new(
            &key("endpoint"),
            "must be a bare origin such as https://oss-cn-hangzhou.aliyuncs.com",
        ));
    }
    let url_style_raw = url_style;
    let url_style = match (kind, url_style_raw.as_deref().unwrap_or("virtual-hosted")) {
        (ProviderKind::S3, _) => s3::url_style(name, url_style_raw.as_deref())?,
        (_, "virtual-hosted") => UrlStyle::VirtualHosted,
        (_, "cname") => UrlStyle::Cname,
        (_, "path") => UrlStyle::Path,
        (_, other) => {
            return Err(ConfigError::new(
                &key("url_style"),
                format!("'{other}' is not virtual-hosted, cname or path"),
            ));
        }
    };
    if region.is_empty() {
        return Err(ConfigError::new(&key("region"), "must not be empty"));
    }
    if access_key_id.is_empty() {
        return Err(ConfigError::new(&key("access_key_id"), "must not be empty"));
    }
    let access_key_secret = secret::require(
        &key("access_key_secret"),
        access_key_secret,
        access_key_secret_file.as_deref(),
        world,
    )?;
    let upstream_timeout = ms(
        &key("upstream_timeout_ms"),
        upstream_timeout_ms.unwrap_or(10_000),
    )?;
    let shared = Shared {
        name,
        bucket: &bucket,
        region: &region,
        access_key_id: &access_key_id,
        access_key_secret: &access_key_secret,
        world_readable_ok: world,
    };
    let vendor = match kind {
        ProviderKind::Oss => VendorBucket::Oss(oss::validate(&shared, signature_version, sts)?),
        ProviderKind::Cos => VendorBucket::Cos(cos::validate(
            &shared,
            cos_endpoint,
            signature_version,
            url_style_raw.as_deref(),
            sts,
        )?),
        ProviderKind::S3 => VendorBucket::S3(s3::validate(&shared, signature_version, sts)?),
    };
    Ok(BucketSettings {
        name: name.to_string(),
        bucket,
        endpoint,
        region,
        url_style,
        access_key_id,
        access_key_secret,
        upstream_timeout,
        vendor,
    })
}
