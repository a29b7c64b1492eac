//! What OSS does after an upload, for tests: fill the `callback` template from the issued
//! parameters, sign it per the OSS algorithm with a test key, and POST it to the gateway. The
//! public key is served by a small local key server that the gateway's allow-list names.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oss_local::callback::Signer;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Signs with the vectors' 1024-bit test key, by oss-local's callback signer.
pub fn test_signer() -> &'static Signer {
    static SIGNER: std::sync::OnceLock<Signer> = std::sync::OnceLock::new();
    SIGNER.get_or_init(|| {
        let pem = std::fs::read_to_string(
            crate::helpers::fixtures().join("vectors/synthetic_callback_rsa1024.pem"),
        )
        .unwrap();
        Signer::from_pem(Some(&pem)).unwrap()
    })
}

pub fn test_public_key_pem() -> String {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::helpers::fixtures().join("vectors/oss_callback_example.json"),
        )
        .unwrap(),
    )
    .unwrap();
    v["synthetic_rsa1024_public_key_pem"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Serves `/key.pem` (the test key), `/big.pem` (over any sane cap), `/redirect.pem` (302
/// elsewhere) and `/slow.pem` (answers after 3 s); counts every request.
pub struct KeyServer {
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl KeyServer {
    pub async fn start() -> KeyServer {
        let pem = test_public_key_pem();
        let (port, requests) = crate::helpers::serve_raw(move |line: String| {
            let pem = pem.clone();
            async move {
                // Concurrent callers should wait for one fetch, not make their own.
                tokio::time::sleep(Duration::from_millis(50)).await;
                match line.split_whitespace().nth(1).unwrap_or("/") {
                    "/key.pem" => ok(&pem),
                    "/big.pem" => ok(&"A".repeat(100_000)),
                    "/redirect.pem" => "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/key.pem\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                    "/slow.pem" => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        ok(&pem)
                    }
                    _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
                }
            }
        })
        .await;
        KeyServer { port, requests }
    }

    pub fn prefix(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn url_b64(&self, path: &str) -> String {
        STANDARD.encode(format!("{}{path}", self.prefix()))
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-pem-file\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The object as OSS would describe it in the callback.
#[derive(Clone)]
pub struct Stored {
    pub bucket: String,
    pub object: String,
    pub etag: String,
    pub size: u64,
    pub mime_type: String,
}

/// The `callback` and `callback-var` parameters the gateway issued.
#[derive(Clone)]
pub struct Issued {
    pub callback: Value,
    pub vars: BTreeMap<String, String>,
}

impl Issued {
    /// From a presigned URL's query.
    pub fn from_url(url: &str) -> Issued {
        let q: BTreeMap<String, String> = url::Url::parse(url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        Issued::from_params(&q["callback"], &q["callback-var"])
    }

    pub fn from_params(callback_b64: &str, vars_b64: &str) -> Issued {
        let callback: Value =
            serde_json::from_slice(&STANDARD.decode(callback_b64).unwrap()).unwrap();
        let vars: Value = serde_json::from_slice(&STANDARD.decode(vars_b64).unwrap()).unwrap();
        Issued {
            callback,
            vars: vars
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
        }
    }
}

/// A callback request ready to send (or to tamper with first).
#[derive(Clone)]
pub struct Callback {
    pub target: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub authorization: String,
    pub pub_key_url_b64: String,
}

/// Substitutes the variables as OSS does: in a JSON body every value is a JSON value
/// (strings quoted and escaped, size a number); in a form body values are URL-encoded.
pub fn fill(issued: &Issued, obj: &Stored) -> (String, Vec<u8>) {
    let template = issued.callback["callbackBody"].as_str().unwrap();
    let body_type = issued.callback["callbackBodyType"]
        .as_str()
        .unwrap_or("application/x-www-form-urlencoded")
        .to_string();
    let json = body_type == "application/json";
    let mut values: Vec<(String, Value)> = vec![
        ("bucket".into(), obj.bucket.clone().into()),
        ("object".into(), obj.object.clone().into()),
        ("etag".into(), obj.etag.clone().into()),
        ("size".into(), obj.size.into()),
        ("mimeType".into(), obj.mime_type.clone().into()),
        ("crc64".into(), "1234567890".into()),
        ("contentMd5".into(), "".into()),
        ("clientIp".into(), "10.0.0.1".into()),
        ("reqId".into(), "5F2B".into()),
        ("imageInfo.height".into(), "480".into()),
        ("imageInfo.width".into(), "640".into()),
        ("imageInfo.format".into(), "png".into()),
    ];
    for (k, v) in &issued.vars {
        values.push((k.clone(), v.clone().into()));
    }
    let mut body = template.to_string();
    for (name, v) in values {
        let text = if json {
            v.to_string()
        } else {
            let plain = match &v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            url::form_urlencoded::byte_serialize(plain.as_bytes()).collect()
        };
        body = body.replace(&format!("${{{name}}}"), &text);
    }
    (body_type, body.into_bytes())
}

pub fn callback(keys: &KeyServer, issued: &Issued, obj: &Stored) -> Callback {
    let (content_type, body) = fill(issued, obj);
    let url = url::Url::parse(issued.callback["callbackUrl"].as_str().unwrap()).unwrap();
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    Callback {
        authorization: test_signer().sign(&target, &body),
        target,
        content_type,
        body,
        pub_key_url_b64: keys.url_b64("key.pem"),
    }
}

impl Callback {
    pub fn resign(mut self) -> Callback {
        self.authorization = test_signer().sign(&self.target, &self.body);
        self
    }

    pub async fn send(&self, app: &crate::helpers::TestApp) -> reqwest::Response {
        app.client
            .post(format!("{}{}", app.address, self.target))
            .header("authorization", &self.authorization)
            .header("x-oss-pub-key-url", &self.pub_key_url_b64)
            .header("content-type", &self.content_type)
            .body(self.body.clone())
            .send()
            .await
            .unwrap()
    }
}
