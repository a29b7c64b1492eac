//! PostObject (HTML form upload): the form's `policy` must be signed (V1: base64 HMAC-SHA1 of
//! the policy text; V4: hex HMAC-SHA256 with the V4 signing key), unexpired, and every one of
//! its conditions must hold for the submitted fields and file.

use crate::sign;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

pub struct Form {
    /// Every text field, names as sent.
    pub fields: Vec<(String, String)>,
    pub file_name: Option<String>,
    pub file_type: Option<String>,
    pub file: Vec<u8>,
}

impl Form {
    /// A field by name, case-insensitively (OSS treats form field names so).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a `multipart/form-data` body; the `file` field must be the last.
pub async fn parse(content_type: &str, body: Vec<u8>) -> Result<Form, String> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| "not a multipart/form-data body".to_string())?;
    let stream =
        futures_util::stream::once(
            async move { Ok::<_, std::io::Error>(bytes::Bytes::from(body)) },
        );
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut form = Form {
        fields: Vec::new(),
        file_name: None,
        file_type: None,
        file: Vec::new(),
    };
    let mut seen_file = false;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| format!("malformed form: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if seen_file {
            // OSS ignores everything after the file.
            continue;
        }
        if name.eq_ignore_ascii_case("file") {
            seen_file = true;
            form.file_name = field.file_name().map(String::from);
            form.file_type = field.content_type().map(|m| m.to_string());
            form.file = field
                .bytes()
                .await
                .map_err(|e| format!("reading the file: {e}"))?
                .to_vec();
        } else {
            let value = field
                .text()
                .await
                .map_err(|e| format!("reading field {name}: {e}"))?;
            form.fields.push((name, value));
        }
    }
    if !seen_file {
        return Err("the form has no file field".into());
    }
    Ok(form)
}

/// Who signed the policy and how, from the form fields.
pub struct PostAuth {
    pub access_key_id: String,
    pub security_token: Option<String>,
    v4: Option<(String, String)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PolicyError {
    Anonymous,
    Invalid(String),
    Expired,
    Mismatch,
    Condition(String),
}

pub fn auth_of(form: &Form) -> Result<PostAuth, PolicyError> {
    let token = form.field("x-oss-security-token").map(String::from);
    if let Some(cred) = form.field("x-oss-credential") {
        let date = form.field("x-oss-date").ok_or_else(|| {
            PolicyError::Invalid("x-oss-date is required with x-oss-credential".into())
        })?;
        if form.field("x-oss-signature-version") != Some(sign::V4_ALGORITHM) {
            return Err(PolicyError::Invalid(
                "x-oss-signature-version must be OSS4-HMAC-SHA256".into(),
            ));
        }
        return Ok(PostAuth {
            access_key_id: cred.split('/').next().unwrap_or("").to_string(),
            security_token: token,
            v4: Some((cred.to_string(), date.to_string())),
        });
    }
    match form.field("OSSAccessKeyId") {
        Some(ak) => Ok(PostAuth {
            access_key_id: ak.to_string(),
            security_token: token,
            v4: None,
        }),
        None => Err(PolicyError::Anonymous),
    }
}

/// Checks the policy's signature, expiry and conditions; returns the object key to store.
pub fn check(
    form: &Form,
    auth: &PostAuth,
    secret: &str,
    bucket: &str,
    region: &str,
    now: OffsetDateTime,
) -> Result<String, PolicyError> {
    let policy_b64 = form
        .field("policy")
        .ok_or_else(|| PolicyError::Invalid("the policy field is required".into()))?;
    let provided = match &auth.v4 {
        None => form.field("Signature"),
        Some(_) => form.field("x-oss-signature"),
    }
    .ok_or_else(|| PolicyError::Invalid("the signature field is required".into()))?;
    let expected = match &auth.v4 {
        None => {
            let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
            mac.update(policy_b64.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Some((cred, date)) => {
            let parts: Vec<&str> = cred.split('/').collect();
            if parts.len() != 5 || !date.starts_with(parts[1]) || parts[2] != region {
                return Err(PolicyError::Invalid(
                    "x-oss-credential must be <ak>/<date>/<this region>/oss/aliyun_v4_request"
                        .into(),
                ));
            }
            let key = sign::v4_signing_key(secret, parts[1], region);
            hex::encode(sign::hmac256(&key, policy_b64.as_bytes()))
        }
    };
    if !bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
        return Err(PolicyError::Mismatch);
    }
    let text = STANDARD
        .decode(policy_b64)
        .map_err(|_| PolicyError::Invalid("the policy is not base64".into()))?;
    let policy: Value = serde_json::from_slice(&text)
        .map_err(|_| PolicyError::Invalid("the policy is not JSON".into()))?;
    let expiration = policy["expiration"]
        .as_str()
        .ok_or_else(|| PolicyError::Invalid("the policy has no expiration".into()))?;
    let expires = OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
        .map_err(|_| PolicyError::Invalid("expiration must be ISO 8601 UTC".into()))?;
    if expires < now {
        return Err(PolicyError::Expired);
    }
    let mut key = form
        .field("key")
        .ok_or_else(|| PolicyError::Invalid("the key field is required".into()))?
        .to_string();
    if let Some(name) = &form.file_name {
        key = key.replace("${filename}", name);
    }
    let conditions = policy["conditions"]
        .as_array()
        .ok_or_else(|| PolicyError::Invalid("the policy has no conditions".into()))?;
    for c in conditions {
        check_condition(c, form, &key, bucket)?;
    }
    Ok(key)
}

fn value_of<'a>(name: &str, form: &'a Form, key: &'a str, bucket: &'a str) -> Option<&'a str> {
    match name.trim_start_matches('$').to_ascii_lowercase().as_str() {
        "key" => Some(key),
        "bucket" => Some(bucket),
        other => form.field(other),
    }
}

