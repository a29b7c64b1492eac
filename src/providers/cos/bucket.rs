//! COS bucket names (which carry the account's APPID) and where a bucket lives on the wire.

use crate::providers::encoding::PATH;
use percent_encoding::utf8_percent_encode;
use std::fmt;

/// COS caps the whole name, `-<appid>` included, at 50 characters.
pub const MAX_BUCKET_NAME: usize = 50;

/// A full COS bucket name, `<name>-<appid>` (`examplebucket-1250000000`). STS resources and
/// hosts need the APPID, and a short name in either is a silent AccessDenied
/// (qcloud-cos-sts-sdk #25), so only the full form can be constructed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BucketName {
    full: String,
    dash: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketNameError {
    #[error("COS bucket name must be '<name>-<appid>', e.g. examplebucket-1250000000")]
    MissingAppId,
    #[error("COS bucket name is {0} characters; the limit is {MAX_BUCKET_NAME}")]
    TooLong(usize),
    #[error("COS bucket name may hold only a-z, 0-9 and '-', and not start or end with '-'")]
    BadCharacter,
}

impl BucketName {
    pub fn parse(s: &str) -> Result<Self, BucketNameError> {
        if s.len() > MAX_BUCKET_NAME {
            return Err(BucketNameError::TooLong(s.len()));
        }
        let dash = s.rfind('-').ok_or(BucketNameError::MissingAppId)?;
        let (name, appid) = (&s[..dash], &s[dash + 1..]);
        if name.is_empty() || appid.is_empty() || !appid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BucketNameError::MissingAppId);
        }
        let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        if !name.bytes().all(ok_char) || name.starts_with('-') || name.ends_with('-') {
            return Err(BucketNameError::BadCharacter);
        }
        Ok(BucketName {
            full: s.to_string(),
            dash,
        })
    }

    /// `examplebucket-1250000000`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// `1250000000`.
    pub fn appid(&self) -> &str {
        &self.full[self.dash + 1..]
    }

    /// `examplebucket`.
    pub fn short_name(&self) -> &str {
        &self.full[..self.dash]
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BucketName({})", self.full)
    }
}

/// A region id such as `ap-guangzhou`. It ends up in hosts and STS resources, so it is
/// checked rather than trusted.
pub fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error("COS region '{0}' is not a region id (a-z, 0-9, '-')")]
    Region(String),
    #[error("COS endpoint: {0}")]
    Endpoint(String),
}

/// Scheme and host (with a non-default port) that requests for one bucket go to; the host
/// is what gets signed as `host`.
#[derive(Debug, Clone)]
pub struct CosLocation {
    scheme: String,
    host: String,
    bucket: BucketName,
    region: String,
}

impl CosLocation {
    /// `https://<bucket>.cos.<region>.myqcloud.com`.
    pub fn new(bucket: BucketName, region: &str) -> Result<Self, LocationError> {
        Self::with_endpoint(bucket, region, "https://{bucket}.cos.{region}.myqcloud.com")
    }

