//! PostObject forms, shared by both dialects: reading the `multipart/form-data` body and
//! checking a policy document's expiry and conditions (OSS and COS use the same condition
//! forms). Each dialect checks the policy's signature itself (`oss::post`, `cos::post`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
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

#[derive(Debug, PartialEq, Eq)]
pub enum PolicyError {
    Anonymous,
    Invalid(String),
    Expired,
    Mismatch,
    Condition(String),
}

/// The policy field's base64 text and the JSON it decodes to.
pub fn decode_policy(policy_b64: &str) -> Result<(Vec<u8>, Value), PolicyError> {
    let text = STANDARD
        .decode(policy_b64)
        .map_err(|_| PolicyError::Invalid("the policy is not base64".into()))?;
    let policy: Value = serde_json::from_slice(&text)
        .map_err(|_| PolicyError::Invalid("the policy is not JSON".into()))?;
    Ok((text, policy))
}

/// Checks expiry and every condition; returns the object key to store (`${filename}`
/// substituted). `aliases` maps a name the policy uses to the form field that carries it
/// (COS's policy says `q-sign-time` for the `q-key-time` field).
pub fn check_policy(
    policy: &Value,
    form: &Form,
    bucket: &str,
    now: OffsetDateTime,
    aliases: &[(&str, &str)],
) -> Result<String, PolicyError> {
    let expiration = policy["expiration"]
        .as_str()
        .ok_or_else(|| PolicyError::Invalid("the policy has no expiration".into()))?;
    let expires = OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
        .map_err(|_| PolicyError::Invalid("expiration must be ISO 8601 UTC".into()))?;
    if expires < now {
        return Err(PolicyError::Expired);
    }
    let key = form_key(form)?;
    let conditions = policy["conditions"]
        .as_array()
        .ok_or_else(|| PolicyError::Invalid("the policy has no conditions".into()))?;
    let ctx = Ctx {
        form,
        key: &key,
        bucket,
        aliases,
    };
    for c in conditions {
        check_condition(c, &ctx)?;
    }
    Ok(key)
}

/// The `key` field with `${filename}` replaced by the file's name.
pub fn form_key(form: &Form) -> Result<String, PolicyError> {
    let mut key = form
        .field("key")
        .ok_or_else(|| PolicyError::Invalid("the key field is required".into()))?
        .to_string();
    if let Some(name) = &form.file_name {
        key = key.replace("${filename}", name);
    }
    Ok(key)
}

struct Ctx<'a> {
    form: &'a Form,
    key: &'a str,
    bucket: &'a str,
    aliases: &'a [(&'a str, &'a str)],
}

fn value_of<'a>(name: &str, ctx: &Ctx<'a>) -> Option<&'a str> {
    let name = name.trim_start_matches('$').to_ascii_lowercase();
    match name.as_str() {
        "key" => Some(ctx.key),
        "bucket" => Some(ctx.bucket),
        other => {
            let field = ctx
                .aliases
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(other))
                .map_or(other, |(_, f)| *f);
            ctx.form.field(field)
        }
    }
}

fn check_condition(c: &Value, ctx: &Ctx<'_>) -> Result<(), PolicyError> {
    let fail = |m: String| Err(PolicyError::Condition(m));
    match c {
        Value::Object(map) => {
            for (name, want) in map {
                let want = want.as_str().unwrap_or_default();
                if value_of(name, ctx) != Some(want) {
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
                let size = ctx.form.file.len() as u64;
                if size < min || size > max {
                    return fail(format!(
                        "Your proposed upload size {size} is outside content-length-range [{min}, {max}]"
                    ));
                }
                Ok(())
            }
            Some(op @ ("eq" | "starts-with" | "in" | "not-in")) => {
                let name = a.get(1).and_then(Value::as_str).unwrap_or_default();
                let got = value_of(name, ctx);
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
