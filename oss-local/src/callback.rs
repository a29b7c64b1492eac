//! Upload callbacks as OSS sends them: the `callback` parameter (base64 JSON) names the URL
//! and body template, `callback-var` (base64 JSON of `x:` variables) fills it in with the
//! system variables; the request is signed RSA/MD5 over `urldecode(path)[?query]\nbody` and
//! carries the public key's URL (base64) in `x-oss-pub-key-url`.

use crate::disk::ObjectMeta;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::Value;
use std::time::Duration;

/// The key this store signs callbacks with. A development key, published with the source:
/// it proves nothing outside a local setup, which is all it is for.
const DEV_KEY_PEM: &str = include_str!("dev_callback_key.pem");
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub struct Signer {
    key: RsaPrivateKey,
    pub public_pem: String,
}

impl Signer {
    pub fn from_pem(pem: Option<&str>) -> Result<Signer, String> {
        let key = RsaPrivateKey::from_pkcs1_pem(pem.unwrap_or(DEV_KEY_PEM))
            .map_err(|e| format!("callback key: {e}"))?;
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| format!("callback key: {e}"))?;
        Ok(Signer { key, public_pem })
    }

    pub fn sign(&self, target: &str, body: &[u8]) -> String {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let mut data: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
        if let Some(q) = query {
            data.push(b'?');
            data.extend_from_slice(q.as_bytes());
        }
        data.push(b'\n');
        data.extend_from_slice(body);
        let digest = Md5::digest(&data);
        let sig = self
            .key
            .sign(Pkcs1v15Sign::new::<Md5>(), &digest)
            .expect("a valid key signs any digest");
        STANDARD.encode(sig)
    }
}

/// A callback request, decoded from the upload's parameters.
#[derive(Debug, Clone)]
pub struct Spec {
    pub url: String,
    pub host: Option<String>,
    pub body: String,
    pub body_type: String,
    pub vars: Vec<(String, String)>,
}

/// Reads `callback` (and `callback-var`), both base64 JSON. `Err` is the message OSS would
/// put in an InvalidArgument answer.
pub fn parse(callback_b64: &str, vars_b64: Option<&str>) -> Result<Spec, String> {
    let mut spec = parse_with_vars(callback_b64, Vec::new())?;
    if let Some(v) = vars_b64.filter(|v| !v.is_empty()) {
        let raw = STANDARD
            .decode(v.trim())
            .map_err(|_| "callback-var is not base64".to_string())?;
        let v: Value =
            serde_json::from_slice(&raw).map_err(|_| "callback-var is not JSON".to_string())?;
        for (k, val) in v.as_object().ok_or("callback-var must be an object")? {
            if !k.starts_with("x:") {
                return Err(format!("callback-var: '{k}' must start with x:"));
            }
            let val = val.as_str().ok_or("callback-var values must be strings")?;
            spec.vars.push((k.clone(), val.to_string()));
        }
    }
    Ok(spec)
}

/// As [`parse`], with the `x:` variables given directly (PostObject sends them as fields).
pub fn parse_with_vars(callback_b64: &str, vars: Vec<(String, String)>) -> Result<Spec, String> {
    let decode = |s: &str, what: &str| -> Result<Value, String> {
        let raw = STANDARD
            .decode(s.trim())
            .map_err(|_| format!("{what} is not base64"))?;
        serde_json::from_slice(&raw).map_err(|_| format!("{what} is not JSON"))
    };
    let cb = decode(callback_b64, "callback")?;
    let text = |k: &str| cb.get(k).and_then(Value::as_str).map(String::from);
    let url = text("callbackUrl").ok_or("callback: callbackUrl is required")?;
    let body = text("callbackBody").ok_or("callback: callbackBody is required")?;
    Ok(Spec {
        url,
        host: text("callbackHost"),
        body,
        body_type: text("callbackBodyType")
            .unwrap_or_else(|| "application/x-www-form-urlencoded".into()),
        vars,
    })
}

