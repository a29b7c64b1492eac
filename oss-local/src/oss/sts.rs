//! An STS AssumeRole stand-in for local runs: it checks the RPC signature (HMAC-SHA1 over the
//! canonicalised parameters) with one of the store's long-lived keys, reads the inline
//! policy's single `acs:oss:*:*:<bucket>/<prefix>*` resource, and issues temporary
//! credentials that the store then accepts for keys under that prefix only.

use crate::http::Parsed;
use crate::store::{Store, TempCredential};
use actix_web::HttpResponse;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, PartialEq, Eq)]
pub struct StsError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

fn err(status: u16, code: &'static str, message: impl Into<String>) -> StsError {
    StsError {
        status,
        code,
        message: message.into(),
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// `METHOD&%2F&pct(sorted pct(k)=pct(v) joined by &)`.
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .map(|(k, v)| (enc(k), enc(v)))
        .collect();
    pairs.sort();
    let canonical = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{method}&{}&{}", enc("/"), enc(&canonical))
}

pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("any key");
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Temporary credentials, with their AccessKeyId.
#[derive(Debug)]
pub struct Issued {
    pub access_key_id: String,
    pub credential: TempCredential,
}

/// Checks an AssumeRole request and issues credentials. `secret_of` looks up a long-lived key.
pub fn assume_role(
    method: &str,
    params: &[(String, String)],
    secret_of: impl Fn(&str) -> Option<String>,
    now: OffsetDateTime,
) -> Result<Issued, StsError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let need = |k: &'static str| {
        get(k).ok_or_else(|| {
            err(
                400,
                "MissingParameter",
                format!("{k} is mandatory for this action."),
            )
        })
    };
    if need("Action")? != "AssumeRole" {
        return Err(err(
            400,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ));
    }
    if need("SignatureMethod")? != "HMAC-SHA1" || need("SignatureVersion")? != "1.0" {
        return Err(err(
            400,
            "InvalidParameter",
            "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0.",
        ));
    }
    need("SignatureNonce")?;
    let ak = need("AccessKeyId")?;
    let secret = secret_of(ak).ok_or_else(|| {
        err(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    })?;
    let ts = OffsetDateTime::parse(
        need("Timestamp")?,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| {
        err(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    if (ts - now).whole_minutes().abs() > 15 {
        return Err(err(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    let sts = string_to_sign(method, params);
    let expected = signature(&secret, &sts);
    if !bool::from(expected.as_bytes().ct_eq(need("Signature")?.as_bytes())) {
        return Err(err(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{sts}"
            ),
        ));
    }
    need("RoleArn")?;
    need("RoleSessionName")?;
    let duration: i64 = get("DurationSeconds")
        .unwrap_or("3600")
        .parse()
        .unwrap_or(0);
    if !(900..=43_200).contains(&duration) {
        return Err(err(
            400,
            "InvalidParameter.DurationSeconds",
            "The Min/Max value of DurationSeconds is 15min/12hr.",
        ));
    }
    let (bucket, prefix) = policy_scope(need("Policy")?)?;
    let random = || URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    Ok(Issued {
        access_key_id: format!("STS.{}", uuid::Uuid::new_v4().simple()),
        credential: TempCredential {
            secret: format!("{}{}", random(), random()),
            token: format!("CAIS{}{}{}", random(), random(), random()),
            expires: now + time::Duration::seconds(duration),
            bucket,
            prefix,
        },
    })
}

/// The one `acs:oss:*:*:<bucket>/<prefix>*` resource the stand-in understands.
fn policy_scope(policy: &str) -> Result<(String, String), StsError> {
    let bad = |m: &str| err(400, "InvalidParameter.PolicyGrammar", m.to_string());
    let v: serde_json::Value =
        serde_json::from_str(policy).map_err(|_| bad("the policy is not JSON"))?;
    let resources: Vec<String> = v["Statement"]
        .as_array()
        .ok_or_else(|| bad("the policy has no Statement"))?
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let [one] = resources.as_slice() else {
        return Err(bad(
            "the local STS needs exactly one Allow resource acs:oss:*:*:<bucket>/<prefix>*",
        ));
    };
    let rest = one
        .strip_prefix("acs:oss:*:*:")
        .and_then(|r| r.strip_suffix('*'))
        .ok_or_else(|| bad("resource must look like acs:oss:*:*:<bucket>/<prefix>*"))?;
    let (bucket, prefix) = rest
        .split_once('/')
        .ok_or_else(|| bad("resource needs <bucket>/<prefix>"))?;
    Ok((bucket.to_string(), prefix.to_string()))
}

/// STS AssumeRole: parameters in the query or a form body, answered in STS's JSON.
pub(crate) fn handle(p: &Parsed, body: &[u8], store: &Store) -> HttpResponse {
    let mut params = p.query.clone();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let secret_of = |ak: &str| store.keys.get(ak).cloned();
    match assume_role(&p.method, &params, secret_of, OffsetDateTime::now_utc()) {
        Ok(issued) => {
            let c = &issued.credential;
            let body = serde_json::json!({
                "RequestId": request_id,
                "AssumedRoleUser": {
                    "Arn": "acs:ram::0:role/oss-local",
                    "AssumedRoleId": format!("0:{}", issued.access_key_id),
                },
                "Credentials": {
                    "AccessKeyId": issued.access_key_id,
                    "AccessKeySecret": c.secret,
                    "SecurityToken": c.token,
                    "Expiration": c.expires.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                },
            });
            store.stats.bump("AssumeRole");
            store.add_temp_credential(issued.access_key_id.clone(), issued.credential);
            HttpResponse::Ok().json(body)
        }
        Err(e) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(e.status)
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
        )
        .json(serde_json::json!({
            "RequestId": request_id,
            "HostId": "oss-local",
            "Code": e.code,
            "Message": e.message,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> serde_json::Value {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/vectors/sts_assume_role.json");
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    /// The documented RPC example and the aliyun-python-sdk AssumeRole vector.
    #[test]
    fn rpc_signatures_match_the_vendor_vectors() {
        let v = vectors();
        let doc = &v["official_doc_example"];
        let params: Vec<(String, String)> = doc["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let sts = string_to_sign("GET", &params);
        assert_eq!(sts, doc["string_to_sign"].as_str().unwrap());
        assert_eq!(
            signature("testsecret", &sts),
            doc["expected_signature"].as_str().unwrap()
        );

        let a = &v["assume_role_vector"];
        let mut params: Vec<(String, String)> = a["params_signed"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            string_to_sign("POST", &params),
            a["string_to_sign"].as_str().unwrap()
        );
        params.push((
            "Signature".into(),
            a["signature"].as_str().unwrap().to_string(),
        ));
        let now = OffsetDateTime::parse(
            "2023-11-14T22:14:00Z",
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let secret = a["access_key_secret"].as_str().unwrap().to_string();
        let issued = assume_role(
            "POST",
            &params,
            |ak| (ak == "LTAI5tFakeAccessKeyId000").then(|| secret.clone()),
            now,
        )
        .unwrap();
        assert_eq!(
            (
                issued.credential.bucket.as_str(),
                issued.credential.prefix.as_str()
            ),
            ("examplebucket", "user/42/")
        );
        assert!(issued.access_key_id.starts_with("STS."));
        let wrong = assume_role("POST", &params, |_| Some("other".into()), now).unwrap_err();
        assert_eq!(wrong.code, "SignatureDoesNotMatch");
        let late = now + time::Duration::minutes(20);
        assert_eq!(
            assume_role("POST", &params, |_| Some(secret.clone()), late)
                .unwrap_err()
                .code,
            "InvalidTimeStamp.Expired"
        );
    }
}
