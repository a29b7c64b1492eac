//! Tencent Cloud API 3.0 request signing, TC3-HMAC-SHA256 (doc 213/33224), and the STS
//! request bodies it signs. Pure: the timestamp is passed in.

use crate::providers::encoding::encode;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write;
use time::OffsetDateTime;

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
pub const STS_HOST: &str = "sts.tencentcloudapi.com";
pub const STS_VERSION: &str = "2018-08-13";
pub const JSON: &str = "application/json";

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// One POST of a JSON body to a Tencent Cloud API. Only `content-type` and `host` are
/// signed, as every Tencent SDK does.
pub struct Tc3Request<'a> {
    pub service: &'a str,
    /// The `Host` header, exactly as sent (with a port if any).
    pub host: &'a str,
    pub action: &'a str,
    pub version: &'a str,
    pub region: &'a str,
    pub content_type: &'a str,
    pub payload: &'a str,
    pub timestamp: i64,
}

/// Not `Debug`: `Authorization` holds the signature.
pub struct Tc3Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signature: String,
    pub authorization: String,
    /// Every header to send, `Authorization` first (the HTTP client adds `Host`).
    pub headers: Vec<(&'static str, String)>,
}

/// `YYYY-MM-DD` (UTC) of the timestamp: the credential scope's date.
pub fn date(timestamp: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(timestamp).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

pub fn canonical_request(req: &Tc3Request<'_>) -> String {
    let mut c = String::with_capacity(160 + req.content_type.len() + req.host.len());
    c.push_str("POST\n/\n\ncontent-type:");
    c.push_str(req.content_type);
    c.push_str("\nhost:");
    c.push_str(req.host);
    c.push_str("\n\ncontent-type;host\n");
    c.push_str(&hex::encode(Sha256::digest(req.payload.as_bytes())));
    c
}

pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let mut k = String::with_capacity(3 + secret_key.len());
    k.push_str("TC3");
    k.push_str(secret_key);
    let k = hmac_sha256(k.as_bytes(), date.as_bytes());
    let k = hmac_sha256(&k, service.as_bytes());
    hmac_sha256(&k, b"tc3_request")
}

pub fn sign(
    secret_id: &str,
    secret_key: &str,
    token: Option<&str>,
    req: &Tc3Request<'_>,
) -> Tc3Signed {
    let day = date(req.timestamp);
    let canonical = canonical_request(req);
    let mut to_sign = String::with_capacity(128);
    let _ = write!(
        to_sign,
        "{ALGORITHM}\n{}\n{day}/{}/tc3_request\n{}",
        req.timestamp,
        req.service,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let signature = hex::encode(hmac_sha256(
        &signing_key(secret_key, &day, req.service),
        to_sign.as_bytes(),
    ));
    let authorization = format!(
        "{ALGORITHM} Credential={secret_id}/{day}/{}/tc3_request, SignedHeaders=content-type;host, Signature={signature}",
        req.service
    );
    let mut headers = vec![
        ("Authorization", authorization.clone()),
        ("Content-Type", req.content_type.to_string()),
        ("X-TC-Action", req.action.to_string()),
        ("X-TC-Version", req.version.to_string()),
        ("X-TC-Timestamp", req.timestamp.to_string()),
        ("X-TC-Region", req.region.to_string()),
    ];
    if let Some(t) = token {
        headers.push(("X-TC-Token", t.to_string()));
    }
    Tc3Signed {
        canonical_request: canonical,
        string_to_sign: to_sign,
        signature,
        authorization,
        headers,
    }
}

/// `GetFederationToken` body. `Policy` is the URL-encoded policy JSON, as STS requires.
pub fn federation_token_body(name: &str, policy_json: &str, duration_secs: u64) -> String {
    serde_json::json!({
        "Name": name,
        "Policy": encode(policy_json),
        "DurationSeconds": duration_secs,
    })
    .to_string()
}

/// `AssumeRole` body (production: the gateway's key then needs only `sts:AssumeRole`).
pub fn assume_role_body(
    role_arn: &str,
    session_name: &str,
    policy_json: &str,
    duration_secs: u64,
) -> String {
    serde_json::json!({
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "Policy": encode(policy_json),
        "DurationSeconds": duration_secs,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(payload: &str) -> Tc3Request<'_> {
        Tc3Request {
            service: "sts",
            host: STS_HOST,
            action: "GetFederationToken",
            version: STS_VERSION,
            region: "ap-guangzhou",
            content_type: JSON,
            payload,
            timestamp: 1_700_000_000,
        }
    }

    #[test]
    fn the_scope_date_is_the_utc_day() {
        assert_eq!(date(1_700_000_000), "2023-11-14");
        assert_eq!(date(1_551_113_065), "2019-02-25");
        assert_eq!(date(1_700_006_399), "2023-11-14");
        assert_eq!(date(1_700_006_400), "2023-11-15");
    }

    #[test]
    fn secret_body_time_and_host_change_the_signature() {
        let base = sign("id", "secret", None, &req("{}")).signature;
        assert_ne!(sign("id", "secreT", None, &req("{}")).signature, base);
        assert_ne!(sign("id", "secret", None, &req("{ }")).signature, base);
        let mut r = req("{}");
        r.timestamp += 1;
        assert_ne!(sign("id", "secret", None, &r).signature, base);
        let mut r = req("{}");
        r.host = "sts.intl.tencentcloudapi.com";
        assert_ne!(sign("id", "secret", None, &r).signature, base);
    }

    #[test]
    fn a_token_is_sent_but_not_signed() {
        let a = sign("id", "secret", Some("tok"), &req("{}"));
        assert_eq!(
            a.signature,
            sign("id", "secret", None, &req("{}")).signature
        );
        assert!(a.headers.contains(&("X-TC-Token", "tok".to_string())));
        assert_eq!(a.headers[0], ("Authorization", a.authorization.clone()));
    }

    #[test]
    fn request_bodies_url_encode_the_policy() {
        let b: serde_json::Value =
            serde_json::from_str(&federation_token_body("user-42", "{\"a\":\"b/*\"}", 1800))
                .unwrap();
        assert_eq!(b["Policy"], "%7B%22a%22%3A%22b%2F%2A%22%7D");
        assert_eq!(b["DurationSeconds"], 1800);
        let b: serde_json::Value = serde_json::from_str(&assume_role_body(
            "qcs::cam::uin/100:roleName/up",
            "gw",
            "{}",
            900,
        ))
        .unwrap();
        assert_eq!(b["RoleArn"], "qcs::cam::uin/100:roleName/up");
        assert_eq!(b["Policy"], "%7B%7D");
    }
}
