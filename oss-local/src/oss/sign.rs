//! OSS request signatures, checked the way OSS checks them: V1 (HMAC-SHA1, `Authorization:
//! OSS ak:sig` or the `OSSAccessKeyId/Expires/Signature` query) and V4 (OSS4-HMAC-SHA256,
//! header or `x-oss-signature` query).
//!
//! Written apart from the gateway's signers on purpose: the two meet only on the wire, so a
//! misreading in one is not silently shared by the other, and the SDK tests prove this side.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Query parameters that are part of the V1 canonical resource (oss2's list).
const V1_SUBRESOURCES: &[&str] = &[
    "acl",
    "append",
    "asyncFetch",
    "bucketInfo",
    "callback",
    "callback-var",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "group",
    "inventory",
    "inventoryId",
    "lifecycle",
    "link",
    "live",
    "location",
    "logging",
    "objectInfo",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "referer",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "symlink",
    "tagging",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "vod",
    "website",
    "x-oss-process",
    "x-oss-request-payer",
    "x-oss-traffic-limit",
];

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

pub const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";
/// OSS refuses header-signed requests whose date is further than this from its clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// The parts of a request a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub bucket: &'a str,
    /// Decoded object key; empty for bucket-level requests.
    pub key: &'a str,
    /// Decoded query pairs, as sent.
    pub query: &'a [(String, String)],
    /// Lower-case names, as sent.
    pub headers: &'a [(String, String)],
}

impl SignedRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Who signed, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub access_key_id: String,
    pub security_token: Option<String>,
    pub form: SignatureForm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureForm {
    V1Header,
    V1Query,
    V4Header,
    V4Query,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("the request carries no signature")]
    Anonymous,
    #[error("{0}")]
    Malformed(String),
    #[error("Request has expired.")]
    Expired,
    #[error("The difference between the request time and the current time is too large.")]
    Skewed,
    #[error("The request signature we calculated does not match the signature you provided.")]
    Mismatch {
        string_to_sign: String,
        canonical_request: Option<String>,
    },
}

/// Finds which signature form the request uses and who claims to have signed it.
pub fn claimed(req: &SignedRequest<'_>) -> Result<Claimed, SignError> {
    let token = |q: &str, h: &str| {
        req.param(q)
            .or_else(|| req.header(h))
            .map(|s| s.to_string())
    };
    if let Some(auth) = req.header("authorization") {
        if let Some(rest) = auth.strip_prefix("OSS ") {
            let (ak, _) = rest.split_once(':').ok_or_else(|| {
                SignError::Malformed("Authorization: OSS <ak>:<signature>".into())
            })?;
            return Ok(Claimed {
                access_key_id: ak.to_string(),
                security_token: req.header("x-oss-security-token").map(String::from),
                form: SignatureForm::V1Header,
            });
        }
        if auth.starts_with(V4_ALGORITHM) {
            let f = v4_auth_fields(auth)?;
            return Ok(Claimed {
                access_key_id: f.credential.split('/').next().unwrap_or("").to_string(),
                security_token: req.header("x-oss-security-token").map(String::from),
                form: SignatureForm::V4Header,
            });
        }
        return Err(SignError::Malformed(
            "unsupported Authorization scheme".into(),
        ));
    }
    if let Some(ak) = req.param("OSSAccessKeyId") {
        return Ok(Claimed {
            access_key_id: ak.to_string(),
            security_token: token("security-token", "x-oss-security-token"),
            form: SignatureForm::V1Query,
        });
    }
    if req.param("x-oss-signature-version").is_some() {
        let cred = req
            .param("x-oss-credential")
            .ok_or_else(|| SignError::Malformed("x-oss-credential is missing".into()))?;
        return Ok(Claimed {
            access_key_id: cred.split('/').next().unwrap_or("").to_string(),
            security_token: token("x-oss-security-token", "x-oss-security-token"),
            form: SignatureForm::V4Query,
        });
    }
    Err(SignError::Anonymous)
}