    /// A configured endpoint: a URL whose host may hold `{bucket}` and `{region}`, as the
    /// COS SDKs' `Domain` option does (`https://{bucket}.cos.accelerate.myqcloud.com`), or a
    /// fixed host (custom or CDN domain, a local store on loopback).
    pub fn with_endpoint(
        bucket: BucketName,
        region: &str,
        endpoint: &str,
    ) -> Result<Self, LocationError> {
        if !valid_region(region) {
            return Err(LocationError::Region(region.to_string()));
        }
        let filled = endpoint
            .replace("{bucket}", bucket.as_str())
            .replace("{region}", region);
        let url = url::Url::parse(&filled).map_err(|e| LocationError::Endpoint(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LocationError::Endpoint(
                "scheme must be http or https".into(),
            ));
        }
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(LocationError::Endpoint(
                "give scheme and host only (no path, query or user)".into(),
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| LocationError::Endpoint("no host".into()))?;
        let host = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        Ok(CosLocation {
            scheme: url.scheme().to_string(),
            host,
            bucket,
            region: region.to_string(),
        })
    }

    pub fn bucket(&self) -> &BucketName {
        &self.bucket
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Exactly the `Host` header an HTTP client sends for this location.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// With a trailing `/`: where PostObject forms go.
    pub fn bucket_url(&self) -> String {
        let mut u = String::with_capacity(self.scheme.len() + self.host.len() + 4);
        self.push_bucket_url(&mut u);
        u
    }

    pub(crate) fn push_bucket_url(&self, out: &mut String) {
        out.push_str(&self.scheme);
        out.push_str("://");
        out.push_str(&self.host);
        out.push('/');
    }

    /// The object's URL, without a query.
    pub fn object_url(&self, key: &str) -> String {
        let mut u = String::with_capacity(self.scheme.len() + self.host.len() + key.len() + 8);
        self.push_object_url(&mut u, key);
        u
    }

    /// Percent-encoded as cos-python-sdk-v5 does, `/` kept, and `./` written `.%2F` so no
    /// HTTP client folds a dot segment away and sends a path other than the one signed.
    pub(crate) fn push_object_url(&self, out: &mut String, key: &str) {
        self.push_bucket_url(out);
        let start = out.len();
        out.extend(utf8_percent_encode(key, PATH));
        if out[start..].contains("./") {
            let fixed = out[start..].replace("./", ".%2F");
            out.truncate(start);
            out.push_str(&fixed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> BucketName {
        BucketName::parse("examplebucket-1250000000").unwrap()
    }

    #[test]
    fn a_full_bucket_name_splits_into_name_and_appid() {
        let b = bucket();
        assert_eq!(b.short_name(), "examplebucket");
        assert_eq!(b.appid(), "1250000000");
        assert_eq!(
            BucketName::parse("my-photos-2-1250000000")
                .unwrap()
                .short_name(),
            "my-photos-2"
        );
    }

    #[test]
    fn bucket_names_without_appid_or_with_bad_characters_are_refused() {
        use BucketNameError::*;
        for (s, e) in [
            ("examplebucket", MissingAppId),
            ("examplebucket-", MissingAppId),
            ("-1250000000", MissingAppId),
            ("examplebucket-12500x0000", MissingAppId),
            ("Example-1250000000", BadCharacter),
            ("ex_ample-1250000000", BadCharacter),
            ("ex.ample-1250000000", BadCharacter),
            ("example--1250000000", BadCharacter),
            ("-example-1250000000", BadCharacter),
        ] {
            assert_eq!(BucketName::parse(s), Err(e), "{s}");
        }
        let long = format!("{}-1250000000", "a".repeat(40));
        assert_eq!(BucketName::parse(&long), Err(TooLong(51)));
        assert!(BucketName::parse(&format!("{}-1250000000", "a".repeat(39))).is_ok());
    }

    #[test]
    fn the_default_endpoint_is_the_virtual_hosted_myqcloud_domain() {
        let loc = CosLocation::new(bucket(), "ap-guangzhou").unwrap();
        assert_eq!(
            loc.host(),
            "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com"
        );
        assert_eq!(
            loc.object_url("a b/腾讯云.jpg"),
            "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/a%20b/%E8%85%BE%E8%AE%AF%E4%BA%91.jpg"
        );
    }

    #[test]
    fn configured_endpoints_fill_placeholders_and_keep_ports() {
        let loc = CosLocation::with_endpoint(
            bucket(),
            "ap-guangzhou",
            "https://{bucket}.cos.accelerate.myqcloud.com",
        )
        .unwrap();
        assert_eq!(
            loc.host(),
            "examplebucket-1250000000.cos.accelerate.myqcloud.com"
        );
        let loc =
            CosLocation::with_endpoint(bucket(), "ap-guangzhou", "http://127.0.0.1:9100").unwrap();
        assert_eq!(loc.bucket_url(), "http://127.0.0.1:9100/");
        for bad in [
            "ftp://x",
            "https://cdn.example.com/sub",
            "https://u@x",
            "not a url",
        ] {
            assert!(
                CosLocation::with_endpoint(bucket(), "ap-guangzhou", bad).is_err(),
                "{bad}"
            );
        }
        assert!(CosLocation::new(bucket(), "ap-guangzhou.evil.com/").is_err());
    }

    #[test]
    fn dot_segments_survive_into_the_url() {
        let loc = CosLocation::new(bucket(), "ap-guangzhou").unwrap();
        let u = loc.object_url("a/./b/../c");
        assert!(u.ends_with("/a/.%2Fb/..%2Fc"), "{u}");
        assert_eq!(url::Url::parse(&u).unwrap().path(), "/a/.%2Fb/..%2Fc");
    }
}
