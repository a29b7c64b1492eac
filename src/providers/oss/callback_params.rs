//! The `callback` and `callback-var` parameters that make OSS call the gateway back after
//! an upload, and carry the upload id and ticket that bind the callback to the upload.

use crate::config::CallbackBodyType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// OSS refuses a `callback` or `callback-var` parameter longer than this (base64 bytes).
pub const MAX_PARAM_BYTES: usize = 5 * 1024;

/// System variables OSS substitutes, as (body field, variable).
const SYSTEM_VARS: &[(&str, &str)] = &[
    ("bucket", "bucket"),
    ("object", "object"),
    ("etag", "etag"),
    ("size", "size"),
    ("mimeType", "mimeType"),
    ("crc64", "crc64"),
    ("contentMd5", "contentMd5"),
    ("clientIp", "clientIp"),
    ("reqId", "reqId"),
];

const IMAGE_VARS: &[&str] = &["height", "width", "format"];

pub struct CallbackSpec<'a> {
    pub url: &'a str,
    pub host: Option<&'a str>,
    pub sni: bool,
    pub body_type: CallbackBodyType,
    /// Ask for `${imageInfo.*}` (only meaningful when images may be uploaded).
    pub image_info: bool,
    /// Names (without `x:`) of the custom variables the body carries.
    pub var_names: &'a [String],
}

/// The callback body template. In JSON mode OSS substitutes each variable as a JSON value
/// (quoted where it is a string), so the template leaves the variables unquoted.
pub fn callback_body(spec: &CallbackSpec<'_>) -> String {
    callback_body_with_values(spec, &[])
}

/// Which bytes a JSON string escapes (quote, backslash, control characters), as a table:
/// the callback body is escaped whole into the callback document on every right.
static JSON_ESCAPES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends `parts`, joined, as one JSON string literal, escaped exactly as `serde_json`
/// escapes it.
fn push_json_str(out: &mut String, parts: &[&str]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for s in parts {
        let mut rest = *s;
        // Escaped bytes are ASCII, so the runs between them split on character boundaries.
        while let Some(at) = rest.bytes().position(|b| JSON_ESCAPES[usize::from(b)]) {
            out.push_str(&rest[..at]);
            let b = rest.as_bytes()[at];
            rest = &rest[at + 1..];
            let esc = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                _ => {
                    out.push_str("\\u00");
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 0xf)]));
                    continue;
                }
            };
            out.push_str(esc);
        }
        out.push_str(rest);
    }
    out.push('"');
}

/// The separator and `name` (its parts joined) of one body field, up to its value.
fn push_field(out: &mut String, json: bool, name: &[&str]) {
    if out.len() > usize::from(json) {
        out.push(if json { ',' } else { '&' });
    }
    if json {
        push_json_str(out, name);
        out.push(':');
    } else {
        name.iter().for_each(|p| out.push_str(p));
        out.push('=');
    }
}

/// [`callback_body`] with further `x:` variables written into the template as literal
/// values (JSON strings, or form-encoded), for clients that send no `x:` form fields
/// (Alibaba's app-server samples post only key, policy, OSSAccessKeyId,
/// success_action_status, callback, signature and file). The policy pins the callback, so
/// the client cannot change them.
///
/// Written straight into one buffer: this runs for every issued right (twice with the size
/// check), and through `serde_json::Value` and `format!` it was a third of a presign.
pub fn callback_body_with_values(spec: &CallbackSpec<'_>, values: &[(String, String)]) -> String {
    let json = matches!(spec.body_type, CallbackBodyType::Json);
    let mut out = String::with_capacity(320 + 48 * (spec.var_names.len() + values.len()));
    if json {
        out.push('{');
    }
    for (f, v) in SYSTEM_VARS {
        push_field(&mut out, json, &[f]);
        out.push_str("${");
        out.push_str(v);
        out.push('}');
    }
    if spec.image_info {
        for v in IMAGE_VARS {
            push_field(&mut out, json, &["imageInfo.", v]);
            out.push_str("${imageInfo.");
            out.push_str(v);
            out.push('}');
        }
    }
    for name in spec.var_names {
        push_field(&mut out, json, &["x:", name]);
        out.push_str("${x:");
        out.push_str(name);
        out.push('}');
    }
    for (name, v) in values {
        push_field(&mut out, json, &["x:", name]);
        if json {
            push_json_str(&mut out, &[v]);
        } else {
            out.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
        }
    }
    if json {
        out.push('}');
    }
    out
}

