//! The `callback` and `callback-var` parameters that make OSS call the gateway back after
//! an upload, and carry the upload id and ticket that bind the callback to the upload.

use crate::config::CallbackBodyType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

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

/// [`callback_body`] with further `x:` variables written into the template as literal
/// values (JSON strings, or form-encoded), for clients that send no `x:` form fields
/// (Alibaba's app-server samples post only key, policy, OSSAccessKeyId,
/// success_action_status, callback, signature and file). The policy pins the callback, so
/// the client cannot change them.
pub fn callback_body_with_values(spec: &CallbackSpec<'_>, values: &[(String, String)]) -> String {
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
    let literal = |v: &str| match spec.body_type {
        CallbackBodyType::Json => Value::String(v.to_string()).to_string(),
        CallbackBodyType::Form => url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
    };
    for (name, v) in values {
        fields.push((format!("x:{name}"), literal(v)));
    }
    match spec.body_type {
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
    }
}

pub fn callback_json(spec: &CallbackSpec<'_>) -> String {
    callback_json_with_values(spec, &[])
}

/// The callback JSON whose body carries `values` literally ([`callback_body_with_values`]).
pub fn callback_json_with_values(spec: &CallbackSpec<'_>, values: &[(String, String)]) -> String {
    let mut m = Map::new();
    m.insert("callbackUrl".into(), spec.url.into());
    if let Some(h) = spec.host {
        m.insert("callbackHost".into(), h.into());
    }
    m.insert(
        "callbackBody".into(),
        callback_body_with_values(spec, values).into(),
    );
    m.insert("callbackBodyType".into(), spec.body_type.mime().into());
    if spec.sni {
        m.insert("callbackSNI".into(), Value::Bool(true));
    }
    Value::Object(m).to_string()
}

/// `callback` parameter: base64 of the callback JSON.
pub fn encode_callback(spec: &CallbackSpec<'_>) -> String {
    STANDARD.encode(callback_json(spec))
}

/// `callback-var` parameter: base64 of `{"x:name": "value", ...}`.
pub fn encode_vars(vars: &[(String, String)]) -> String {
    let m: Map<String, Value> = vars
        .iter()
        .map(|(k, v)| (format!("x:{k}"), Value::String(v.clone())))
        .collect();
    STANDARD.encode(Value::Object(m).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn vars_round_trip() {
        let b = encode_vars(&[("upload_id".into(), "abc".into())]);
        let j: Value = serde_json::from_slice(&STANDARD.decode(b).unwrap()).unwrap();
        assert_eq!(j["x:upload_id"], "abc");
    }
}
