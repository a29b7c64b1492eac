//! A local stand-in for Alibaba Cloud STS AssumeRole. It checks each request the way STS
//! documents it — RPC signature (HMAC-SHA1 with `secret&` over the doubly encoded canonical
//! query), fresh timestamp, unused nonce — and checks the inline policy, then answers in
//! STS's JSON shape. Written apart from the gateway's signer (its own encoder), and proved
//! against the STS wire capture in the shared vectors before any test relies on it.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const STS_ACCESS_KEY_ID: &str = "LTAI5tStsCallerKeyId00";
pub const STS_ACCESS_KEY_SECRET: &str = "TestOssAccessKeySecret00000000000";

#[derive(Clone, Default)]
pub struct Behaviour {
    pub delay: Option<Duration>,
    /// Answer this STS error code with HTTP 403 instead of credentials.
    pub fail_with: Option<&'static str>,
}

pub struct StsStandIn {
    pub url: String,
    pub calls: Arc<AtomicUsize>,
    pub last_policy: Arc<Mutex<Option<Value>>>,
    pub last_session: Arc<Mutex<Option<String>>>,
    _server: actix_web::dev::ServerHandle,
}

struct Shared {
    secret: String,
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
    nonces: Mutex<HashSet<String>>,
    last_policy: Arc<Mutex<Option<Value>>>,
    last_session: Arc<Mutex<Option<String>>>,
}

/// RFC 3986 percent-encoding, written out here on purpose (not the gateway's encoder).
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The signature STS expects for these decoded parameters.
pub fn expected_signature(method: &str, params: &[(String, String)], secret: &str) -> String {
    let mut sorted: Vec<&(String, String)> =
        params.iter().filter(|(k, _)| k != "Signature").collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect();
    let to_sign = format!("{method}&%2F&{}", pct(&canonical.join("&")));
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub fn decode_query(q: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Why a request would be refused, or None when STS would accept it.
pub fn check(
    method: &str,
    params: &[(String, String)],
    secret: &str,
) -> Option<(&'static str, String)> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(sig) = get("Signature") else {
        return Some(("MissingSignature", "no Signature".into()));
    };
    if sig != expected_signature(method, params, secret) {
        return Some(("SignatureDoesNotMatch", "signature mismatch".into()));
    }
    for required in [
        "AccessKeyId",
        "SignatureNonce",
        "Timestamp",
        "RoleArn",
        "RoleSessionName",
    ] {
        if get(required).is_none() {
            return Some(("MissingParameter", required.into()));
        }
    }
    if get("Action") != Some("AssumeRole") || get("Version") != Some("2015-04-01") {
        return Some(("InvalidAction", "Action/Version".into()));
    }
    None
}

async fn assume_role(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let refuse = |status: u16, code: &str, msg: String| {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(
            json!({"RequestId": "standin", "HostId": "sts.local", "Code": code, "Message": msg}),
        )
    };
    let params = decode_query(req.query_string());
    if let Some((code, msg)) = check(req.method().as_str(), &params, &shared.secret) {
        return refuse(400, code, msg);
    }
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ts = time::OffsetDateTime::parse(
        &get("Timestamp"),
        &time::format_description::well_known::Rfc3339,
    );
    match ts {
        Ok(t) if (time::OffsetDateTime::now_utc() - t).abs() < time::Duration::minutes(15) => {}
        _ => return refuse(400, "InvalidTimeStamp.Expired", "stale timestamp".into()),
    }
    if !shared.nonces.lock().unwrap().insert(get("SignatureNonce")) {
        return refuse(400, "SignatureNonceUsed", "nonce reused".into());
    }
    if get("AccessKeyId") != STS_ACCESS_KEY_ID {
        return refuse(404, "InvalidAccessKeyId.NotFound", "unknown key".into());
    }
    let session = get("RoleSessionName");
    let session_ok = (2..=64).contains(&session.len())
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if !session_ok {
        return refuse(400, "InvalidParameter.RoleSessionName", session);
    }
    let duration: i64 = get("DurationSeconds").parse().unwrap_or(-1);
    if !(900..=43200).contains(&duration) {
        return refuse(400, "InvalidParameter.DurationSeconds", "900..43200".into());
    }
    let policy: Value = match serde_json::from_str(&get("Policy")) {
        Ok(p) => p,
        Err(_) => {
            return refuse(
                400,
                "InvalidParameter.PolicyGrammar",
                "policy is not JSON".into(),
            );
        }
    };
    shared.calls.fetch_add(1, Ordering::SeqCst);
    *shared.last_policy.lock().unwrap() = Some(policy);
    *shared.last_session.lock().unwrap() = Some(session.clone());
    if let Some(d) = shared.behaviour.delay {
        tokio::time::sleep(d).await;
    }
    if let Some(code) = shared.behaviour.fail_with {
        return refuse(403, code, "refused by the stand-in".into());
    }
    let n = shared.calls.load(Ordering::SeqCst);
    let expiration = (time::OffsetDateTime::now_utc() + time::Duration::seconds(duration))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    HttpResponse::Ok().json(json!({
        "RequestId": format!("standin-{n}"),
        "AssumedRoleUser": {"AssumedRoleId": format!("1:{session}"), "Arn": format!("{}/{session}", get("RoleArn"))},
        "Credentials": {
            "AccessKeyId": format!("STS.Standin{n:04}"),
            "AccessKeySecret": format!("StandinTemporarySecret{n:04}"),
            "SecurityToken": format!("CAIStandinSecurityToken+/={n:04}"),
            "Expiration": expiration,
        }
    }))
}

impl StsStandIn {
    pub async fn start(behaviour: Behaviour) -> StsStandIn {
        let calls = Arc::new(AtomicUsize::new(0));
        let last_policy = Arc::new(Mutex::new(None));
        let last_session = Arc::new(Mutex::new(None));
        let shared = web::Data::new(Shared {
            secret: STS_ACCESS_KEY_SECRET.to_string(),
            behaviour,
            calls: calls.clone(),
            nonces: Mutex::new(HashSet::new()),
            last_policy: last_policy.clone(),
            last_session: last_session.clone(),
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
        StsStandIn {
            url: format!("http://127.0.0.1:{port}/"),
            calls,
            last_policy,
            last_session,
            _server: handle,
        }
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[test]
fn the_stand_in_accepts_the_sts_wire_capture_and_rejects_a_changed_one() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::helpers::fixtures().join("vectors/sts_assume_role.json"))
            .unwrap(),
    )
    .unwrap();
    let wire = &v["assume_role_vector"];
    let secret = wire["access_key_secret"].as_str().unwrap();
    let path_query = wire["sdk_url_path_and_query"].as_str().unwrap();
    let params = decode_query(path_query.split_once('?').unwrap().1);
    assert_eq!(check("POST", &params, secret), None);
    // The documented example too (GET, other API).
    let doc = &v["official_doc_example"];
    let mut doc_params: Vec<(String, String)> = doc["params"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    doc_params.push((
        "Signature".into(),
        doc["expected_signature"].as_str().unwrap().into(),
    ));
    assert_eq!(
        expected_signature(
            "GET",
            &doc_params,
            doc["access_key_secret"].as_str().unwrap()
        ),
        doc["expected_signature"]
    );

    let tampered: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| {
            if k == "Policy" {
                (k.clone(), v.replace("42", "43"))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    assert_eq!(
        check("POST", &tampered, secret).unwrap().0,
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        check("GET", &params, secret).unwrap().0,
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        check("POST", &params, "wrong").unwrap().0,
        "SignatureDoesNotMatch"
    );
}