pub fn callback_json(spec: &CallbackSpec<'_>) -> String {
    callback_json_with_values(spec, &[])
}

/// The callback JSON whose body carries `values` literally ([`callback_body_with_values`]).
/// Keys in byte order, as `serde_json`'s map writes them.
pub fn callback_json_with_values(spec: &CallbackSpec<'_>, values: &[(String, String)]) -> String {
    let body = callback_body_with_values(spec, values);
    let mut out = String::with_capacity(body.len() * 5 / 4 + spec.url.len() + 128);
    out.push_str("{\"callbackBody\":");
    push_json_str(&mut out, &[&body]);
    out.push_str(",\"callbackBodyType\":");
    push_json_str(&mut out, &[spec.body_type.mime()]);
    if let Some(h) = spec.host {
        out.push_str(",\"callbackHost\":");
        push_json_str(&mut out, &[h]);
    }
    if spec.sni {
        out.push_str(",\"callbackSNI\":true");
    }
    out.push_str(",\"callbackUrl\":");
    push_json_str(&mut out, &[spec.url]);
    out.push('}');
    out
}

/// How long the base64 of `n` bytes is (with padding), without encoding them.
pub fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// `callback` parameter: base64 of the callback JSON.
pub fn encode_callback(spec: &CallbackSpec<'_>) -> String {
    STANDARD.encode(callback_json(spec))
}

/// `{"x:name": "value", ...}`, keys in byte order (a repeated name keeps its last value),
/// as `serde_json`'s map writes it.
pub fn vars_json(vars: &[(String, String)]) -> String {
    let mut order: Vec<&(String, String)> = vars.iter().collect();
    // Stable, so among equal names the last one given is the last one here.
    order.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::with_capacity(
        2 + vars
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum::<usize>(),
    );
    out.push('{');
    let mut written = 0;
    for (i, (k, v)) in order.iter().enumerate() {
        if order.get(i + 1).is_some_and(|next| next.0 == *k) {
            continue;
        }
        if written > 0 {
            out.push(',');
        }
        written += 1;
        push_json_str(&mut out, &["x:", k]);
        out.push(':');
        push_json_str(&mut out, &[v]);
    }
    out.push('}');
    out
}

