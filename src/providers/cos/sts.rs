//! Tencent STS for COS: the policy-2.0 document that scopes temporary keys to one user's
//! prefix, the STS answer, and the JSON the COS JS / mini-program SDKs' `getAuthorization`
//! snippet reads (the shape of Tencent's `qcloud-cos-sts` server SDK).

use super::bucket::BucketName;
use super::post_policy::push_json_str;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use std::fmt;

/// Simple uploads: PutObject and the form POST the mini-program SDK uses by default
/// (cos-wx-sdk-v5 #34: without PostObject its `uploadFile` is refused).
pub const SIMPLE_UPLOAD_ACTIONS: &[&str] = &["name/cos:PutObject", "name/cos:PostObject"];
pub const APPEND_ACTION: &str = "name/cos:AppendObject";
/// What `sliceUploadFile` calls, ListMultipartUploads and ListParts included (it resumes
/// with them), Abort for `cancelTask`.
pub const MULTIPART_ACTIONS: &[&str] = &[
    "name/cos:InitiateMultipartUpload",
    "name/cos:ListMultipartUploads",
    "name/cos:ListParts",
    "name/cos:UploadPart",
    "name/cos:CompleteMultipartUpload",
    "name/cos:AbortMultipartUpload",
];

pub struct StsPolicyInput<'a> {
    pub region: &'a str,
    pub bucket: &'a BucketName,
    /// The user's prefix; the grant is `<prefix>*`.
    pub prefix: &'a str,
    pub allow_append: bool,
    /// Allowed Content-Types, `image/*` wildcards as CAM's `string_like` reads them; empty
    /// allows any.
    pub content_types: &'a [&'a str],
    /// Largest simple upload in bytes.
    pub max_size: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsPolicyError {
    #[error("an STS grant needs a non-empty user prefix")]
    EmptyPrefix,
    #[error("an STS grant prefix must not contain '*'")]
    Wildcard,
}

