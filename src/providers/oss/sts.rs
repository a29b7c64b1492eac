//! Alibaba Cloud STS AssumeRole: RPC-style request signing (pure) and the HTTP call.

use super::sign_v1::hmac_sha1_base64;
use crate::providers::encoding::encode;
use secrecy::SecretString;
use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The actions the resumable-upload SDKs call, plus PutObject: all a client needs to put
/// objects under its prefix, and nothing to read, list or delete.
pub const ALLOWED_ACTIONS: &[&str] = &[
    "oss:PutObject",
    "oss:InitiateMultipartUpload",
    "oss:UploadPart",
    "oss:ListParts",
    "oss:CompleteMultipartUpload",
    "oss:AbortMultipartUpload",
];

/// `METHOD&%2F&pct(canonical query)`: values end up encoded twice, as STS documents.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    sorted.sort();
    let canonical = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&{}&{}", encode("/"), encode(&canonical))
}

pub fn signature(access_key_secret: &str, string_to_sign: &str) -> String {
    hmac_sha1_base64(&format!("{access_key_secret}&"), string_to_sign)
}

/// The inline session policy: the upload actions on `<bucket>/<prefix>*` only.
pub fn inline_policy(bucket: &str, prefix: &str) -> String {
    serde_json::json!({
        "Version": "1",
        "Statement": [{
            "Effect": "Allow",
            "Action": ALLOWED_ACTIONS,
            "Resource": [format!("acs:oss:*:*:{bucket}/{prefix}*")],
        }]
    })
    .to_string()
}

pub struct AssumeRoleInput<'a> {
    pub access_key_id: &'a str,
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration_secs: u64,
    pub policy: &'a str,
    pub now: OffsetDateTime,
    pub nonce: &'a str,
}

pub fn timestamp(now: OffsetDateTime) -> String {
    now.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("0 ns is valid")
        .format(&Rfc3339)
        .expect("RFC 3339 formats any UTC time")
}

/// Every parameter of the request, `Signature` last.
pub fn signed_params(
    input: &AssumeRoleInput<'_>,
    access_key_secret: &str,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = [
        ("Action", "AssumeRole".to_string()),
        ("Version", "2015-04-01".to_string()),
        ("Format", "JSON".to_string()),
        ("AccessKeyId", input.access_key_id.to_string()),
        ("SignatureMethod", "HMAC-SHA1".to_string()),
        ("SignatureVersion", "1.0".to_string()),
        ("SignatureNonce", input.nonce.to_string()),
        ("Timestamp", timestamp(input.now)),
        ("RoleArn", input.role_arn.to_string()),
        ("RoleSessionName", input.session_name.to_string()),
        ("DurationSeconds", input.duration_secs.to_string()),
        ("Policy", input.policy.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sig = signature(access_key_secret, &string_to_sign("POST", &params));
    params.push(("Signature".into(), sig));
    params
}

pub struct TemporaryCredentials {
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    pub security_token: SecretString,
    pub expiration: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("STS did not answer within {0:?}")]
    Timeout(Duration),
    #[error("STS unreachable: {0}")]
    Unreachable(String),
    #[error("STS refused the request: HTTP {status}, code {code}")]
    Refused { status: u16, code: String },
    #[error("STS answered something unreadable: {0}")]
    BadResponse(String),
}

impl StsError {
    /// Metric label.
    pub fn class(&self) -> &'static str {
        match self {
            StsError::Timeout(_) => "timeout",
            StsError::Unreachable(_) => "unreachable",
            StsError::Refused { .. } => "refused",
            StsError::BadResponse(_) => "bad_response",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Success {
    credentials: WireCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Failure {
    #[serde(default)]
    code: String,
}

pub async fn assume_role(
    client: &reqwest::Client,
    endpoint: &url::Url,
    timeout: Duration,
    params: &[(String, String)],
) -> Result<TemporaryCredentials, StsError> {
    let mut url = endpoint.clone();
    url.set_query(Some(&crate::providers::encoding::query_string(params)));
    let send = client.post(url).timeout(timeout).send();
    let resp = match send.await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(StsError::Timeout(timeout)),
        // Without the URL: it carries the signature.
        Err(e) => return Err(StsError::Unreachable(e.without_url().to_string())),
    };
    let status = resp.status();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) if e.is_timeout() => return Err(StsError::Timeout(timeout)),
        Err(e) => return Err(StsError::Unreachable(e.without_url().to_string())),
    };
    if !status.is_success() {
        let code = serde_json::from_slice::<Failure>(&body)
            .map(|f| f.code)
            .unwrap_or_default();
        let code: String = code
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(100)
            .collect();
        return Err(StsError::Refused {
            status: status.as_u16(),
            code,
        });
    }
    let ok: Success = serde_json::from_slice(&body).map_err(|e| {
        // Position only: serde's message may quote the body, which holds secrets.
        StsError::BadResponse(format!(
            "unexpected JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let expiration = OffsetDateTime::parse(&ok.credentials.expiration, &Rfc3339)
        .map_err(|_| StsError::BadResponse("Expiration is not an RFC 3339 time".into()))?;
    Ok(TemporaryCredentials {
        access_key_id: ok.credentials.access_key_id,
        access_key_secret: ok.credentials.access_key_secret.into(),
        security_token: ok.credentials.security_token.into(),
        expiration,
    })
}