/// Fills in the template as OSS does. In a JSON body each variable becomes a JSON value
/// (`${size}` a number, everything else a quoted, escaped string: templates read
/// `{"object":${object},"size":${size}}`); in a form body values are URL-encoded.
pub fn fill(
    spec: &Spec,
    bucket: &str,
    obj: &ObjectMeta,
    client_ip: &str,
    request_id: &str,
) -> String {
    let json = spec.body_type.starts_with("application/json");
    let mut values: Vec<(String, String)> = vec![
        ("bucket".into(), bucket.into()),
        ("object".into(), obj.key.clone()),
        ("etag".into(), obj.etag.clone()),
        ("size".into(), obj.size.to_string()),
        ("mimeType".into(), obj.content_type.clone()),
        ("crc64".into(), obj.crc64.to_string()),
        (
            "contentMd5".into(),
            obj.content_md5.clone().unwrap_or_default(),
        ),
        ("clientIp".into(), client_ip.into()),
        ("reqId".into(), request_id.into()),
        ("operation".into(), "PutObject".into()),
        ("imageInfo.height".into(), String::new()),
        ("imageInfo.width".into(), String::new()),
        ("imageInfo.format".into(), String::new()),
    ];
    values.extend(spec.vars.iter().cloned());
    let mut out = spec.body.clone();
    for (name, v) in values {
        let text = if json {
            if name == "size" {
                v
            } else {
                Value::String(v).to_string()
            }
        } else {
            url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
        };
        out = out.replace(&format!("${{{name}}}"), &text);
    }
    out
}

#[derive(Debug)]
pub enum Outcome {
    /// The callback server's answer (JSON), relayed to the uploader.
    Answered(Vec<u8>),
    Failed(String),
}

/// POSTs the callback, signed, with OSS's timeout. Only the first URL of a `;` list is tried.
pub async fn send(
    http: &reqwest::Client,
    signer: &Signer,
    key_url: &str,
    spec: &Spec,
    body: String,
) -> Outcome {
    let first = spec.url.split(';').next().unwrap_or("").trim();
    let Ok(url) = url::Url::parse(first) else {
        return Outcome::Failed("callbackUrl is not a URL".into());
    };
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut req = http
        .post(url.clone())
        .timeout(TIMEOUT)
        .header("authorization", signer.sign(&target, body.as_bytes()))
        .header("x-oss-pub-key-url", STANDARD.encode(key_url))
        .header("content-type", &spec.body_type)
        .header(
            "date",
            crate::xml::http_date(time::OffsetDateTime::now_utc()),
        );
    if let Some(h) = &spec.host {
        req = req.header("host", h);
    }
    match req.body(body).send().await {
        Ok(resp) if resp.status().is_success() => match resp.bytes().await {
            Ok(b) if serde_json::from_slice::<Value>(&b).is_ok() => Outcome::Answered(b.to_vec()),
            Ok(_) => Outcome::Failed("the callback server's answer is not JSON".into()),
            Err(e) => Outcome::Failed(format!("reading the callback answer: {e}")),
        },
        Ok(resp) => Outcome::Failed(format!(
            "the callback server answered HTTP {}",
            resp.status().as_u16()
        )),
        Err(e) if e.is_timeout() => {
            Outcome::Failed("the callback server did not answer within 5 s".into())
        }
        Err(e) => Outcome::Failed(format!(
            "the callback server could not be reached: {}",
            e.without_url()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_escapes_per_body_type() {
        let obj = ObjectMeta {
            key: "a/b c\"d.txt".into(),
            size: 5,
            etag: "E".into(),
            content_type: "text/plain".into(),
            crc64: 7,
            content_md5: None,
            appendable: false,
            user_meta: Vec::new(),
            last_modified: time::OffsetDateTime::UNIX_EPOCH,
        };
        let mut spec = Spec {
            url: "http://x/cb".into(),
            host: None,
            body: r#"{"object":${object},"size":${size},"v":${x:v}}"#.into(),
            body_type: "application/json".into(),
            vars: vec![("x:v".into(), "a&b".into())],
        };
        let json = fill(&spec, "bk", &obj, "127.0.0.1", "r");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["object"], "a/b c\"d.txt");
        assert_eq!(v["size"], 5);
        spec.body = "object=${object}&v=${x:v}".into();
        spec.body_type = "application/x-www-form-urlencoded".into();
        assert_eq!(
            fill(&spec, "bk", &obj, "127.0.0.1", "r"),
            "object=a%2Fb+c%22d.txt&v=a%26b"
        );
    }
}
