//! A local stand-in for AWS STS AssumeRole (the query API over a SigV4-signed POST form, as
//! MinIO serves it too). It verifies each request's `Authorization` header with its own
//! SigV4 implementation, written here apart from the gateway's signer and proved on
//! botocore's vectors (`aws_sts_assume_role.json`) before any test relies on it, checks
//! the form and the session policy JSON, and answers in STS's XML.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const AWS_STS_KEY_ID: &str = "AKIAUGWSTSCALLER0000";
// Listed in tests/fixtures/log-forbidden.txt, like every test secret.
pub const AWS_STS_SECRET: &str = "TestAwsStsCallerSecret0000000000000000000";
pub const STS_REGION: &str = "us-east-1";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The parts of `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<a;b>, Signature=<hex>`.
struct AuthHeader {
    key_id: String,
    day: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_auth(value: &str) -> Result<AuthHeader, String> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut cred = None;
    let mut names = None;
    let mut sig = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or("malformed part")?;
        match k {
            "Credential" => cred = Some(v.to_string()),
            "SignedHeaders" => names = Some(v.to_string()),
            "Signature" => sig = Some(v.to_string()),
            _ => return Err(format!("unknown part {k}")),
        }
    }
    let cred = cred.ok_or("no Credential")?;
    let c: Vec<&str> = cred.split('/').collect();
    if c.len() != 5 || c[4] != "aws4_request" {
        return Err("bad credential scope".into());
    }
    Ok(AuthHeader {
        key_id: c[0].into(),
        day: c[1].into(),
        region: c[2].into(),
        service: c[3].into(),
        signed_headers: names
            .ok_or("no SignedHeaders")?
            .split(';')
            .map(String::from)
            .collect(),
        signature: sig.ok_or("no Signature")?,
    })
}

/// Verifies a SigV4 header-signed POST to `/` with no query: Ok(access key id) or why not.
/// `headers` are (name, value) as received, any case.
pub fn verify_sigv4(
    headers: &[(String, String)],
    body: &[u8],
    secret_for: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let get = |name: &str| {
        let mut found = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v.as_str()),
            _ => None,
        }
    };
    let auth = parse_auth(get("authorization").ok_or("no Authorization")?)?;
    let amz_date = get("x-amz-date").ok_or("no X-Amz-Date")?;
    if !amz_date.starts_with(&auth.day) {
        return Err("X-Amz-Date is not the scope's day".into());
    }
    for required in ["host", "x-amz-date", "content-type"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(format!("{required} is not signed"));
        }
    }
    let mut sorted = auth.signed_headers.clone();
    sorted.sort();
    if sorted != auth.signed_headers {
        return Err("SignedHeaders out of order".into());
    }
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let v = get(name).ok_or(format!("signed header {name} missing"))?;
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical_headers.push_str(&format!("{name}:{v}\n"));
    }
    let canonical = format!(
        "POST\n/\n\n{canonical_headers}\n{}\n{}",
        auth.signed_headers.join(";"),
        hex_sha256(body)
    );
    let scope = format!("{}/{}/{}/aws4_request", auth.day, auth.region, auth.service);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical.as_bytes())
    );
    let secret = secret_for(&auth.key_id).ok_or("InvalidClientTokenId")?;
    let k = hmac(format!("AWS4{secret}").as_bytes(), &auth.day);
    let k = hmac(&k, &auth.region);
    let k = hmac(&k, &auth.service);
    let k = hmac(&k, "aws4_request");
    let expected = hex::encode(hmac(&k, &to_sign));
    if expected != auth.signature {
        return Err("SignatureDoesNotMatch".into());
    }
    if auth.service != "sts" {
        return Err("signed for another service".into());
    }
    Ok(auth.key_id)
}

#[derive(Clone, Default)]
pub struct Behaviour {
    pub delay: Option<Duration>,
    /// Answer this STS error code with HTTP 403 instead of credentials.
    pub fail_with: Option<&'static str>,
}

pub struct AwsStsStandIn {
    pub url: String,
    calls: Arc<AtomicUsize>,
    pub last_policy: Arc<Mutex<Option<Value>>>,
    pub last_form: Arc<Mutex<Vec<(String, String)>>>,
    _server: actix_web::dev::ServerHandle,
}

struct Shared {
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
    last_policy: Arc<Mutex<Option<Value>>>,
    last_form: Arc<Mutex<Vec<(String, String)>>>,
}

