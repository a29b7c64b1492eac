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
use sign_v4::KeySource;
use time::OffsetDateTime;

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

/// `YYYY-MM-DDTHH:MM:SS.000Z`: OSS wants milliseconds and a `Z`, as the SDKs send.
fn push_expiration(out: &mut Vec<u8>, t: OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, t.year().clamp(0, 9999) as u32);
    put(5, 2, u8::from(t.month()).into());
    put(8, 2, t.day().into());
    put(11, 2, t.hour().into());
    put(14, 2, t.minute().into());
    put(17, 2, t.second().into());
    out.extend_from_slice(&b);
}

/// A JSON string, escaped exactly as `serde_json` escapes it (the policy bytes are what is
/// signed, and the vectors pin serde_json's output).
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Written straight into one buffer: building `serde_json::Value`s first cost more than the
/// signature itself. The bytes are those of the `Value` serialisation it replaced.
pub fn policy_json(input: &PolicyInput<'_>, signing_fields: &[(String, String)]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(
        256 + input
            .fields
            .iter()
            .chain(signing_fields)
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>(),
    );
    out.extend_from_slice(br#"{"expiration":""#);
    push_expiration(&mut out, input.expiration);
    out.extend_from_slice(br#"","conditions":[{"bucket":"#);
    push_json_str(&mut out, input.bucket);
    out.extend_from_slice(br#"},["content-length-range","#);
    out.extend_from_slice(input.min_size.to_string().as_bytes());
    out.push(b',');
    out.extend_from_slice(input.max_size.to_string().as_bytes());
    out.extend_from_slice(b"],");
    let (op, k) = match input.key {
        KeyCondition::Exact(k) => ("eq", k),
        KeyCondition::StartsWith(p) => ("starts-with", p),
    };
    out.extend_from_slice(format!(r#"["{op}","$key","#).as_bytes());
    push_json_str(&mut out, k);
    out.push(b']');
    let ct = match input.content_type {
        ContentTypeCondition::Exact(ct) => Some(("eq", ct)),
        ContentTypeCondition::StartsWith(p) => Some(("starts-with", p)),
        ContentTypeCondition::Any => None,
    };
    if let Some((op, ct)) = ct {
        out.extend_from_slice(format!(r#",["{op}","$Content-Type","#).as_bytes());
        push_json_str(&mut out, ct);
        out.push(b']');
    }
    for (k, v) in input.fields.iter().chain(signing_fields) {
        out.extend_from_slice(b",{");
        push_json_str(&mut out, k);
        out.push(b':');
        push_json_str(&mut out, v);
        out.push(b'}');
    }
    // Field order of the top-level object does not matter to OSS.
    out.extend_from_slice(b"]}");
    String::from_utf8(out).expect("JSON of UTF-8 strings is UTF-8")
}

pub fn sign_v1(secret: &str, policy_b64: &str) -> String {
    hmac_sha1_base64(secret, policy_b64)
}

pub fn sign_v4(secret: &str, day: &str, region: &str, policy_b64: &str) -> String {
    sign_v4::sign_hex(&sign_v4::signing_key(secret, day, region), policy_b64)
}

pub fn sign(
    version: SignatureVersion,
    region: &str,
    creds: Credentials<'_>,
    input: &PolicyInput<'_>,
    now: OffsetDateTime,
) -> SignedForm {
    let key = KeySource::Secret(creds.access_key_secret);
    sign_with(version, region, creds, key, input, now)
}

/// Builds and signs the policy; the returned fields hold everything but `key` handling,
/// which the caller adds (the exact key, or nothing for a client-chosen name). V4 takes its
/// signing key from `key`, which must be that of `creds`.
pub fn sign_with(
    version: SignatureVersion,
    region: &str,
    creds: Credentials<'_>,
    key: KeySource<'_>,
    input: &PolicyInput<'_>,
    now: OffsetDateTime,
) -> SignedForm {
    let mut signing_fields: Vec<(String, String)> = Vec::with_capacity(4);
    let stamps = sign_v4::Timestamps::new(now);
    let (date, day) = stamps.parts();
    if version == SignatureVersion::V4 {
        signing_fields.push(("x-oss-signature-version".into(), sign_v4::ALGORITHM.into()));
        signing_fields.push((
            "x-oss-credential".into(),
            format!(
                "{}/{day}/{region}/oss/aliyun_v4_request",
                creds.access_key_id
            ),
        ));
        signing_fields.push(("x-oss-date".into(), date.to_string()));
    }
    // Both versions bind the STS token into the policy.
    if let Some(t) = creds.security_token {
        signing_fields.push(("x-oss-security-token".into(), t.into()));
    }
    let policy_json = policy_json(input, &signing_fields);
    let policy_b64 = STANDARD.encode(policy_json.as_bytes());

    let mut fields: Vec<(String, String)> =
        Vec::with_capacity(signing_fields.len() + input.fields.len() + 3);
    match version {
        SignatureVersion::V1 => {
            let signature = sign_v1(creds.access_key_secret, &policy_b64);
            fields.push(("OSSAccessKeyId".into(), creds.access_key_id.into()));
            fields.push(("policy".into(), policy_b64));
            fields.push(("Signature".into(), signature));
            fields.extend(signing_fields);
        }
        SignatureVersion::V4 => {
            let signature = sign_v4::sign_hex(&key.key(day, region), &policy_b64);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// The `serde_json::Value` builder this module used before writing the bytes itself.
    fn reference(input: &PolicyInput<'_>, signing_fields: &[(String, String)]) -> String {
        use time::format_description::well_known::Rfc3339;
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
        let t = input
            .expiration
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap();
        let e = t.format(&Rfc3339).unwrap();
        format!(
            r#"{{"expiration":"{}.000Z","conditions":{}}}"#,
            e.trim_end_matches('Z'),
            Value::Array(conditions)
        )
    }

    proptest! {
        #[test]
        fn policy_bytes_are_those_of_the_value_builder(
            bucket in "\\PC{0,20}",
            key in "\\PC{0,40}",
            exact in any::<bool>(),
            ct in proptest::option::of("\\PC{0,20}"),
            field in ("\\PC{0,10}", "[\\x00-\\x7f\u{80}-\u{10ffff}]{0,30}"),
            sizes in (0u64..u64::MAX, 0u64..u64::MAX),
            secs in 0i64..253_402_300_799,
        ) {
            let fields = vec![field];
            let input = PolicyInput {
                bucket: &bucket,
                key: if exact { KeyCondition::Exact(&key) } else { KeyCondition::StartsWith(&key) },
                content_type: match &ct {
                    Some(c) if exact => ContentTypeCondition::Exact(c),
                    Some(c) => ContentTypeCondition::StartsWith(c),
                    None => ContentTypeCondition::Any,
                },
                min_size: sizes.0,
                max_size: sizes.1,
                fields: &fields,
                expiration: OffsetDateTime::from_unix_timestamp(secs).unwrap()
                    + std::time::Duration::from_nanos(123_456_789),
            };
            let signing = vec![("x-oss-date".to_string(), "20231114T221320Z".to_string())];
            prop_assert_eq!(policy_json(&input, &signing), reference(&input, &signing));
        }
    }
}