fn check_condition(c: &Value, form: &Form, key: &str, bucket: &str) -> Result<(), PolicyError> {
    let fail = |m: String| Err(PolicyError::Condition(m));
    match c {
        Value::Object(map) => {
            for (name, want) in map {
                let want = want.as_str().unwrap_or_default();
                if value_of(name, form, key, bucket) != Some(want) {
                    return fail(format!(
                        "Invalid according to Policy: Policy Condition failed: [\"eq\", \"${name}\", \"{want}\"]"
                    ));
                }
            }
            Ok(())
        }
        Value::Array(a) => match a.first().and_then(Value::as_str) {
            Some("content-length-range") => {
                let (min, max) = (
                    a.get(1).and_then(Value::as_u64).unwrap_or(0),
                    a.get(2).and_then(Value::as_u64).unwrap_or(u64::MAX),
                );
                let size = form.file.len() as u64;
                if size < min || size > max {
                    return fail(format!(
                        "Your proposed upload size {size} is outside content-length-range [{min}, {max}]"
                    ));
                }
                Ok(())
            }
            Some(op @ ("eq" | "starts-with" | "in" | "not-in")) => {
                let name = a.get(1).and_then(Value::as_str).unwrap_or_default();
                let got = value_of(name, form, key, bucket);
                let ok = match op {
                    "eq" => got == a.get(2).and_then(Value::as_str),
                    "starts-with" => {
                        let p = a.get(2).and_then(Value::as_str).unwrap_or_default();
                        // An empty prefix admits a missing field too.
                        p.is_empty() || got.is_some_and(|g| g.starts_with(p))
                    }
                    _ => {
                        let list: Vec<&str> = a
                            .get(2)
                            .and_then(Value::as_array)
                            .map(|l| l.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        let inside = got.is_some_and(|g| list.contains(&g));
                        if op == "in" { inside } else { !inside }
                    }
                };
                if ok {
                    Ok(())
                } else {
                    fail(format!(
                        "Invalid according to Policy: Policy Condition failed: {c}"
                    ))
                }
            }
            _ => fail(format!("unsupported policy condition {c}")),
        },
        _ => fail(format!("unsupported policy condition {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every PostObject vector (computed by ali-oss) passes with its fields and secret at
    /// its time, fails with another secret, and fails once expired.
    #[test]
    fn ali_oss_post_vectors_verify() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/vectors/oss_post_policy.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(doc["now_unix"].as_i64().unwrap()).unwrap();
        let (bucket, region) = (
            doc["bucket"].as_str().unwrap(),
            doc["region"].as_str().unwrap(),
        );
        let mut n = 0;
        for v in doc["vectors"].as_array().unwrap() {
            let mut form = Form {
                fields: v["form_fields"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect(),
                file_name: Some("avatar.png".into()),
                file_type: None,
                file: vec![1; 100],
            };
            let auth = auth_of(&form).unwrap();
            let secret = v["access_key_secret"].as_str().unwrap();
            let key = check(&form, &auth, secret, bucket, region, now)
                .unwrap_or_else(|e| panic!("{}: {e:?}", v["name"]));
            assert_eq!(Some(key.as_str()), form.field("key"));
            assert_eq!(
                check(&form, &auth, "other", bucket, region, now),
                Err(PolicyError::Mismatch)
            );
            assert_eq!(
                check(
                    &form,
                    &auth,
                    secret,
                    bucket,
                    region,
                    now + time::Duration::days(1)
                ),
                Err(PolicyError::Expired)
            );
            // The key outside the policy's prefix, and an empty file under content-length-range.
            form.fields.retain(|(k, _)| k != "key");
            form.fields.push(("key".into(), "user/43/x.png".into()));
            assert!(matches!(
                check(&form, &auth, secret, bucket, region, now),
                Err(PolicyError::Condition(_))
            ));
            n += 1;
        }
        assert_eq!(n, 4);
    }
}