fn refuse(status: u16, code: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("text/xml")
        .body(format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>refused by the stand-in</Message></Error><RequestId>standin</RequestId></ErrorResponse>"
        ))
}

async fn assume_role(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let secret_for = |id: &str| (id == AWS_STS_KEY_ID).then(|| AWS_STS_SECRET.to_string());
    if req.method() != "POST" || req.path() != "/" || !req.query_string().is_empty() {
        return refuse(400, "InvalidAction");
    }
    if let Err(why) = verify_sigv4(&headers, &body, secret_for) {
        let code = if why == "InvalidClientTokenId" {
            "InvalidClientTokenId"
        } else {
            "SignatureDoesNotMatch"
        };
        return refuse(403, code);
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if get("Action") != "AssumeRole" || get("Version") != "2011-06-15" {
        return refuse(400, "InvalidAction");
    }
    let duration: i64 = get("DurationSeconds").parse().unwrap_or(-1);
    if !(900..=43200).contains(&duration) || !get("RoleArn").starts_with("arn:") {
        return refuse(400, "ValidationError");
    }
    let Ok(policy) = serde_json::from_str::<Value>(&get("Policy")) else {
        return refuse(400, "MalformedPolicyDocument");
    };
    shared.calls.fetch_add(1, Ordering::SeqCst);
    *shared.last_policy.lock().unwrap() = Some(policy);
    *shared.last_form.lock().unwrap() = form.clone();
    if let Some(d) = shared.behaviour.delay {
        tokio::time::sleep(d).await;
    }
    if let Some(code) = shared.behaviour.fail_with {
        return refuse(403, code);
    }
    let n = shared.calls.load(Ordering::SeqCst);
    let expiration = (time::OffsetDateTime::now_utc() + time::Duration::seconds(duration))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    HttpResponse::Ok().content_type("text/xml").body(format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIASTANDIN{n:08}</AccessKeyId><SecretAccessKey>StandinTemporarySecret{n:04}</SecretAccessKey><SessionToken>StandinSessionToken+/={n:04}</SessionToken><Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><Arn>{}/{}</Arn><AssumedRoleId>AROA:{}</AssumedRoleId></AssumedRoleUser><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>standin-{n}</RequestId></ResponseMetadata></AssumeRoleResponse>",
        get("RoleArn"),
        get("RoleSessionName"),
        get("RoleSessionName"),
    ))
}

impl AwsStsStandIn {
    pub async fn start(behaviour: Behaviour) -> AwsStsStandIn {
        let calls = Arc::new(AtomicUsize::new(0));
        let last_policy = Arc::new(Mutex::new(None));
        let last_form = Arc::new(Mutex::new(Vec::new()));
        let shared = web::Data::new(Shared {
            behaviour,
            calls: calls.clone(),
            last_policy: last_policy.clone(),
            last_form: last_form.clone(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(assume_role))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        AwsStsStandIn {
            url: format!("http://127.0.0.1:{port}"),
            calls,
            last_policy,
            last_form,
            _server: handle,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// The stand-in's verifier agrees with botocore on every vector, and refuses any change.
#[test]
fn the_aws_sts_stand_in_verifies_every_botocore_vector_and_refuses_changes() {
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(
            crate::helpers::fixtures().join("vectors/aws_sts_assume_role.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 3);
    for v in vectors {
        let i = &v["inputs"];
        let e = &v["expected"];
        let url = url::Url::parse(i["url"].as_str().unwrap()).unwrap();
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap()),
            None => url.host_str().unwrap().to_string(),
        };
        let mut headers: Vec<(String, String)> = e["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        headers.push(("Host".into(), host));
        let body = i["body"].as_str().unwrap().as_bytes().to_vec();
        let key_id = i["access_key_id"].as_str().unwrap().to_string();
        let secret = i["secret_access_key"].as_str().unwrap().to_string();
        let secret_for = |id: &str| (id == key_id).then(|| secret.clone());
        assert_eq!(
            verify_sigv4(&headers, &body, secret_for),
            Ok(key_id.clone()),
            "{}",
            v["name"]
        );
        let mut tampered = body.clone();
        let at = tampered.len() - 4;
        tampered[at] ^= 1;
        assert!(verify_sigv4(&headers, &tampered, secret_for).is_err());
        assert!(verify_sigv4(&headers, &body, |_| Some("wrong".into())).is_err());
        let moved: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| {
                let v = if k == "Host" {
                    format!("x{v}")
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect();
        assert!(verify_sigv4(&moved, &body, secret_for).is_err());
    }
}