/// The `cos:content-type` values of a profile's Content-Type patterns, as CAM's
/// `string_like` reads them: `image/*` as is, an exact type also with parameters
/// (`text/plain;*`: browsers send `text/plain;charset=UTF-8`). Any `*/*` means no condition.
pub fn content_type_conditions(patterns: &[String]) -> Vec<String> {
    if patterns.iter().any(|p| p == "*/*" || p == "*") {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(patterns.len() * 2);
    for p in patterns {
        out.push(p.clone());
        if !p.ends_with("/*") {
            out.push(format!("{p};*"));
        }
    }
    out
}

/// `qcs::cos:<region>:uid/<appid>:<bucket-appid>/<prefix>*`.
pub fn resource(region: &str, bucket: &BucketName, prefix: &str) -> String {
    format!(
        "qcs::cos:{region}:uid/{}:{}/{prefix}*",
        bucket.appid(),
        bucket.as_str()
    )
}

/// One statement per action set, as Tencent's least-privilege guide asks: a condition key
/// absent from a request fails a plain condition, so
/// - PutObject/PostObject carry `cos:content-length` (CAM evaluates it only for simple
///   uploads) as a plain `numeric_less_than_equal`, and Content-Type as `_if_exist`;
/// - multipart and append get Content-Type as `_if_exist` only: UploadPart carries no
///   Content-Type (cos-js-sdk-v5 #218 is what a plain key does to multipart), and no
///   per-request length bounds an object assembled from parts or appends.
pub fn policy_json(input: &StsPolicyInput<'_>) -> Result<String, StsPolicyError> {
    if input.prefix.is_empty() {
        return Err(StsPolicyError::EmptyPrefix);
    }
    if input.prefix.contains('*') {
        return Err(StsPolicyError::Wildcard);
    }
    let resource = resource(input.region, input.bucket, input.prefix);
    let content_type = match input.content_types {
        [] => None,
        [one] => Some(json!({"cos:content-type": one})),
        many => Some(json!({"cos:content-type": many})),
    };

    let mut simple_cond = serde_json::Map::new();
    if let Some(ct) = &content_type {
        simple_cond.insert("string_like_if_exist".into(), ct.clone());
    }
    if let Some(max) = input.max_size {
        simple_cond.insert(
            "numeric_less_than_equal".into(),
            json!({"cos:content-length": max}),
        );
    }
    let mut other_actions: Vec<&str> = Vec::with_capacity(7);
    if input.allow_append {
        other_actions.push(APPEND_ACTION);
    }
    other_actions.extend_from_slice(MULTIPART_ACTIONS);

    let statement = |actions: &[&str], cond: Option<Value>| {
        let mut s = json!({"effect": "allow", "action": actions, "resource": [resource]});
        if let Some(c) = cond.filter(|c| c.as_object().is_some_and(|o| !o.is_empty())) {
            s["condition"] = c;
        }
        s
    };
    let policy = json!({
        "version": "2.0",
        "statement": [
            statement(SIMPLE_UPLOAD_ACTIONS, Some(Value::Object(simple_cond))),
            statement(
                &other_actions,
                content_type.map(|ct| json!({"string_like_if_exist": ct})),
            ),
        ],
    });
    Ok(policy.to_string())
}

/// Temporary keys from STS. `Debug` shows only the id and times.
pub struct TemporaryCredentials {
    pub tmp_secret_id: String,
    pub tmp_secret_key: SecretString,
    pub session_token: SecretString,
    /// Unix seconds.
    pub expired_time: i64,
    /// ISO 8601 UTC, as STS wrote it.
    pub expiration: String,
    pub request_id: String,
}

impl fmt::Debug for TemporaryCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryCredentials")
            .field("tmp_secret_id", &self.tmp_secret_id)
            .field("expired_time", &self.expired_time)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsResponseError {
    /// STS's own error, e.g. `InvalidParameter.GrantOtherResource`,
    /// `AuthFailure.SignatureFailure`. Only the code is kept: safe to log.
    #[error("STS refused the request: {code} (request {request_id})")]
    Refused { code: String, request_id: String },
    #[error("STS answered something unreadable: {0}")]
    BadResponse(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    response: WireResponse,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireResponse {
    credentials: Option<WireCredentials>,
    expired_time: Option<i64>,
    expiration: Option<String>,
    error: Option<WireError>,
    #[serde(default)]
    request_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireCredentials {
    token: String,
    tmp_secret_id: String,
    tmp_secret_key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WireError {
    #[serde(default)]
    code: String,
}

fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(100)
        .collect()
}

/// Reads a GetFederationToken / AssumeRole answer. Tencent Cloud API answers HTTP 200 for
/// its own errors too, so this looks at `Response.Error`, not at the status.
pub fn parse_response(body: &[u8]) -> Result<TemporaryCredentials, StsResponseError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        // Position only: serde's message may quote the body, which holds secrets.
        StsResponseError::BadResponse(format!(
            "unexpected JSON at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let r = env.response;
    if let Some(e) = r.error {
        return Err(StsResponseError::Refused {
            code: printable(&e.code),
            request_id: printable(&r.request_id),
        });
    }
    match (r.credentials, r.expired_time, r.expiration) {
        (Some(c), Some(expired_time), Some(expiration)) => Ok(TemporaryCredentials {
            tmp_secret_id: c.tmp_secret_id,
            tmp_secret_key: c.tmp_secret_key.into(),
            session_token: c.token.into(),
            expired_time,
            expiration,
            request_id: r.request_id,
        }),
        _ => Err(StsResponseError::BadResponse(
            "Credentials, ExpiredTime or Expiration missing".into(),
        )),
    }
}

/// When the keys were issued (`ExpiredTime - DurationSeconds`, as `qcloud-cos-sts`
/// computes it) moved `skew` seconds back: the SDKs sign with `StartTime;ExpiredTime`, so a
/// start ahead of COS's clock would be refused until COS catches up.
pub fn start_time(expired_time: i64, duration_secs: u64, skew: u64) -> i64 {
    expired_time
        .saturating_sub_unsigned(duration_secs)
        .saturating_sub_unsigned(skew)
}

/// `{"credentials":{"tmpSecretId","tmpSecretKey","sessionToken"},"startTime","expiredTime",
/// "expiration","requestId"}`: what the stock `getAuthorization` snippet maps unchanged.
pub fn cos_sdk_json(creds: &TemporaryCredentials, start_time: i64) -> String {
    let mut s = String::with_capacity(
        200 + creds.session_token.expose_secret().len()
            + creds.tmp_secret_key.expose_secret().len(),
    );
    s.push_str("{\"credentials\":{\"tmpSecretId\":");
    push_json_str(&mut s, &creds.tmp_secret_id);
    s.push_str(",\"tmpSecretKey\":");
    push_json_str(&mut s, creds.tmp_secret_key.expose_secret());
    s.push_str(",\"sessionToken\":");
    push_json_str(&mut s, creds.session_token.expose_secret());
    s.push_str("},\"startTime\":");
    s.push_str(&start_time.to_string());
    s.push_str(",\"expiredTime\":");
    s.push_str(&creds.expired_time.to_string());
    s.push_str(",\"expiration\":");
    push_json_str(&mut s, &creds.expiration);
    s.push_str(",\"requestId\":");
    push_json_str(&mut s, &creds.request_id);
    s.push('}');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> BucketName {
        BucketName::parse("examplebucket-1250000000").unwrap()
    }

    fn input<'a>(b: &'a BucketName, types: &'a [&'a str]) -> StsPolicyInput<'a> {
        StsPolicyInput {
            region: "ap-guangzhou",
            bucket: b,
            prefix: "user/42/",
            allow_append: false,
            content_types: types,
            max_size: Some(5 << 20),
        }
    }

    fn parsed(i: &StsPolicyInput<'_>) -> Value {
        serde_json::from_str(&policy_json(i).unwrap()).unwrap()
    }

    #[test]
    fn the_grant_is_the_upload_actions_on_the_users_prefix_only() {
        let b = bucket();
        let p = parsed(&input(&b, &["image/*"]));
        assert_eq!(p["version"], "2.0");
        let st = p["statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        for s in st {
            assert_eq!(s["effect"], "allow");
            assert_eq!(
                s["resource"],
                json!(["qcs::cos:ap-guangzhou:uid/1250000000:examplebucket-1250000000/user/42/*"])
            );
        }
        assert_eq!(
            st[0]["action"],
            json!(["name/cos:PutObject", "name/cos:PostObject"])
        );
        assert_eq!(
            st[0]["condition"],
            json!({
                "string_like_if_exist": {"cos:content-type": "image/*"},
                "numeric_less_than_equal": {"cos:content-length": 5 << 20},
            })
        );
        assert_eq!(st[1]["action"], json!(MULTIPART_ACTIONS));
        assert_eq!(
            st[1]["condition"],
            json!({"string_like_if_exist": {"cos:content-type": "image/*"}})
        );
        let all = policy_json(&input(&b, &[])).unwrap();
        assert!(!all.contains("name/cos:*") && !all.contains(APPEND_ACTION));
    }

    #[test]
    fn append_is_granted_only_when_allowed_and_without_a_length_condition() {
        let b = bucket();
        let mut i = input(&b, &["text/plain", "application/json"]);
        i.allow_append = true;
        i.max_size = None;
        let p = parsed(&i);
        let st = p["statement"].as_array().unwrap();
        assert_eq!(st[1]["action"][0], APPEND_ACTION);
        assert_eq!(
            st[0]["condition"],
            json!({"string_like_if_exist": {"cos:content-type": ["text/plain", "application/json"]}})
        );
        let i = input(&b, &[]);
        let p = parsed(&StsPolicyInput {
            max_size: None,
            ..i
        });
        assert!(p["statement"][0].get("condition").is_none());
        assert!(p["statement"][1].get("condition").is_none());
    }

    #[test]
    fn an_empty_or_wildcard_prefix_is_refused() {
        let b = bucket();
        let i = input(&b, &[]);
        assert_eq!(
            policy_json(&StsPolicyInput { prefix: "", ..i }),
            Err(StsPolicyError::EmptyPrefix)
        );
        let i = input(&b, &[]);
        assert_eq!(
            policy_json(&StsPolicyInput {
                prefix: "u/*/",
                ..i
            }),
            Err(StsPolicyError::Wildcard)
        );
    }

    #[test]
    fn sts_errors_come_back_by_code_even_under_http_200() {
        let body = br#"{"Response":{"Error":{"Code":"InvalidParameter.GrantOtherResource","Message":"cant grant other resource"},"RequestId":"r-1"}}"#;
        assert_eq!(
            parse_response(body).unwrap_err(),
            StsResponseError::Refused {
                code: "InvalidParameter.GrantOtherResource".into(),
                request_id: "r-1".into()
            }
        );
        let e =
            parse_response(br#"{"Response":{"Credentials":{"Token":"SECRET-TOKEN"#).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert!(matches!(
            parse_response(br#"{"Response":{"RequestId":"r"}}"#),
            Err(StsResponseError::BadResponse(_))
        ));
    }

    #[test]
    fn debug_output_hides_the_secret_and_token() {
        let c = TemporaryCredentials {
            tmp_secret_id: "AKIDtmp".into(),
            tmp_secret_key: "SECRETKEY".to_string().into(),
            session_token: "SESSIONTOKEN".to_string().into(),
            expired_time: 1_700_001_800,
            expiration: "2023-11-14T22:43:20Z".into(),
            request_id: "r".into(),
        };
        let d = format!("{c:?}");
        assert!(d.contains("AKIDtmp") && !d.contains("SECRETKEY") && !d.contains("SESSIONTOKEN"));
    }
}
