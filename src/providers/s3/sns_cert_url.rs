//! Which `SigningCertURL`s an SNS message may name. Checked on the raw string before
//! anything is fetched: official validators' host regex also matches an S3 bucket named
//! `sns` (`sns.s3.<region>.amazonaws.com`), so the host must equal
//! `sns.<region of the TopicArn>.amazonaws.com` exactly.

use super::sns_error::SnsError;

/// `arn:<partition>:sns:<region>:<account>:<topic>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicArn {
    arn: String,
    partition: String,
    region: String,
}

impl TopicArn {
    pub fn parse(s: &str) -> Result<Self, SnsError> {
        let parts: Vec<&str> = s.split(':').collect();
        let token = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let ok = parts.len() == 6
            && parts[0] == "arn"
            && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
            && parts[2] == "sns"
            && token(parts[3])
            && parts[4].len() == 12
            && parts[4].bytes().all(|b| b.is_ascii_digit())
            && token(parts[5])
            && !parts[3].contains('_');
        if !ok {
            return Err(SnsError::TopicArn);
        }
        Ok(TopicArn {
            arn: s.to_string(),
            partition: parts[1].to_string(),
            region: parts[3].to_string(),
        })
    }
    pub fn as_str(&self) -> &str {
        &self.arn
    }
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The only host SNS signs this topic's messages from.
    pub fn cert_host(&self) -> String {
        let suffix = if self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("sns.{}.{suffix}", self.region)
    }
}

/// Where certificates may come from besides the topic's own SNS host. Empty in production;
/// tests add the loopback server that serves the test certificate (`127.0.0.1:PORT`).
#[derive(Debug, Clone, Default)]
pub struct CertUrlPolicy {
    pub extra_hosts: Vec<String>,
}

/// A certificate URL that passed [`validate_cert_url`]: the only thing a fetcher should
/// accept, and what [`super::sns::verify`] checks the message against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedCertUrl(String);

impl ValidatedCertUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub fn validate_cert_url(
    raw: &str,
    topic: &TopicArn,
    policy: &CertUrlPolicy,
) -> Result<ValidatedCertUrl, SnsError> {
    let rest = raw
        .strip_prefix("https://")
        .ok_or(SnsError::CertUrlScheme)?;
    let (authority, path) = rest.split_at(rest.find('/').ok_or(SnsError::CertUrlPath)?);
    if authority.contains('@') {
        return Err(SnsError::CertUrlUserinfo);
    }
    // Anything a URL parser would rewrite is refused, so the string checked is the string
    // fetched: escapes, backslashes, dot segments, queries, fragments.
    if raw.contains(['%', '\\', '?', '#'])
        || raw.chars().any(|c| c.is_whitespace() || c.is_control())
        || path.split('/').any(|seg| seg == "." || seg == "..")
    {
        return Err(SnsError::CertUrlSyntax);
    }
    let known = authority.eq_ignore_ascii_case(&topic.cert_host())
        || policy.extra_hosts.iter().any(|h| h == authority);
    if !known {
        return Err(if authority.contains(':') {
            SnsError::CertUrlPort
        } else {
            SnsError::CertUrlHost
        });
    }
    let name = path
        .strip_prefix("/SimpleNotificationService-")
        .and_then(|p| p.strip_suffix(".pem"))
        .ok_or(SnsError::CertUrlPath)?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SnsError::CertUrlPath);
    }
    // A last check with a real parser: it must agree on scheme, host and path.
    let parsed = url::Url::parse(raw).map_err(|_| SnsError::CertUrlSyntax)?;
    if parsed.scheme() != "https" || parsed.path() != path || !parsed.username().is_empty() {
        return Err(SnsError::CertUrlSyntax);
    }
    Ok(ValidatedCertUrl(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<ValidatedCertUrl, SnsError> {
        let topic = TopicArn::parse("arn:aws:sns:eu-central-1:123456789012:upload-events").unwrap();
        validate_cert_url(url, &topic, &CertUrlPolicy::default())
    }

    #[test]
    fn only_the_topics_own_sns_host_and_path_pass() {
        let good = "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0a1B.pem";
        assert_eq!(check(good).unwrap().as_str(), good);
        let cases = [
            (
                "http://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0.pem",
                SnsError::CertUrlScheme,
            ),
            (
                "https://sns.s3.eu-central-1.amazonaws.com/SimpleNotificationService-0.pem",
                SnsError::CertUrlHost,
            ),
            (
                "https://sns.s3-eu-central-1.amazonaws.com/SimpleNotificationService-0.pem",
                SnsError::CertUrlHost,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0.pem",
                SnsError::CertUrlHost,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com.evil.example/SimpleNotificationService-0.pem",
                SnsError::CertUrlHost,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com@evil.example/SimpleNotificationService-0.pem",
                SnsError::CertUrlUserinfo,
            ),
            (
                "https://u:p@sns.eu-central-1.amazonaws.com/SimpleNotificationService-0.pem",
                SnsError::CertUrlUserinfo,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com:8443/SimpleNotificationService-0.pem",
                SnsError::CertUrlPort,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com/evil.pem",
                SnsError::CertUrlPath,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-.pem",
                SnsError::CertUrlPath,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com/x/SimpleNotificationService-0.pem",
                SnsError::CertUrlPath,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com",
                SnsError::CertUrlPath,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com/x/../SimpleNotificationService-0.pem",
                SnsError::CertUrlSyntax,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com/%2e%2e/SimpleNotificationService-0.pem",
                SnsError::CertUrlSyntax,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com%2Fevil/SimpleNotificationService-0.pem",
                SnsError::CertUrlSyntax,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0.pem?x=1",
                SnsError::CertUrlSyntax,
            ),
            (
                "https://sns.eu-central-1.amazonaws.com\\@evil/SimpleNotificationService-0.pem",
                SnsError::CertUrlUserinfo,
            ),
        ];
        for (url, want) in cases {
            assert_eq!(check(url).unwrap_err(), want, "{url}");
        }
    }

    #[test]
    fn test_hosts_are_exact_authorities_and_partitions_pick_the_suffix() {
        let topic = TopicArn::parse("arn:aws:sns:eu-central-1:123456789012:t").unwrap();
        let policy = CertUrlPolicy {
            extra_hosts: vec!["127.0.0.1:8443".into()],
        };
        let u = "https://127.0.0.1:8443/SimpleNotificationService-0.pem";
        assert!(validate_cert_url(u, &topic, &policy).is_ok());
        let u = "https://127.0.0.1:8444/SimpleNotificationService-0.pem";
        assert_eq!(
            validate_cert_url(u, &topic, &policy).unwrap_err(),
            SnsError::CertUrlPort
        );
        let cn = TopicArn::parse("arn:aws-cn:sns:cn-north-1:123456789012:t").unwrap();
        assert_eq!(cn.cert_host(), "sns.cn-north-1.amazonaws.com.cn");
        for bad in [
            "arn:aws:sns:eu-central-1:1234:t",
            "arn:aws:s3:eu-central-1:123456789012:t",
            "arn:aws:sns:eu.central:123456789012:t",
        ] {
            assert_eq!(
                TopicArn::parse(bad).unwrap_err(),
                SnsError::TopicArn,
                "{bad}"
            );
        }
    }
}
