//! The keys only Alibaba OSS buckets have: the signature version and the STS (RAM
//! AssumeRole) section, and OSS's rule for bucket names.

use super::Shared;
use crate::config::values::{ms, parse_http_url};
use crate::config::{ConfigError, raw};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    V1,
    V4,
}

#[derive(Debug, Clone)]
pub struct OssBucket {
    pub signature_version: SignatureVersion,
    /// Without it the bucket hands out no temporary credentials.
    pub sts: Option<OssStsSettings>,
}

#[derive(Debug, Clone)]
pub struct OssStsSettings {
    pub endpoint: Url,
    pub role_arn: String,
    pub duration: Duration,
    pub timeout: Duration,
    pub access_key_id: String,
    pub access_key_secret: SecretString,
}

pub(super) fn validate(
    b: &Shared<'_>,
    signature_version: Option<String>,
    sts: Option<raw::StsSection>,
) -> Result<OssBucket, ConfigError> {
    check_bucket_name(b)?;
    let signature_version = match signature_version.as_deref().unwrap_or("v4") {
        "v1" => SignatureVersion::V1,
        "v4" => SignatureVersion::V4,
        other => {
            return Err(ConfigError::new(
                &b.key("signature_version"),
                format!("'{other}' is not v1 or v4"),
            ));
        }
    };
    Ok(OssBucket {
        signature_version,
        sts: sts.map(|s| validate_sts(b, s)).transpose()?,
    })
}

fn check_bucket_name(b: &Shared<'_>) -> Result<(), ConfigError> {
    let name = b.bucket;
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            &b.key("bucket"),
            "bucket names are 3-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

fn validate_sts(b: &Shared<'_>, s: raw::StsSection) -> Result<OssStsSettings, ConfigError> {
    let key = |k: &str| b.key(&format!("sts.{k}"));
    for (name, set) in [
        ("action", s.action.is_some()),
        ("region", s.region.is_some()),
    ] {
        if set {
            return Err(ConfigError::new(
                &key(name),
                "is a COS key; OSS does not read it",
            ));
        }
    }
    if !(900..=43200).contains(&s.duration_secs) {
        return Err(ConfigError::new(
            &key("duration_secs"),
            "must be between 900 and 43200",
        ));
    }
    if !s.role_arn.starts_with("acs:ram::") {
        return Err(ConfigError::new(
            &key("role_arn"),
            "must look like acs:ram::<account>:role/<name>",
        ));
    }
    let (access_key_id, access_key_secret) = b.sts_keys(
        s.access_key_id,
        s.access_key_secret,
        s.access_key_secret_file.as_deref(),
    )?;
    Ok(OssStsSettings {
        endpoint: parse_http_url(
            &key("endpoint"),
            s.endpoint.as_deref().unwrap_or("https://sts.aliyuncs.com"),
        )?,
        role_arn: s.role_arn,
        duration: Duration::from_secs(s.duration_secs),
        timeout: ms(&key("timeout_ms"), s.timeout_ms)?,
        access_key_id,
        access_key_secret,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::MINIMAL;
    use crate::config::{Settings, SignatureVersion, VendorBucket};
    use secrecy::ExposeSecret;

    fn oss_bucket(extra: &str) -> Result<super::OssBucket, String> {
        let secret = "access_key_secret = \"FakeAccessKeySecret0000000000000\"";
        let text = MINIMAL.replace(secret, &format!("{secret}\n{extra}"));
        let s = Settings::from_toml(&text).map_err(|e| e.to_string())?;
        match &s.buckets["main"].vendor {
            VendorBucket::Oss(oss) => Ok(oss.clone()),
            _ => Err("not an OSS bucket".into()),
        }
    }

    #[test]
    fn an_oss_bucket_gets_v4_and_its_sts_reuses_the_bucket_key_pair() {
        let oss = oss_bucket("").unwrap();
        assert_eq!(oss.signature_version, SignatureVersion::V4);
        assert!(oss.sts.is_none());
        let oss = oss_bucket(
            "signature_version = \"v1\"\n[buckets.main.sts]\nrole_arn = \"acs:ram::1:role/up\"",
        )
        .unwrap();
        assert_eq!(oss.signature_version, SignatureVersion::V1);
        let sts = oss.sts.unwrap();
        assert_eq!(sts.access_key_id, "LTAI5tFakeAccessKeyId000");
        assert_eq!(
            sts.access_key_secret.expose_secret(),
            "FakeAccessKeySecret0000000000000"
        );
        assert_eq!(sts.endpoint.as_str(), "https://sts.aliyuncs.com/");
    }

    #[test]
    fn oss_keys_are_checked_by_oss_rules() {
        let e = oss_bucket("signature_version = \"v2\"").unwrap_err();
        assert_eq!(
            e,
            "config error: buckets.main.signature_version: 'v2' is not v1 or v4"
        );
        let e =
            oss_bucket("[buckets.main.sts]\nrole_arn = \"arn:aws:iam::1:role/up\"").unwrap_err();
        assert_eq!(
            e,
            "config error: buckets.main.sts.role_arn: must look like acs:ram::<account>:role/<name>"
        );
        let e = Settings::from_toml(&MINIMAL.replace("examplebucket", "Example_Bucket"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("config error: buckets.main.bucket: bucket names are 3-63"));
    }
}
