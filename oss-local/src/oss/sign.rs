//! OSS request signatures, checked the way OSS checks them: V1 (HMAC-SHA1, `Authorization:
//! OSS ak:sig` or the `OSSAccessKeyId/Expires/Signature` query) and V4 (OSS4-HMAC-SHA256,
//! header or `x-oss-signature` query).
//!
//! Written apart from the gateway's signers on purpose: the two meet only on the wire, so a
//! misreading in one is not silently shared by the other, and the SDK tests prove this side.

use super::sign_v1::{v1_signature, v1_string_to_sign};
use super::sign_v4::{V4Parts, check_v4, parse_v4_date, split_additional, v4_auth_fields};
use time::OffsetDateTime;

pub use super::sign_v4::{V4_ALGORITHM, v4_canonical_request};
pub(crate) use super::sign_v4::{hmac256, v4_signing_key};
use super::signed_request::compare;
pub use super::signed_request::{SignError, SignedRequest};

/// OSS refuses header-signed requests whose date is further than this from its clock.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

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

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