/// Checks the request's signature with `secret` at time `now`.
pub fn verify(
    req: &SignedRequest<'_>,
    claimed: &Claimed,
    secret: &str,
    region: &str,
    now: OffsetDateTime,
) -> Result<(), SignError> {
    match claimed.form {
        SignatureForm::V1Header => {
            let auth = req.header("authorization").unwrap_or("");
            let provided = auth.rsplit_once(':').map(|(_, s)| s).unwrap_or("");
            // Browsers cannot set Date, so SDKs send x-oss-date, which then takes its place.
            let date = req
                .header("x-oss-date")
                .or_else(|| req.header("date"))
                .ok_or_else(|| SignError::Malformed("the Date header is required".into()))?;
            let when = OffsetDateTime::parse(date, &time::format_description::well_known::Rfc2822)
                .map_err(|_| SignError::Malformed("the Date header is not an HTTP date".into()))?;
            if (when - now).whole_seconds().abs() > MAX_SKEW_SECS {
                return Err(SignError::Skewed);
            }
            let sts = v1_string_to_sign(req, date, false);
            compare(&v1_signature(secret, &sts), provided, sts, None)
        }
        SignatureForm::V1Query => {
            let expires = req.param("Expires").unwrap_or("");
            let at: i64 = expires
                .parse()
                .map_err(|_| SignError::Malformed("Expires must be a Unix time".into()))?;
            if at < now.unix_timestamp() {
                return Err(SignError::Expired);
            }
            let sts = v1_string_to_sign(req, expires, true);
            let provided = req.param("Signature").unwrap_or("");
            compare(&v1_signature(secret, &sts), provided, sts, None)
        }
        SignatureForm::V4Header => {
            let f = v4_auth_fields(req.header("authorization").unwrap_or(""))?;
            let date = req
                .header("x-oss-date")
                .ok_or_else(|| SignError::Malformed("x-oss-date is required".into()))?;
            let when = parse_v4_date(date)?;
            if (when - now).whole_seconds().abs() > MAX_SKEW_SECS {
                return Err(SignError::Skewed);
            }
            let payload = req
                .header("x-oss-content-sha256")
                .ok_or_else(|| SignError::Malformed("x-oss-content-sha256 is required".into()))?;
            let additional = split_additional(f.additional.as_deref().unwrap_or(""));
            check_v4(
                req,
                secret,
                region,
                V4Parts {
                    date,
                    credential: &f.credential,
                    additional: &additional,
                    payload,
                    provided: &f.signature,
                    skip_param: None,
                },
            )
        }
        SignatureForm::V4Query => {
            let date = req
                .param("x-oss-date")
                .ok_or_else(|| SignError::Malformed("x-oss-date is required".into()))?;
            let when = parse_v4_date(date)?;
            let expires: i64 = req
                .param("x-oss-expires")
                .unwrap_or("")
                .parse()
                .map_err(|_| SignError::Malformed("x-oss-expires must be seconds".into()))?;
            if when.unix_timestamp() + expires < now.unix_timestamp() {
                return Err(SignError::Expired);
            }
            if req.param("x-oss-signature-version") != Some(V4_ALGORITHM) {
                return Err(SignError::Malformed(
                    "x-oss-signature-version must be OSS4-HMAC-SHA256".into(),
                ));
            }
            let additional = split_additional(req.param("x-oss-additional-headers").unwrap_or(""));
            check_v4(
                req,
                secret,
                region,
                V4Parts {
                    date,
                    credential: req.param("x-oss-credential").unwrap_or(""),
                    additional: &additional,
                    payload: "UNSIGNED-PAYLOAD",
                    provided: req.param("x-oss-signature").unwrap_or(""),
                    skip_param: Some("x-oss-signature"),
                },
            )
        }
    }
}

fn compare(
    expected: &str,
    provided: &str,
    string_to_sign: String,
    canonical_request: Option<String>,
) -> Result<(), SignError> {
    if bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
        Ok(())
    } else {
        Err(SignError::Mismatch {
            string_to_sign,
            canonical_request,
        })
    }
}

pub fn v1_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(string_to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `VERB\nContent-MD5\nContent-Type\nDate\n[x-oss-headers]/bucket/key[?subresources]`.
pub fn v1_string_to_sign(req: &SignedRequest<'_>, date: &str, presigned: bool) -> String {
    let mut oss: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-oss-"))
        .map(|(k, v)| (k.as_str(), v.trim()))
        .collect();
    oss.sort();
    let mut s = format!(
        "{}\n{}\n{}\n{}\n",
        req.method,
        req.header("content-md5").unwrap_or(""),
        req.header("content-type").unwrap_or(""),
        date
    );
    for (k, v) in oss {
        s.push_str(&format!("{k}:{v}\n"));
    }
    s.push_str(&v1_resource(req, presigned));
    s
}

fn v1_resource(req: &SignedRequest<'_>, presigned: bool) -> String {
    let mut sub: Vec<(&str, &str)> = req
        .query
        .iter()
        .filter(|(k, _)| V1_SUBRESOURCES.contains(&k.as_str()))
        // A presigned URL's own parameters are not part of what it signs.
        .filter(|(k, _)| {
            !presigned || !matches!(k.as_str(), "OSSAccessKeyId" | "Expires" | "Signature")
        })
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sub.sort();
    let mut s = if req.bucket.is_empty() {
        "/".to_string()
    } else {
        format!("/{}/{}", req.bucket, req.key)
    };
    for (i, (k, v)) in sub.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        if !v.is_empty() {
            s.push('=');
            s.push_str(v);
        }
    }
    s
}

struct V4AuthFields {
    credential: String,
    additional: Option<String>,
    signature: String,
}

fn v4_auth_fields(auth: &str) -> Result<V4AuthFields, SignError> {
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

fn split_additional(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    v.sort();
    v
}

fn parse_v4_date(s: &str) -> Result<OffsetDateTime, SignError> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, fmt)
        .map(|d| d.assume_utc())
        .map_err(|_| SignError::Malformed("x-oss-date must be YYYYMMDDTHHMMSSZ".into()))
}

struct V4Parts<'a> {
    date: &'a str,
    credential: &'a str,
    additional: &'a [String],
    payload: &'a str,
    provided: &'a str,
    skip_param: Option<&'a str>,
}

fn check_v4(
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

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
