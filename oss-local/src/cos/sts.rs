//! A Tencent Cloud STS stand-in (`GetFederationToken`, `AssumeRole`, API 3.0): it checks the
//! TC3-HMAC-SHA256 signature with one of the store's long-lived keys, reads the policy's
//! `allow` statements (`name/cos:<action>` on `qcs::cos:<region>:uid/<appid>:<bucket>/<prefix>*`)
//! and issues temporary credentials the COS listener accepts for exactly those.
//! Conditions on `cos:content-type` and `cos:content-length` are evaluated
//! ([`super::conditions`]); a policy with other keys is refused rather than half-read.

use super::CosState;
use super::conditions::{self, Condition, RequestFacts};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// What one temporary credential may do.
#[derive(Clone)]
pub struct Grant {
    pub secret: String,
    pub token: String,
    pub expires: OffsetDateTime,
    /// The policy as STS received it (decoded), for tests that check what was asked for.
    pub policy: String,
    /// `(actions, bucket, key prefix, exact)`: an exact resource names one key.
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub actions: Vec<String>,
    pub bucket: String,
    pub prefix: String,
    pub exact: bool,
    pub conditions: Vec<Condition>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the token.
        f.debug_struct("Grant")
            .field("expires", &self.expires)
            .field("statements", &self.statements)
            .finish_non_exhaustive()
    }
}

