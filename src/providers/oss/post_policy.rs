//! PostObject (HTML form upload) policies, signed with V1 or V4.
//!
//! What is signed is the base64 of the policy JSON, so any serialisation works as long as
//! the `policy` form field carries those same bytes.

use super::presign::Credentials;
use super::sign_v1::hmac_sha1_base64;
use super::sign_v4;
use crate::config::SignatureVersion;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How the form may name the object.
pub enum KeyCondition<'a> {
    Exact(&'a str),
    StartsWith(&'a str),
}

/// How the form's Content-Type is constrained.
pub enum ContentTypeCondition<'a> {
    Exact(&'a str),
    StartsWith(&'a str),
    Any,
}

pub struct PolicyInput<'a> {
    pub bucket: &'a str,
    pub key: KeyCondition<'a>,
    pub content_type: ContentTypeCondition<'a>,
    pub min_size: u64,
    pub max_size: u64,
    /// Further fields the form must carry with exactly these values (`callback`, `x:*`,
    /// `success_action_status`, ...). They are returned as form fields too.
    pub fields: &'a [(String, String)],
    pub expiration: OffsetDateTime,
}

/// Ready-to-post form fields, in the order they should appear (`file` goes last, after them).
pub struct SignedForm {
    pub fields: Vec<(String, String)>,
    pub policy_json: String,
}

fn expiration(t: OffsetDateTime) -> String {
    // OSS wants milliseconds and a `Z`, as the SDKs send.
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("0 ns is valid");
    let s = t.format(&Rfc3339).expect("RFC 3339 formats any UTC time");
    format!("{}.000Z", s.trim_end_matches('Z'))
}

pub fn policy_json(input: &PolicyInput<'_>, signing_fields: &[(String, String)]) -> String {
    let mut conditions = vec![
        json!({"bucket": input.bucket}),
        json!(["content-length-range", input.min_size, input.max_size]),
    ];
    conditions.push(match input.key {
        KeyCondition::Exact(k) => json!(["eq", "$key", k]),
        KeyCondition::StartsWith(p) => json!(["starts-with", "$key", p]),
    });
    match input.content_type {
        ContentTypeCondition::Exact(ct) => conditions.push(json!(["eq", "$Content-Type", ct])),
        ContentTypeCondition::StartsWith(p) => {
            conditions.push(json!(["starts-with", "$Content-Type", p]))
        }
        ContentTypeCondition::Any => {}
    }
    for (k, v) in input.fields.iter().chain(signing_fields) {
        let mut m = serde_json::Map::new();
        m.insert(k.clone(), Value::String(v.clone()));
        conditions.push(Value::Object(m));
    }
    // Field order of the top-level object does not matter to OSS.
    format!(
        r#"{{"expiration":"{}","conditions":{}}}"#,
        expiration(input.expiration),
        Value::Array(conditions)
    )
}

pub fn sign_v1(secret: &str, policy_b64: &str) -> String {
    hmac_sha1_base64(secret, policy_b64)
}

pub fn sign_v4(secret: &str, day: &str, region: &str, policy_b64: &str) -> String {
    sign_v4::sign_hex(&sign_v4::signing_key(secret, day, region), policy_b64)
}

/// Builds and signs the policy; the returned fields hold everything but `key` handling,
/// which the caller adds (the exact key, or nothing for a client-chosen name).
pub fn sign(
    version: SignatureVersion,
    region: &str,
    creds: Credentials<'_>,
    input: &PolicyInput<'_>,
    now: OffsetDateTime,
) -> SignedForm {
    let mut signing_fields: Vec<(String, String)> = Vec::new();
    let (date, day) = sign_v4::timestamps(now);
    if version == SignatureVersion::V4 {
        signing_fields.push(("x-oss-signature-version".into(), sign_v4::ALGORITHM.into()));
        signing_fields.push((
            "x-oss-credential".into(),
            format!("{}/{}", creds.access_key_id, sign_v4::scope(&day, region)),
        ));
        signing_fields.push(("x-oss-date".into(), date));
    }
    // Both versions bind the STS token into the policy.
    if let Some(t) = creds.security_token {
        signing_fields.push(("x-oss-security-token".into(), t.into()));
    }
    let policy_json = policy_json(input, &signing_fields);
    let policy_b64 = STANDARD.encode(policy_json.as_bytes());

    let mut fields: Vec<(String, String)> = Vec::new();
    match version {
        SignatureVersion::V1 => {
            let signature = sign_v1(creds.access_key_secret, &policy_b64);
            fields.push(("OSSAccessKeyId".into(), creds.access_key_id.into()));
            fields.push(("policy".into(), policy_b64));
            fields.push(("Signature".into(), signature));
            fields.extend(signing_fields);
        }
        SignatureVersion::V4 => {
            let signature = sign_v4(creds.access_key_secret, &day, region, &policy_b64);
            fields.push(("policy".into(), policy_b64));
            fields.extend(signing_fields);
            fields.push(("x-oss-signature".into(), signature));
        }
    }
    fields.extend(input.fields.iter().cloned());
    SignedForm {
        fields,
        policy_json,
    }
}
