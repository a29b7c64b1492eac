//! The keys only S3-compatible buckets have (AWS S3, Garage, MinIO, R2, Ceph RGW): the
//! endpoint (default `https://s3.<region>.amazonaws.com`), `url_style = "virtual" | "path"`,
//! S3's bucket naming rules and the AWS STS AssumeRole section (MinIO serves it too).
//! Keys meant for OSS or COS are refused.

use super::{Shared, UrlStyle};
use crate::config::values::{ms, parse_http_url};
use crate::config::{ConfigError, raw};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

pub const DEFAULT_ENDPOINT: &str = "https://s3.{region}.amazonaws.com";
const DEFAULT_STS_ENDPOINT: &str = "https://sts.amazonaws.com";

#[derive(Debug, Clone)]
pub struct S3Bucket {
    /// Without it the bucket hands out no temporary credentials.
    pub sts: Option<S3StsSettings>,
}

#[derive(Debug, Clone)]
pub struct S3StsSettings {
    pub endpoint: Url,
    pub role_arn: String,
    /// The SigV4 signing region of STS (default: the bucket's).
    pub region: String,
    pub duration: Duration,
    pub timeout: Duration,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
}

/// The endpoint with `{region}` filled in (the default one is AWS's regional endpoint).
pub(super) fn endpoint(region: &str, configured: &str) -> String {
    let template = if configured.is_empty() {
        DEFAULT_ENDPOINT
    } else {
        configured
    };
    template.replace("{region}", region)
}

/// `virtual` (AWS's default) or `path` (what Garage, MinIO and most local stores expect).
pub(super) fn url_style(name: &str, raw: Option<&str>) -> Result<UrlStyle, ConfigError> {
    match raw.unwrap_or("virtual") {
        "virtual" => Ok(UrlStyle::VirtualHosted),
        "path" => Ok(UrlStyle::Path),
        other => Err(ConfigError::new(
            &format!("buckets.{name}.url_style"),
            format!("'{other}' is not virtual or path (S3 buckets)"),
        )),
    }
}

pub(super) fn validate(
    b: &Shared<'_>,
    signature_version: Option<String>,
    sts: Option<raw::StsSection>,
) -> Result<S3Bucket, ConfigError> {
    check_bucket_name(b)?;
    if signature_version.is_some() {
        return Err(ConfigError::new(
            &b.key("signature_version"),
            "is an OSS key; S3 buckets always sign with SigV4",
        ));
    }
    let region_ok = b.region.len() <= 64
        && b.region
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
    if !region_ok {
        return Err(ConfigError::new(
            &b.key("region"),
            "must be 1-64 characters of a-z, 0-9 and '-' (e.g. eu-central-1, or garage)",
        ));
    }
    Ok(S3Bucket {
        sts: sts.map(|s| validate_sts(b, s)).transpose()?,
    })
}

/// S3's strict naming rules, which every S3-compatible store accepts.
fn check_bucket_name(b: &Shared<'_>) -> Result<(), ConfigError> {
    let n = b.bucket.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = (3..=63).contains(&n.len())
        && edge(n[0])
        && edge(n[n.len() - 1])
        && n.iter().all(|&c| edge(c) || c == b'.' || c == b'-')
        && !b.bucket.contains("..");
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            &b.key("bucket"),
            "S3 bucket names are 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit",
        ))
    }
}

