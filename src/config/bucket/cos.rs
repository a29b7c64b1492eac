//! The keys only Tencent COS buckets have: the bucket name with its APPID, the endpoint
//! (default `https://<bucket>.cos.<region>.myqcloud.com`) and the Tencent STS section
//! (GetFederationToken or AssumeRole, TC3-signed). Keys meant for OSS are refused.

use super::Shared;
use crate::config::values::{ms, parse_http_url};
use crate::config::{ConfigError, raw};
use secrecy::SecretString;
use std::time::Duration;
use url::Url;

pub const DEFAULT_ENDPOINT: &str = "https://{bucket}.cos.{region}.myqcloud.com";
const DEFAULT_STS_ENDPOINT: &str = "https://sts.tencentcloudapi.com";

#[derive(Debug, Clone)]
pub struct CosBucket {
    /// As configured (`{bucket}` and `{region}` may appear in the host), or the default.
    pub endpoint_template: String,
    /// Without it the bucket hands out no temporary credentials.
    pub sts: Option<CosStsSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosStsAction {
    GetFederationToken,
    AssumeRole { role_arn: String },
}

#[derive(Debug, Clone)]
pub struct CosStsSettings {
    pub endpoint: Url,
    pub action: CosStsAction,
    pub region: String,
    pub duration: Duration,
    pub timeout: Duration,
    pub secret_id: String,
    pub secret_key: SecretString,
}

/// The endpoint with `{bucket}` and `{region}` filled in, for the vendor-neutral checks.
pub(super) fn endpoint(bucket: &str, region: &str, configured: &str) -> (String, String) {
    let template = if configured.is_empty() {
        DEFAULT_ENDPOINT
    } else {
        configured
    };
    let filled = template
        .replace("{bucket}", bucket)
        .replace("{region}", region);
    (template.to_string(), filled)
}

pub(super) fn validate(
    b: &Shared<'_>,
    endpoint_template: String,
    signature_version: Option<String>,
    url_style: Option<&str>,
    sts: Option<raw::StsSection>,
) -> Result<CosBucket, ConfigError> {
    check_bucket_name(b)?;
    if signature_version.is_some() {
        return Err(ConfigError::new(
            &b.key("signature_version"),
            "is an OSS key; COS signs with q-sign-algorithm=sha1",
        ));
    }
    if url_style.is_some() {
        return Err(ConfigError::new(
            &b.key("url_style"),
            "is an OSS key; give COS an endpoint (it may hold {bucket} and {region})",
        ));
    }
    Ok(CosBucket {
        endpoint_template,
        sts: sts.map(|s| validate_sts(b, s)).transpose()?,
    })
}

/// `<name>-<appid>`: the APPID is part of every COS bucket name.
fn check_bucket_name(b: &Shared<'_>) -> Result<(), ConfigError> {
    let ok = b.bucket.rsplit_once('-').is_some_and(|(name, appid)| {
        !name.is_empty()
            && name
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !name.starts_with('-')
            && !appid.is_empty()
            && appid.bytes().all(|c| c.is_ascii_digit())
    }) && b.bucket.len() <= 60;
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            &b.key("bucket"),
            "COS bucket names are <name>-<appid>, e.g. examplebucket-1250000000",
        ))
    }
}

fn validate_sts(b: &Shared<'_>, s: raw::StsSection) -> Result<CosStsSettings, ConfigError> {
    let key = |k: &str| b.key(&format!("sts.{k}"));
    let action = match s.action.as_deref().unwrap_or("GetFederationToken") {
        "GetFederationToken" if s.role_arn.is_empty() => CosStsAction::GetFederationToken,
        "GetFederationToken" => {
            return Err(ConfigError::new(
                &key("role_arn"),
                "only AssumeRole takes a role_arn; set action = \"AssumeRole\"",
            ));
        }
        "AssumeRole" if s.role_arn.starts_with("qcs::cam::") => CosStsAction::AssumeRole {
            role_arn: s.role_arn,
        },
        "AssumeRole" => {
            return Err(ConfigError::new(
                &key("role_arn"),
                "must look like qcs::cam::uin/<uin>:roleName/<name>",
            ));
        }
        other => {
            return Err(ConfigError::new(
                &key("action"),
                format!("'{other}' is not GetFederationToken or AssumeRole"),
            ));
        }
    };
    let max = match action {
        CosStsAction::GetFederationToken => 7200,
        CosStsAction::AssumeRole { .. } => 43200,
    };
    if !(900..=max).contains(&s.duration_secs) {
        return Err(ConfigError::new(
            &key("duration_secs"),
            format!("must be between 900 and {max}"),
        ));
    }
    let (secret_id, secret_key) = b.sts_keys(
        s.access_key_id,
        s.access_key_secret,
        s.access_key_secret_file.as_deref(),
    )?;
    Ok(CosStsSettings {
        endpoint: parse_http_url(
            &key("endpoint"),
            s.endpoint.as_deref().unwrap_or(DEFAULT_STS_ENDPOINT),
        )?,
        action,
        region: s.region.unwrap_or_else(|| b.region.to_string()),
        duration: Duration::from_secs(s.duration_secs),
        timeout: ms(&key("timeout_ms"), s.timeout_ms)?,
        secret_id,
        secret_key,
    })
}