impl Grant {
    pub fn allows(&self, bucket: &str, action: &str, key: &str, facts: &RequestFacts<'_>) -> bool {
        let wanted = format!("name/cos:{action}");
        self.statements.iter().any(|s| {
            s.bucket == bucket
                && s.actions
                    .iter()
                    .any(|a| a == &wanted || a == "name/cos:*" || a == "*")
                && if s.exact {
                    key == s.prefix
                } else {
                    key.starts_with(&s.prefix)
                }
                && conditions::all_hold(&s.conditions, facts)
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct StsError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> StsError {
    StsError {
        code,
        message: message.into(),
    }
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The signature TC3 expects, with its string to sign.
pub fn tc3_signature(
    secret: &str,
    service: &str,
    canonical_request: &str,
    timestamp: i64,
    date: &str,
) -> (String, String) {
    let sts = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k = hmac256(format!("TC3{secret}").as_bytes(), date.as_bytes());
    let k = hmac256(&k, service.as_bytes());
    let k = hmac256(&k, b"tc3_request");
    (hex::encode(hmac256(&k, sts.as_bytes())), sts)
}

/// A request as TC3 sees it: lower-case header names, the raw query and body.
pub struct Call<'a> {
    pub method: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Call<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Checks the TC3 signature; returns the SecretId's action and the JSON parameters.
pub fn verify(
    call: &Call<'_>,
    secret_of: impl Fn(&str) -> Option<String>,
    now: i64,
) -> Result<(String, Value), StsError> {
    let auth = call.header("authorization").unwrap_or_default();
    let rest = auth.strip_prefix("TC3-HMAC-SHA256 ").ok_or_else(|| {
        err(
            "AuthFailure.SignatureFailure",
            "TC3-HMAC-SHA256 is required",
        )
    })?;
    let field = |name: &str| {
        rest.split(',')
            .map(str::trim)
            .find_map(|kv| kv.strip_prefix(name))
            .unwrap_or_default()
    };
    let (credential, signed_headers, signature) = (
        field("Credential="),
        field("SignedHeaders="),
        field("Signature="),
    );
    let parts: Vec<&str> = credential.split('/').collect();
    let [secret_id, date, "sts", "tc3_request"] = parts.as_slice() else {
        return Err(err(
            "AuthFailure.SignatureFailure",
            "Credential must be <SecretId>/<date>/sts/tc3_request",
        ));
    };
    let secret = secret_of(secret_id).ok_or_else(|| {
        err(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        )
    })?;
    let timestamp: i64 = call
        .header("x-tc-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| err("MissingParameter", "X-TC-Timestamp is required"))?;
    if (now - timestamp).abs() > 300 {
        return Err(err(
            "AuthFailure.SignatureExpire",
            "The signature has expired; the X-TC-Timestamp is more than 5 minutes from server time.",
        ));
    }
    let day = OffsetDateTime::from_unix_timestamp(timestamp)
        .map_err(|_| err("InvalidParameter", "bad X-TC-Timestamp"))?
        .date();
    if *date != day.to_string() {
        return Err(err(
            "AuthFailure.SignatureFailure",
            "the Credential date is not the X-TC-Timestamp's UTC date",
        ));
    }
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let v = call
            .header(name)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        canonical_headers.push_str(&format!("{name}:{v}\n"));
    }
    let canonical = format!(
        "{}\n/\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        call.method,
        call.query,
        hex::encode(Sha256::digest(call.body))
    );
    let (expected, _) = tc3_signature(&secret, "sts", &canonical, timestamp, date);
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Err(err(
            "AuthFailure.SignatureFailure",
            "The provided credentials could not be validated. Please check your signature is correct.",
        ));
    }
    let action = call.header("x-tc-action").unwrap_or_default().to_string();
    let params: Value = serde_json::from_slice(call.body)
        .map_err(|_| err("InvalidParameter", "the body is not JSON"))?;
    Ok((action, params))
}

/// Issues credentials for a verified call.
pub fn issue(action: &str, params: &Value, now: OffsetDateTime) -> Result<Grant, StsError> {
    let (default, max) = match action {
        "GetFederationToken" => {
            params["Name"]
                .as_str()
                .ok_or_else(|| err("MissingParameter", "Name is required"))?;
            (1800, 7200)
        }
        "AssumeRole" => {
            for k in ["RoleArn", "RoleSessionName"] {
                params[k]
                    .as_str()
                    .ok_or_else(|| err("MissingParameter", format!("{k} is required")))?;
            }
            (7200, 43_200)
        }
        _ => {
            return Err(err(
                "InvalidAction",
                "only GetFederationToken and AssumeRole",
            ));
        }
    };
    let duration = params["DurationSeconds"].as_i64().unwrap_or(default);
    if !(1..=max).contains(&duration) {
        return Err(err(
            "InvalidParameter.DurationSeconds",
            format!("DurationSeconds must be at most {max}"),
        ));
    }
    let encoded = params["Policy"].as_str().ok_or_else(|| {
        err(
            "InvalidParameter.PolicyError",
            "the stand-in needs a Policy",
        )
    })?;
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy();
    let random = || URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    Ok(Grant {
        secret: format!("{}{}", random(), random()),
        token: format!("{}{}{}", random(), random(), random()),
        expires: now + time::Duration::seconds(duration),
        statements: statements(&text)?,
        policy: text.into_owned(),
    })
}

/// The allow statements of a version 2.0 policy, one per (statement, COS resource).
fn statements(policy: &str) -> Result<Vec<Statement>, StsError> {
    let bad = |m: &str| err("InvalidParameter.PolicyError", m.to_string());
    let v: Value = serde_json::from_str(policy).map_err(|_| bad("the policy is not JSON"))?;
    let mut out = Vec::new();
    for s in v["statement"]
        .as_array()
        .ok_or_else(|| bad("the policy has no statement"))?
    {
        if s["effect"] != "allow" {
            continue;
        }
        let as_list = |x: &Value| -> Vec<String> {
            match x {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let actions = as_list(&s["action"]);
        let conditions = conditions::parse(&s["condition"]).map_err(|m| bad(&m))?;
        for r in as_list(&s["resource"]) {
            // qcs::cos:<region>:uid/<appid>:<bucket>/<key or prefix*>
            let tail = r
                .strip_prefix("qcs::cos:")
                .and_then(|t| t.splitn(3, ':').nth(2))
                .ok_or_else(|| bad("resource must be qcs::cos:<region>:uid/<appid>:<bucket>/…"))?;
            let (bucket, path) = tail
                .split_once('/')
                .ok_or_else(|| bad("resource needs <bucket>/<prefix>"))?;
            let (prefix, exact) = match path.strip_suffix('*') {
                Some(p) => (p.to_string(), false),
                None => (path.to_string(), true),
            };
            out.push(Statement {
                actions: actions.clone(),
                bucket: bucket.to_string(),
                prefix,
                exact,
                conditions: conditions.clone(),
            });
        }
    }
    if out.is_empty() {
        return Err(bad("the policy allows nothing"));
    }
    Ok(out)
}

/// Answers an STS call in API 3.0's JSON (errors too come with HTTP 200, as Tencent's do).
pub(super) fn handle(
    req: &actix_web::HttpRequest,
    body: &[u8],
    state: &CosState,
) -> actix_web::HttpResponse {
    let request_id = uuid::Uuid::new_v4().to_string();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.into())))
        .collect();
    let call = Call {
        method: req.method().as_str(),
        query: req.uri().query().unwrap_or(""),
        headers: &headers,
        body,
    };
    let now = OffsetDateTime::now_utc();
    let result = verify(
        &call,
        |id| state.store.keys.get(id).cloned(),
        now.unix_timestamp(),
    )
    .and_then(|(action, params)| issue(&action, &params, now));
    let answer = match result {
        Ok(grant) => {
            let id = format!("AKIDTmp{}", uuid::Uuid::new_v4().simple());
            let body = json!({"Response": {
                "Credentials": {"Token": grant.token, "TmpSecretId": id, "TmpSecretKey": grant.secret},
                "ExpiredTime": grant.expires.unix_timestamp(),
                "Expiration": grant.expires.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                "RequestId": request_id,
            }});
            state.store.stats.bump("cos:GetFederationToken");
            state.add_temp_credential(id, grant);
            body
        }
        Err(e) => {
            tracing::warn!(code = e.code, "cos sts refused");
            json!({"Response": {"Error": {"Code": e.code, "Message": e.message}, "RequestId": request_id}})
        }
    };
    actix_web::HttpResponse::Ok().json(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/vectors/tencent_sts_tc3.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    /// The request tencentcloud-sdk-python-sts sent verifies; another secret, another body
    /// or a stale timestamp does not.
    #[test]
    fn the_captured_sdk_request_verifies_and_tampering_fails() {
        let doc = vectors();
        let v = &doc["get_federation_token_vector"];
        let cap = &v["captured_on_loopback"];
        let headers: Vec<(String, String)> = cap["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.to_ascii_lowercase(), x.as_str().unwrap().to_string()))
            .collect();
        let body = v["body"].as_str().unwrap().as_bytes();
        let call = Call {
            method: "POST",
            query: "",
            headers: &headers,
            body,
        };
        let secret = v["secret_key"].as_str().unwrap().to_string();
        let now = v["timestamp"].as_i64().unwrap() + 5;
        let (action, params) = verify(&call, |_| Some(secret.clone()), now).unwrap();
        assert_eq!(action, "GetFederationToken");
        let g = issue(&action, &params, OffsetDateTime::now_utc()).unwrap();
        let b = "examplebucket-1250000000";
        let png = RequestFacts {
            content_type: Some("image/png"),
            content_length: Some(10),
        };
        assert!(g.allows(b, "PutObject", "user/42/a.png", &png));
        assert!(!g.allows(b, "PutObject", "user/43/a.png", &png));
        assert!(!g.allows(b, "AppendObject", "user/42/a.png", &png));
        assert!(!g.allows("other-1250000000", "PutObject", "user/42/a.png", &png));
        let fail =
            |c: &Call<'_>, s: &str, t: i64| verify(c, |_| Some(s.to_string()), t).unwrap_err().code;
        assert_eq!(fail(&call, "another", now), "AuthFailure.SignatureFailure");
        assert_eq!(
            fail(&call, &secret, now + 600),
            "AuthFailure.SignatureExpire"
        );
        let tampered = Call {
            body: b"{\"Name\": \"user-43\"}",
            ..call
        };
        assert_eq!(
            fail(&tampered, &secret, now),
            "AuthFailure.SignatureFailure"
        );
    }

    #[test]
    fn the_doc_example_signature_is_reproduced() {
        let doc = vectors();
        let d = &doc["official_doc_example"];
        let (sig, sts) = tc3_signature(
            d["secret_key"].as_str().unwrap(),
            "cvm",
            d["canonical_request"].as_str().unwrap(),
            d["timestamp"].as_i64().unwrap(),
            "2019-02-25",
        );
        assert_eq!(sts, d["string_to_sign"].as_str().unwrap());
        assert_eq!(sig, d["expected_signature"].as_str().unwrap());
    }
}
