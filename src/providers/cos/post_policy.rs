//! PostObject (HTML form) policies (doc 436/14690).
//!
//! Unlike OSS, what is signed is the SHA-1 of the policy *text*, not its base64:
//! `q-signature = HMAC-SHA1(SignKey, hex(SHA1(policy)))`. And the policy names the key time
//! `q-sign-time`, while the form field carrying it is `q-key-time`.

use super::bucket::CosLocation;
use super::sign::{Credentials, KeyTime, signature};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use std::fmt::Write;
use time::OffsetDateTime;

/// How the form may name the object.
#[derive(Debug, Clone, Copy)]
pub enum KeyCondition<'a> {
    Exact(&'a str),
    /// The client picks a name under this prefix (COS substitutes `${filename}`).
    StartsWith(&'a str),
}

#[derive(Debug, Clone, Copy)]
pub enum ContentTypeCondition<'a> {
    Exact(&'a str),
    StartsWith(&'a str),
    Any,
}

pub struct PolicyInput<'a> {
    pub key: KeyCondition<'a>,
    pub content_type: ContentTypeCondition<'a>,
    pub min_size: u64,
    pub max_size: u64,
    /// 200, 201 or 204 (COS answers 204 when absent).
    pub success_action_status: Option<u16>,
    /// Further fields the form must carry with exactly these values (`x-cos-meta-*`, ...);
    /// they are returned as form fields too.
    pub fields: &'a [(&'a str, &'a str)],
    /// Also the policy's expiration (`end`).
    pub key_time: KeyTime,
}

/// Ready-to-post fields in order (`file` goes after them, last). Not `Debug`: the
/// signature is a credential.
pub struct SignedForm {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub policy_json: String,
    /// `hex(SHA1(policy_json))`.
    pub string_to_sign: String,
}

/// Appends `s` as a JSON string literal. Written by hand so the policy is built in one
/// pass; correctness is checked against serde_json in the tests.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `2023-11-14T23:13:20.000Z`. By hand: `time`'s formatter costs as much as the hashing.
fn push_expiration(out: &mut String, unix: i64) {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

fn push_exact(out: &mut String, name: &str, value: &str) {
    out.push_str(",{");
    push_json_str(out, name);
    out.push(':');
    push_json_str(out, value);
    out.push('}');
}

fn push_op(out: &mut String, op: &str, field: &str, value: &str) {
    out.push_str(",[\"");
    out.push_str(op);
    out.push_str("\",\"$");
    out.push_str(field);
    out.push_str("\",");
    push_json_str(out, value);
    out.push(']');
}

pub fn policy_json(loc: &CosLocation, creds: Credentials<'_>, input: &PolicyInput<'_>) -> String {
    let extra: usize = input
        .fields
        .iter()
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum();
    let mut p = String::with_capacity(400 + extra + creds.security_token.map_or(0, str::len));
    p.push_str("{\"expiration\":\"");
    push_expiration(&mut p, input.key_time.end);
    p.push_str("\",\"conditions\":[{\"q-sign-algorithm\":\"sha1\"}");
    push_exact(&mut p, "q-ak", creds.secret_id);
    p.push_str(",{\"q-sign-time\":\"");
    input.key_time.push(&mut p);
    p.push_str("\"}");
    push_exact(&mut p, "bucket", loc.bucket().as_str());
    match input.key {
        KeyCondition::Exact(k) => push_op(&mut p, "eq", "key", k),
        KeyCondition::StartsWith(prefix) => push_op(&mut p, "starts-with", "key", prefix),
    }
    let _ = write!(
        p,
        ",[\"content-length-range\",{},{}]",
        input.min_size, input.max_size
    );
    match input.content_type {
        ContentTypeCondition::Exact(ct) => push_op(&mut p, "eq", "Content-Type", ct),
        ContentTypeCondition::StartsWith(pre) => {
            push_op(&mut p, "starts-with", "Content-Type", pre)
        }
        ContentTypeCondition::Any => {}
    }
    if let Some(s) = input.success_action_status {
        let _ = write!(p, ",{{\"success_action_status\":\"{s}\"}}");
    }
    if let Some(t) = creds.security_token {
        // Binds the form to the token it was signed for.
        push_exact(&mut p, "x-cos-security-token", t);
    }
    for (k, v) in input.fields {
        push_exact(&mut p, k, v);
    }
    p.push_str("]}");
    p
}

/// The three steps over a given policy text: `(string_to_sign, q-signature)`.
pub fn sign_policy(secret_key: &str, key_time: &str, policy_text: &str) -> (String, String) {
    let to_sign = hex::encode(Sha1::digest(policy_text.as_bytes()));
    let sig = signature(secret_key, key_time, &to_sign);
    (to_sign, sig)
}

pub fn sign(loc: &CosLocation, creds: Credentials<'_>, input: &PolicyInput<'_>) -> SignedForm {
    let policy_json = policy_json(loc, creds, input);
    let key_time = input.key_time.to_text();
    let (string_to_sign, q_signature) = sign_policy(creds.secret_key, &key_time, &policy_json);

    let mut fields: Vec<(String, String)> = Vec::with_capacity(10 + input.fields.len());
    if let KeyCondition::Exact(k) = input.key {
        fields.push(("key".into(), k.into()));
    }
    fields.push(("policy".into(), STANDARD.encode(policy_json.as_bytes())));
    fields.push(("q-sign-algorithm".into(), "sha1".into()));
    fields.push(("q-ak".into(), creds.secret_id.into()));
    fields.push(("q-key-time".into(), key_time));
    fields.push(("q-signature".into(), q_signature));
    if let Some(t) = creds.security_token {
        fields.push(("x-cos-security-token".into(), t.into()));
    }
    if let ContentTypeCondition::Exact(ct) = input.content_type {
        fields.push(("Content-Type".into(), ct.into()));
    }
    if let Some(s) = input.success_action_status {
        fields.push(("success_action_status".into(), s.to_string()));
    }
    fields.extend(
        input
            .fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    SignedForm {
        url: loc.bucket_url(),
        fields,
        policy_json,
        string_to_sign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::cos::bucket::BucketName;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn loc() -> CosLocation {
        CosLocation::new(
            BucketName::parse("examplebucket-1250000000").unwrap(),
            "ap-guangzhou",
        )
        .unwrap()
    }

    const CREDS: Credentials<'static> = Credentials {
        secret_id: "AKIDFakeSecretId000000000000000000000",
        secret_key: "FakeSecretKey0000000000000000000",
        security_token: None,
    };

    fn input<'a>(key: KeyCondition<'a>, ct: ContentTypeCondition<'a>) -> PolicyInput<'a> {
        PolicyInput {
            key,
            content_type: ct,
            min_size: 1,
            max_size: 10 << 20,
            success_action_status: Some(201),
            fields: &[("x-cos-meta-ticket", "t\"1")],
            key_time: KeyTime::around(1_700_000_000, 900, 60),
        }
    }

    proptest! {
        #[test]
        fn json_strings_round_trip_through_serde(s in any::<String>()) {
            let mut out = String::new();
            push_json_str(&mut out, &s);
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    #[test]
    fn an_exact_key_policy_has_every_condition() {
        let form = sign(
            &loc(),
            CREDS,
            &input(
                KeyCondition::Exact("u/42/a.jpg"),
                ContentTypeCondition::Exact("image/jpeg"),
            ),
        );
        let policy: Value = serde_json::from_str(&form.policy_json).unwrap();
        assert_eq!(policy["expiration"], "2023-11-14T22:28:20.000Z");
        assert_eq!(
            policy["conditions"],
            json!([
                {"q-sign-algorithm": "sha1"},
                {"q-ak": CREDS.secret_id},
                {"q-sign-time": "1699999940;1700000900"},
                {"bucket": "examplebucket-1250000000"},
                ["eq", "$key", "u/42/a.jpg"],
                ["content-length-range", 1, 10 << 20],
                ["eq", "$Content-Type", "image/jpeg"],
                {"success_action_status": "201"},
                {"x-cos-meta-ticket": "t\"1"},
            ])
        );
        let names: Vec<&str> = form.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "policy",
                "q-sign-algorithm",
                "q-ak",
                "q-key-time",
                "q-signature",
                "Content-Type",
                "success_action_status",
                "x-cos-meta-ticket"
            ]
        );
        let field = |n: &str| &form.fields.iter().find(|(k, _)| k == n).unwrap().1;
        assert_eq!(
            STANDARD.decode(field("policy")).unwrap(),
            form.policy_json.as_bytes()
        );
        assert_eq!(field("q-key-time"), "1699999940;1700000900");
        let (sts, sig) = sign_policy(CREDS.secret_key, field("q-key-time"), &form.policy_json);
        assert_eq!((&sts, &sig), (&form.string_to_sign, field("q-signature")));
        assert_eq!(
            form.url,
            "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/"
        );
    }

    #[test]
    fn a_prefix_policy_lets_the_client_name_the_key_and_binds_the_token() {
        let creds = Credentials {
            security_token: Some("tok"),
            ..CREDS
        };
        let form = sign(
            &loc(),
            creds,
            &input(
                KeyCondition::StartsWith("u/42/"),
                ContentTypeCondition::StartsWith("image/"),
            ),
        );
        let policy: Value = serde_json::from_str(&form.policy_json).unwrap();
        let c = policy["conditions"].as_array().unwrap();
        assert!(c.contains(&json!(["starts-with", "$key", "u/42/"])));
        assert!(c.contains(&json!(["starts-with", "$Content-Type", "image/"])));
        assert!(c.contains(&json!({"x-cos-security-token": "tok"})));
        assert!(
            !form
                .fields
                .iter()
                .any(|(k, _)| k == "key" || k == "Content-Type")
        );
        assert!(
            form.fields
                .contains(&("x-cos-security-token".into(), "tok".into()))
        );
    }

    #[test]
    fn secret_key_time_and_conditions_all_change_the_signature() {
        let i = input(KeyCondition::Exact("a"), ContentTypeCondition::Any);
        let sig = |creds: Credentials<'_>, i: &PolicyInput<'_>| {
            sign(&loc(), creds, i)
                .fields
                .into_iter()
                .find(|(k, _)| k == "q-signature")
                .unwrap()
                .1
        };
        let base = sig(CREDS, &i);
        let other = Credentials {
            secret_key: "FakeSecretKey0000000000000000001",
            ..CREDS
        };
        assert_ne!(sig(other, &i), base);
        let mut j = input(KeyCondition::Exact("a"), ContentTypeCondition::Any);
        j.key_time.start -= 1;
        assert_ne!(sig(CREDS, &j), base);
        let mut j = input(KeyCondition::Exact("b"), ContentTypeCondition::Any);
        assert_ne!(sig(CREDS, &j), base);
        j.max_size += 1;
        assert_ne!(
            sig(CREDS, &j),
            sig(
                CREDS,
                &input(KeyCondition::Exact("b"), ContentTypeCondition::Any)
            )
        );
    }
}