fn validate_sts(b: &Shared<'_>, s: raw::StsSection) -> Result<S3StsSettings, ConfigError> {
    let key = |k: &str| b.key(&format!("sts.{k}"));
    if s.action.is_some() {
        return Err(ConfigError::new(
            &key("action"),
            "is a COS key; S3 buckets always use AssumeRole",
        ));
    }
    if !s.role_arn.starts_with("arn:") || s.role_arn.len() > 2048 {
        return Err(ConfigError::new(
            &key("role_arn"),
            "must look like arn:aws:iam::<account>:role/<name> (MinIO: arn:minio:iam:::role/<id>)",
        ));
    }
    if !(900..=43200).contains(&s.duration_secs) {
        return Err(ConfigError::new(
            &key("duration_secs"),
            "must be between 900 and 43200",
        ));
    }
    let (access_key_id, access_key_secret) = b.sts_keys(
        s.access_key_id,
        s.access_key_secret,
        s.access_key_secret_file.as_deref(),
    )?;
    let endpoint = parse_http_url(
        &key("endpoint"),
        s.endpoint.as_deref().unwrap_or(DEFAULT_STS_ENDPOINT),
    )?;
    if endpoint.path() != "/" || endpoint.query().is_some() {
        return Err(ConfigError::new(
            &key("endpoint"),
            "must be a bare origin such as https://sts.amazonaws.com",
        ));
    }
    Ok(S3StsSettings {
        endpoint,
        role_arn: s.role_arn,
        region: s.region.unwrap_or_else(|| b.region.to_string()),
        duration: Duration::from_secs(s.duration_secs),
        timeout: ms(&key("timeout_ms"), s.timeout_ms)?,
        access_key_id,
        access_key_secret,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::MINIMAL;
    use crate::config::{Settings, UrlStyle, VendorBucket};
    use crate::domain::UploadKind;

    /// MINIMAL with its bucket at S3: `lines` replace the OSS endpoint, `extra` follows the
    /// secret (bucket keys, then maybe an STS section).
    fn s3_settings(lines: &str, extra: &str) -> Result<Settings, String> {
        let text = MINIMAL
            .replace("provider = \"oss\"", "provider = \"s3\"")
            .replace(
                "endpoint = \"https://oss-cn-hangzhou.aliyuncs.com\"\n",
                lines,
            )
            .replace("cn-hangzhou", "eu-central-1")
            .replace(
                "access_key_secret = \"FakeAccessKeySecret0000000000000\"",
                &format!("access_key_secret = \"FakeAccessKeySecret0000000000000\"\n{extra}"),
            );
        Settings::from_toml(&text).map_err(|e| e.to_string())
    }

    #[test]
    fn an_s3_bucket_defaults_to_the_aws_regional_endpoint_virtual_style_and_no_append() {
        let s = s3_settings("", "").unwrap();
        let b = &s.buckets["main"];
        assert_eq!(b.kind().as_str(), "s3");
        assert_eq!(
            b.endpoint.as_str(),
            "https://s3.eu-central-1.amazonaws.com/"
        );
        assert_eq!(b.url_style, UrlStyle::VirtualHosted);
        let VendorBucket::S3(s3) = &b.vendor else {
            panic!("s3")
        };
        assert!(s3.sts.is_none());
        // Append is not an S3 operation: a profile without `kinds` does not get it.
        assert!(!s.profiles["avatars"].allows(UploadKind::Append));
    }

    #[test]
    fn path_style_endpoints_and_an_sts_section_are_read() {
        let s = s3_settings(
            "endpoint = \"http://127.0.0.1:3900\"\nurl_style = \"path\"\n",
            "[buckets.main.sts]\nrole_arn = \"arn:aws:iam::123456789012:role/uploads\"\nendpoint = \"http://127.0.0.1:9000\"\n",
        )
        .unwrap();
        let b = &s.buckets["main"];
        assert_eq!(b.url_style, UrlStyle::Path);
        let VendorBucket::S3(s3) = &b.vendor else {
            panic!("s3")
        };
        let sts = s3.sts.as_ref().unwrap();
        assert_eq!(sts.endpoint.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(sts.region, "eu-central-1");
        assert_eq!(sts.access_key_id, "LTAI5tFakeAccessKeyId000");
    }

    #[test]
    fn s3_keys_are_checked_by_s3_rules_and_other_vendors_keys_are_refused() {
        let cases = [
            (
                "url_style = \"cname\"\n",
                "",
                "buckets.main.url_style: 'cname' is not virtual or path",
            ),
            (
                "signature_version = \"v4\"\n",
                "",
                "buckets.main.signature_version: is an OSS key",
            ),
            (
                "",
                "[buckets.main.sts]\nrole_arn = \"acs:ram::1:role/x\"\n",
                "buckets.main.sts.role_arn: must look like arn:aws:iam::",
            ),
            (
                "",
                "[buckets.main.sts]\nrole_arn = \"arn:aws:iam::1:role/x\"\naction = \"AssumeRole\"\n",
                "buckets.main.sts.action: is a COS key",
            ),
            (
                "endpoint = \"http://127.0.0.1:3900/base\"\n",
                "",
                "buckets.main.endpoint: must be a bare origin",
            ),
        ];
        for (lines, extra, want) in cases {
            let e = s3_settings(lines, extra).err().unwrap();
            assert!(e.contains(want), "{want}: {e}");
        }
        let e = Settings::from_toml(
            &MINIMAL
                .replace("provider = \"oss\"", "provider = \"s3\"")
                .replace("examplebucket", "Example_Bucket"),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("buckets.main.bucket: S3 bucket names"), "{e}");
    }

    #[test]
    fn a_profile_that_lists_append_on_an_s3_bucket_is_refused() {
        let text = MINIMAL
            .replace("provider = \"oss\"", "provider = \"s3\"")
            .replace("cn-hangzhou", "eu-central-1")
            + "kinds = [\"presign\", \"append\"]\n";
        let e = Settings::from_toml(&text).err().unwrap().to_string();
        assert!(
            e.contains("profiles.avatars.kinds: append is not an S3 operation"),
            "{e}"
        );
    }
}
