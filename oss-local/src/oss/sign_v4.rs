//! OSS V4 (OSS4-HMAC-SHA256): the Authorization fields, the canonical request, the signing key.

use super::signed_request::{SignError, SignedRequest, compare};
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

pub(super) struct V4AuthFields {
    pub(super) credential: String,
    pub(super) additional: Option<String>,
    pub(super) signature: String,
}

pub(super) fn v4_auth_fields(auth: &str) -> Result<V4AuthFields, SignError> {
    let rest = auth
        .strip_prefix(V4_ALGORITHM)
        .ok_or_else(|| SignError::Malformed("not an OSS4-HMAC-SHA256 Authorization".into()))?;
    let (mut credential, mut additional, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("AdditionalHeaders=") {
            additional = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v.to_string());
        }
    }
    match (credential, signature) {
        (Some(credential), Some(signature)) => Ok(V4AuthFields {
            credential,
            additional,
            signature,
        }),
        _ => Err(SignError::Malformed(
            "Authorization needs Credential= and Signature=".into(),
        )),
    }
}

pub(super) fn split_additional(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    v.sort();
    v
}

pub(super) fn parse_v4_date(s: &str) -> Result<OffsetDateTime, SignError> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, fmt)
        .map(|d| d.assume_utc())
        .map_err(|_| SignError::Malformed("x-oss-date must be YYYYMMDDTHHMMSSZ".into()))
}

pub(super) struct V4Parts<'a> {
    pub(super) date: &'a str,
    pub(super) credential: &'a str,
    pub(super) additional: &'a [String],
    pub(super) payload: &'a str,
    pub(super) provided: &'a str,
    pub(super) skip_param: Option<&'a str>,
}

pub(super) fn check_v4(
    req: &SignedRequest<'_>,
    secret: &str,
    region: &str,
    p: V4Parts<'_>,
) -> Result<(), SignError> {
    // Credential = <ak>/<day>/<region>/oss/aliyun_v4_request
    let parts: Vec<&str> = p.credential.split('/').collect();
    if parts.len() != 5 || parts[3] != "oss" || parts[4] != "aliyun_v4_request" {
        return Err(SignError::Malformed(
            "credential must be <ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request".into(),
        ));
    }
    let (day, cred_region) = (parts[1], parts[2]);
    if !p.date.starts_with(day) {
        return Err(SignError::Malformed(
            "the credential's date is not the request's date".into(),
        ));
    }
    if cred_region != region {
        return Err(SignError::Malformed(format!(
            "the credential is scoped to region '{cred_region}'; this store is '{region}'"
        )));
    }
    let canonical = v4_canonical_request(req, p.additional, p.payload, p.skip_param);
    let scope = format!("{day}/{region}/oss/aliyun_v4_request");
    let sts = format!(
        "{V4_ALGORITHM}\n{}\n{scope}\n{}",
        p.date,
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = v4_signing_key(secret, day, region);
    let expected = hex::encode(hmac256(&key, sts.as_bytes()));
    compare(&expected, p.provided, sts, Some(canonical))
}

pub(crate) fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn v4_signing_key(secret: &str, day: &str, region: &str) -> Vec<u8> {
    let k = hmac256(format!("aliyun_v4{secret}").as_bytes(), day.as_bytes());
    let k = hmac256(&k, region.as_bytes());
    let k = hmac256(&k, b"oss");
    hmac256(&k, b"aliyun_v4_request")
}

pub fn v4_canonical_request(
    req: &SignedRequest<'_>,
    additional: &[String],
    payload: &str,
    skip_param: Option<&str>,
) -> String {
    let enc = |s: &str| utf8_percent_encode(s, UNRESERVED).to_string();
    let mut q: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| Some(k.as_str()) != skip_param)
        .map(|(k, v)| (enc(k), enc(v)))
        .collect();
    q.sort();
    let query = q
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    let mut headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(k, _)| {
            k.starts_with("x-oss-")
                || k == "content-type"
                || k == "content-md5"
                || additional.iter().any(|a| a == k)
        })
        .map(|(k, v)| (k.as_str(), v.trim()))
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    for (k, v) in headers {
        canonical_headers.push_str(&format!("{k}:{v}\n"));
    }
    let uri = if req.bucket.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/{}", req.bucket, req.key)
    };
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        utf8_percent_encode(&uri, PATH),
        query,
        canonical_headers,
        additional.join(";"),
        payload
    )
}