#[cfg(test)]
mod tests {
    use super::CosStsAction;
    use crate::config::tests::MINIMAL;
    use crate::config::{Settings, VendorBucket};

    fn cos_bucket(bucket_lines: &str, extra: &str) -> Result<super::CosBucket, String> {
        let text = MINIMAL
            .replace("provider = \"oss\"", "provider = \"cos\"")
            .replace("bucket = \"examplebucket\"", bucket_lines)
            .replace("endpoint = \"https://oss-cn-hangzhou.aliyuncs.com\"\n", "")
            .replace("cn-hangzhou", "ap-guangzhou")
            .replace(
                "access_key_secret = \"FakeAccessKeySecret0000000000000\"",
                &format!("access_key_secret = \"FakeAccessKeySecret0000000000000\"\n{extra}"),
            );
        let s = Settings::from_toml(&text).map_err(|e| e.to_string())?;
        let b = &s.buckets["main"];
        match &b.vendor {
            VendorBucket::Cos(cos) => {
                assert_eq!(b.kind().as_str(), "cos");
                Ok(cos.clone())
            }
            _ => Err("not a COS bucket".into()),
        }
    }

    #[test]
    fn a_cos_bucket_gets_the_myqcloud_endpoint_and_federation_tokens_by_default() {
        let text = MINIMAL
            .replace("provider = \"oss\"", "provider = \"cos\"")
            .replace("examplebucket", "examplebucket-1250000000")
            .replace("endpoint = \"https://oss-cn-hangzhou.aliyuncs.com\"\n", "")
            .replace("cn-hangzhou", "ap-guangzhou")
            + "[buckets.main.sts]\n";
        let s = Settings::from_toml(&text).unwrap();
        assert_eq!(
            s.buckets["main"].endpoint.as_str(),
            "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/"
        );
        let VendorBucket::Cos(cos) = &s.buckets["main"].vendor else {
            panic!("cos")
        };
        let sts = cos.sts.as_ref().unwrap();
        assert_eq!(sts.action, CosStsAction::GetFederationToken);
        assert_eq!(sts.endpoint.as_str(), "https://sts.tencentcloudapi.com/");
        assert_eq!(sts.region, "ap-guangzhou");
    }

    #[test]
    fn cos_keys_are_checked_by_cos_rules_and_oss_keys_are_refused() {
        let appid = "bucket = \"examplebucket-1250000000\"";
        let e = cos_bucket("bucket = \"examplebucket\"", "").unwrap_err();
        assert!(e.contains("buckets.main.bucket: COS bucket names"), "{e}");
        let e = cos_bucket(appid, "signature_version = \"v4\"").unwrap_err();
        assert!(
            e.contains("buckets.main.signature_version: is an OSS key"),
            "{e}"
        );
        let e = cos_bucket(appid, "url_style = \"path\"").unwrap_err();
        assert!(e.contains("buckets.main.url_style: is an OSS key"), "{e}");
        let e = cos_bucket(
            appid,
            "[buckets.main.sts]\naction = \"AssumeRole\"\nrole_arn = \"acs:ram::1:role/x\"",
        )
        .unwrap_err();
        assert!(e.contains("sts.role_arn: must look like qcs::cam::"), "{e}");
        let ok = cos_bucket(
            appid,
            "endpoint = \"http://127.0.0.1:9100\"\n[buckets.main.sts]\naction = \"AssumeRole\"\nrole_arn = \"qcs::cam::uin/1:roleName/up\"\nendpoint = \"http://127.0.0.1:9100\"",
        )
        .unwrap();
        assert_eq!(ok.endpoint_template, "http://127.0.0.1:9100");
    }

    #[test]
    fn cos_sts_keys_are_refused_on_an_oss_bucket() {
        let text = format!(
            "{MINIMAL}\n[buckets.main.sts]\nrole_arn = \"acs:ram::1:role/up\"\naction = \"AssumeRole\"\n"
        );
        let e = Settings::from_toml(&text).err().unwrap().to_string();
        assert!(e.contains("buckets.main.sts.action: is a COS key"), "{e}");
    }
}
