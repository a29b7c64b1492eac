//! Which secret signs an OSS request, and whether the signature holds.

use super::sign::{self, SignError, SignedRequest};
use crate::error::ApiError;
use crate::http::Parsed;
use crate::store::Store;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

pub(super) fn secret_for(
    store: &Store,
    claimed: &sign::Claimed,
    key: &str,
    bucket: &str,
) -> Result<String, ApiError> {
    if let Some(s) = store.keys.get(&claimed.access_key_id) {
        return Ok(s.clone());
    }
    let temp = store
        .temp
        .lock()
        .unwrap()
        .get(&claimed.access_key_id)
        .cloned();
    let Some(t) = temp else {
        return Err(ApiError::new(
            403,
            "InvalidAccessKeyId",
            "The OSS Access Key Id you provided does not exist in our records.",
        )
        .with("OSSAccessKeyId", claimed.access_key_id.clone()));
    };
    let token_ok = claimed
        .security_token
        .as_deref()
        .is_some_and(|tok| bool::from(tok.as_bytes().ct_eq(t.token.as_bytes())));
    if !token_ok {
        return Err(ApiError::new(
            403,
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
        ));
    }
    if t.expires < OffsetDateTime::now_utc() {
        return Err(ApiError::new(
            403,
            "SecurityTokenExpired",
            "The security token you provided has expired.",
        ));
    }
    if t.bucket != bucket || key.is_empty() || !key.starts_with(&t.prefix) {
        return Err(ApiError::new(
            403,
            "AccessDenied",
            "You have no right to access this object because of bucket acl or policy.",
        ));
    }
    Ok(t.secret)
}

pub(super) fn authenticate(p: &Parsed, store: &Store) -> Result<(), ApiError> {
    let signed = SignedRequest {
        method: &p.method,
        bucket: &p.bucket,
        key: &p.key,
        query: &p.query,
        headers: &p.headers,
    };
    let claimed = match sign::claimed(&signed) {
        Ok(c) => c,
        Err(SignError::Anonymous) => {
            return Err(ApiError::new(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl.",
            ));
        }
        Err(e) => return Err(ApiError::new(400, "InvalidArgument", e.to_string())),
    };
    let secret = secret_for(store, &claimed, &p.key, &p.bucket)?;
    match sign::verify(
        &signed,
        &claimed,
        &secret,
        &store.config.region,
        OffsetDateTime::now_utc(),
    ) {
        Ok(()) => Ok(()),
        Err(SignError::Expired) => Err(ApiError::new(403, "AccessDenied", "Request has expired.")),
        Err(SignError::Skewed) => Err(ApiError::new(
            403,
            "RequestTimeTooSkewed",
            SignError::Skewed.to_string(),
        )),
        Err(SignError::Mismatch {
            string_to_sign,
            canonical_request,
        }) => {
            let mut e = ApiError::new(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )
            .with("OSSAccessKeyId", claimed.access_key_id.clone())
            .with("StringToSign", string_to_sign.clone())
            .with("StringToSignBytes", hex_spaced(string_to_sign.as_bytes()));
            if let Some(c) = canonical_request {
                e = e.with("CanonicalRequest", c);
            }
            Err(e)
        }
        Err(e) => Err(ApiError::new(400, "InvalidArgument", e.to_string())),
    }
}

fn hex_spaced(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