/// `callback-var` parameter: base64 of `{"x:name": "value", ...}`.
pub fn encode_vars(vars: &[(String, String)]) -> String {
    STANDARD.encode(vars_json(vars))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    fn spec(body_type: CallbackBodyType, names: &[String]) -> CallbackSpec<'_> {
        CallbackSpec {
            url: "https://gw.example.com/v1/callbacks/oss",
            host: Some("gw.example.com"),
            sni: false,
            body_type,
            image_info: true,
            var_names: names,
        }
    }

    #[test]
    fn json_body_is_valid_json_once_oss_substitutes_values() {
        let names = vec!["upload_id".to_string(), "ticket".to_string()];
        let body = callback_body(&spec(CallbackBodyType::Json, &names));
        // What OSS does: every variable becomes a JSON value.
        let mut filled = body.clone();
        for (_, v) in SYSTEM_VARS {
            filled = filled.replace(&format!("${{{v}}}"), "\"v\"");
        }
        for v in IMAGE_VARS {
            filled = filled.replace(&format!("${{imageInfo.{v}}}"), "\"1\"");
        }
        filled = filled
            .replace("${x:upload_id}", "\"u\"")
            .replace("${x:ticket}", "\"t\"");
        let parsed: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(parsed["x:ticket"], "t");
        assert_eq!(parsed["object"], "v");
        assert_eq!(parsed["imageInfo.width"], "1");
    }

    #[test]
    fn callback_json_carries_url_host_and_type() {
        let names = vec!["upload_id".to_string()];
        let j: Value =
            serde_json::from_str(&callback_json(&spec(CallbackBodyType::Form, &names))).unwrap();
        assert_eq!(j["callbackUrl"], "https://gw.example.com/v1/callbacks/oss");
        assert_eq!(j["callbackHost"], "gw.example.com");
        assert_eq!(j["callbackBodyType"], "application/x-www-form-urlencoded");
        assert!(
            j["callbackBody"]
                .as_str()
                .unwrap()
                .contains("x:upload_id=${x:upload_id}")
        );
        assert!(j.get("callbackSNI").is_none());
    }

    #[test]
    fn literal_values_are_valid_json_and_form_values_in_the_body() {
        let values = vec![("ticket".to_string(), "a\"b&c=d".to_string())];
        let body = callback_body_with_values(&spec(CallbackBodyType::Json, &[]), &values);
        assert!(body.ends_with(r#","x:ticket":"a\"b&c=d"}"#), "{body}");
        let body = callback_body_with_values(&spec(CallbackBodyType::Form, &[]), &values);
        assert!(body.ends_with("&x:ticket=a%22b%26c%3Dd"), "{body}");
        assert!(!body.contains("${x:"), "{body}");
    }

    /// The same documents as `serde_json` writes them, built through `Value` (how these
    /// were written before they were written by hand).
    fn oracle_json(spec: &CallbackSpec<'_>, values: &[(String, String)]) -> String {
        let mut fields: Vec<(String, String)> = SYSTEM_VARS
            .iter()
            .map(|(f, v)| (f.to_string(), format!("${{{v}}}")))
            .collect();
        if spec.image_info {
            for v in IMAGE_VARS {
                fields.push((format!("imageInfo.{v}"), format!("${{imageInfo.{v}}}")));
            }
        }
        for name in spec.var_names {
            fields.push((format!("x:{name}"), format!("${{x:{name}}}")));
        }
        for (name, v) in values {
            let v = match spec.body_type {
                CallbackBodyType::Json => Value::String(v.clone()).to_string(),
                CallbackBodyType::Form => {
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
                }
            };
            fields.push((format!("x:{name}"), v));
        }
        let body = match spec.body_type {
            CallbackBodyType::Json => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(f, v)| format!("{}:{v}", Value::String(f.clone())))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            CallbackBodyType::Form => fields
                .iter()
                .map(|(f, v)| format!("{f}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
        };
        let mut m = Map::new();
        m.insert("callbackUrl".into(), spec.url.into());
        if let Some(h) = spec.host {
            m.insert("callbackHost".into(), h.into());
        }
        m.insert("callbackBody".into(), body.into());
        m.insert("callbackBodyType".into(), spec.body_type.mime().into());
        if spec.sni {
            m.insert("callbackSNI".into(), Value::Bool(true));
        }
        Value::Object(m).to_string()
    }

    #[test]
    fn documents_are_byte_for_byte_what_serde_json_writes() {
        let tricky = "q\"b\\s/\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} ä 漢 & = + %";
        let names = vec![
            "upload_id".to_string(),
            "ticket".to_string(),
            "a\"b".to_string(),
        ];
        let values = [
            ("ticket".to_string(), tricky.to_string()),
            ("z".to_string(), String::new()),
        ];
        for body_type in [CallbackBodyType::Json, CallbackBodyType::Form] {
            for (image_info, sni, host) in [(true, false, Some(tricky)), (false, true, None)] {
                let spec = CallbackSpec {
                    url: "https://gw.example.com/v1/callbacks/oss?\"x\"",
                    host,
                    sni,
                    body_type,
                    image_info,
                    var_names: &names,
                };
                for values in [&values[..], &[]] {
                    assert_eq!(
                        callback_json_with_values(&spec, values),
                        oracle_json(&spec, values)
                    );
                }
            }
        }
        let vars = vec![
            ("upload_id".to_string(), "u1".to_string()),
            ("b".to_string(), tricky.to_string()),
            ("a".to_string(), "first".to_string()),
            ("a".to_string(), "last".to_string()),
        ];
        let oracle: Map<String, Value> = vars
            .iter()
            .map(|(k, v)| (format!("x:{k}"), Value::String(v.clone())))
            .collect();
        assert_eq!(vars_json(&vars), Value::Object(oracle).to_string());
        assert_eq!(vars_json(&[]), "{}");
        for n in 0..10 {
            assert_eq!(encoded_len(n), STANDARD.encode(vec![0u8; n]).len());
        }
    }

    #[test]
    fn vars_round_trip() {
        let b = encode_vars(&[("upload_id".into(), "abc".into())]);
        let j: Value = serde_json::from_slice(&STANDARD.decode(b).unwrap()).unwrap();
        assert_eq!(j["x:upload_id"], "abc");
    }
}
