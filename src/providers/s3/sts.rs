//! AWS STS AssumeRole (also served by MinIO): the SigV4-signed POST, the inline session
//! policy that narrows the role to one user's prefix, and the answer's credentials.

use super::Signer;
use super::control::SignedRequest;
use super::headers::HeaderRequest;
use super::sigv4::sha256_hex;
use super::types::{BucketName, InputError, Method};
use super::xml::{XmlError, error_code};
use crate::providers::encoding::encode;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// What a client may do under its prefix: single PUTs and multipart (in S3, initiating and
/// completing a multipart upload is `s3:PutObject`), abort and list its parts. Nothing at
/// bucket level.
pub const ACTIONS: [&str; 3] = [
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsInputError {
    #[error("the prefix must be non-empty and free of IAM wildcards and variables (* ? $)")]
    Prefix,
    #[error("role ARN must start with arn: and be at most 2048 characters")]
    RoleArn,
    #[error("session name must be 2-64 characters of [A-Za-z0-9+=,.@_-]")]
    SessionName,
    #[error("duration must be 900..=43200 seconds")]
    Duration,
    #[error("STS endpoint must be http(s)://host[:port]/")]
    Endpoint,
    #[error(transparent)]
    Signing(#[from] InputError),
}

/// A user's key prefix as it may appear in a policy `Resource`: a `*`, `?` or `${...}` in it
/// would widen the grant beyond the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPrefix(String);

impl PolicyPrefix {
    pub fn parse(s: &str) -> Result<Self, StsInputError> {
        if s.is_empty() || s.contains(['*', '?', '$']) || s.chars().any(char::is_control) {
            return Err(StsInputError::Prefix);
        }
        Ok(PolicyPrefix(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyDoc<'a> {
    version: &'a str,
    statement: [Statement<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement<'a> {
    effect: &'a str,
    action: [&'a str; 3],
    resource: [String; 1],
}

/// The session policy JSON (compact, fields in the order IAM documents them).
pub fn session_policy(bucket: &BucketName, prefix: &PolicyPrefix) -> String {
    serde_json::to_string(&PolicyDoc {
        version: "2012-10-17",
        statement: [Statement {
            effect: "Allow",
            action: ACTIONS,
            resource: [format!(
                "arn:aws:s3:::{}/{}*",
                bucket.as_str(),
                prefix.as_str()
            )],
        }],
    })
    .expect("plain strings serialise")
}

pub struct AssumeRole<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_secs: u32,
    /// From [`session_policy`].
    pub policy: &'a str,
    pub now: OffsetDateTime,
}

impl Signer {
    /// The AssumeRole POST to `endpoint` (e.g. `https://sts.amazonaws.com/`). The signer must
    /// be made for [`super::Service::Sts`] and the endpoint's region.
    pub fn assume_role(
        &self,
        endpoint: &url::Url,
        req: &AssumeRole<'_>,
    ) -> Result<SignedRequest, StsInputError> {
        if !req.role_arn.starts_with("arn:") || req.role_arn.len() > 2048 {
            return Err(StsInputError::RoleArn);
        }
        let name_ok = (2..=64).contains(&req.session_name.len())
            && req
                .session_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
        if !name_ok {
            return Err(StsInputError::SessionName);
        }
        if !(900..=43_200).contains(&req.duration_secs) {
            return Err(StsInputError::Duration);
        }
        let host = match (endpoint.scheme(), endpoint.host_str(), endpoint.path()) {
            ("https" | "http", Some(h), "/") if endpoint.query().is_none() => match endpoint.port()
            {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            },
            _ => return Err(StsInputError::Endpoint),
        };
        let duration = req.duration_secs.to_string();
        let params = [
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", req.role_arn),
            ("RoleSessionName", req.session_name),
            ("DurationSeconds", &duration),
            ("Policy", req.policy),
        ];
        let mut body = String::with_capacity(512);
        for (i, (k, v)) in params.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            body.push_str(k);
            body.push('=');
            body.push_str(&encode(v));
        }
        let hash = sha256_hex(body.as_bytes());
        let signed = self.sign_headers(&HeaderRequest {
            method: Method::Post,
            host: &host,
            path: "/",
            query: &[],
            headers: &[("Content-Type", CONTENT_TYPE)],
            payload_sha256: &hash,
            now: req.now,
        })?;
        Ok(SignedRequest {
            method: Method::Post,
            url: endpoint.as_str().to_string(),
            headers: signed.headers,
            body: body.into_bytes(),
        })
    }
}

/// Temporary credentials from an AssumeRole answer. Debug hides the secrets.
pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub session_token: SecretString,
    /// RFC 3339, as STS wrote it.
    pub expiration: String,
}

impl std::fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ResponseDoc {
    #[serde(rename = "AssumeRoleResult")]
    result: ResultDoc,
}
#[derive(Deserialize)]
struct ResultDoc {
    #[serde(rename = "Credentials")]
    credentials: CredentialsDoc,
}
#[derive(Deserialize)]
struct CredentialsDoc {
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: String,
    #[serde(rename = "SessionToken")]
    session_token: String,
    #[serde(rename = "Expiration")]
    expiration: String,
}

pub fn parse_assume_role(body: &[u8]) -> Result<TemporaryCredentials, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::Unreadable("not UTF-8".into()))?;
    // STS wraps errors in <ErrorResponse><Error>..., S3-compatible servers sometimes not.
    if let Some(code) = error_code(text).or_else(|| {
        text.contains("<ErrorResponse")
            .then(|| quick_xml::de::from_str::<ErrorResponse>(text).ok())
            .flatten()
            .map(|e| e.error.code)
    }) {
        return Err(XmlError::S3 { code });
    }
    let d: ResponseDoc =
        quick_xml::de::from_str(text).map_err(|e| XmlError::Unreadable(e.to_string()))?;
    let c = d.result.credentials;
    Ok(TemporaryCredentials {
        access_key_id: c.access_key_id,
        secret_access_key: SecretString::from(c.secret_access_key),
        session_token: SecretString::from(c.session_token),
        expiration: c.expiration,
    })
}

#[derive(Deserialize)]
struct ErrorResponse {
    #[serde(rename = "Error")]
    error: ErrorInner,
}
#[derive(Deserialize)]
struct ErrorInner {
    #[serde(rename = "Code")]
    code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_policy_names_only_the_prefix() {
        let p = session_policy(
            &BucketName::parse("examplebucket").unwrap(),
            &PolicyPrefix::parse("uploads/user-1/").unwrap(),
        );
        assert_eq!(
            p,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":["arn:aws:s3:::examplebucket/uploads/user-1/*"]}]}"#
        );
        for bad in ["", "a/*", "a/?", "a/${aws:username}/"] {
            assert_eq!(
                PolicyPrefix::parse(bad),
                Err(StsInputError::Prefix),
                "{bad}"
            );
        }
    }

    #[test]
    fn answers_and_errors_are_told_apart() {
        let ok = br#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2023-11-14T22:28:20Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"#;
        let c = parse_assume_role(ok).unwrap();
        assert_eq!(c.access_key_id, "ASIAX");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let err = br#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code></Error></ErrorResponse>"#;
        assert_eq!(
            parse_assume_role(err).unwrap_err(),
            XmlError::S3 {
                code: "AccessDenied".into()
            }
        );
    }
}
