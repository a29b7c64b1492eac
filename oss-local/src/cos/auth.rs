//! Which secret signs a COS request, whether the q-sign holds, and whether a temporary
//! credential's grant covers the action and key.

use super::conditions::RequestFacts;
use super::error::{access_denied, sign_error};
use super::{CosState, sign};
use crate::error::ApiError;
use crate::http::Parsed;
use time::OffsetDateTime;

/// The SecretKey for `secret_id`: a long-lived key, or a temporary one whose token matches,
/// is unexpired and whose grant covers `action` on `key` (for a bucket-level call, the
/// prefix it asks about) in `bucket`, the policy's conditions holding for `facts`.
pub(super) fn secret_for(
    state: &CosState,
    secret_id: &str,
    token: Option<&str>,
    bucket: &str,
    action: &str,
    key: &str,
    facts: &RequestFacts<'_>,
) -> Result<String, ApiError> {
    if let Some(s) = state.store.keys.get(secret_id) {
        return Ok(s.clone());
    }
    let grant = state.temp.lock().unwrap().get(secret_id).cloned();
    let Some(g) = grant else {
        return Err(ApiError::new(
            403,
            "InvalidAccessKeyId",
            "The access key Id format you provided is invalid.",
        ));
    };
    if !token.is_some_and(|t| sign::equal(t, &g.token)) {
        return Err(ApiError::new(
            400,
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        ));
    }
    if g.expires < OffsetDateTime::now_utc() {
        return Err(ApiError::new(
            400,
            "ExpiredToken",
            "The provided token has expired.",
        ));
    }
    if !g.allows(bucket, action, key, facts) {
        return Err(access_denied());
    }
    Ok(g.secret)
}

pub(super) fn authenticate(
    p: &Parsed,
    state: &CosState,
    action: &str,
    key: &str,
) -> Result<(), ApiError> {
    let auth = match p.header("authorization") {
        Some(h) => sign::parse_header(h),
        None => sign::from_pairs(p.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    }
    .map_err(sign_error)?;
    // The Python SDK signs the token as a parameter; the JS and mini-program SDKs append it
    // unsigned, or send it as a header: COS takes it from wherever it is.
    let token = p
        .header("x-cos-security-token")
        .or_else(|| p.param("x-cos-security-token"));
    let key = if action == "ListMultipartUploads" {
        p.param("prefix").unwrap_or("")
    } else {
        key
    };
    let facts = RequestFacts {
        content_type: p.header("content-type"),
        content_length: p.header("content-length").and_then(|v| v.parse().ok()),
    };
    let secret = secret_for(state, &auth.ak, token, &p.bucket, action, key, &facts)?;
    verify(p, &auth, &secret, "/")
}

/// Verifies `auth` over the request; `root` is the pathname when the key is empty.
pub(super) fn verify(
    p: &Parsed,
    auth: &sign::QAuth,
    secret: &str,
    root: &str,
) -> Result<(), ApiError> {
    let pathname = if p.key.is_empty() {
        root.to_string()
    } else {
        format!("/{}", p.key)
    };
    let req = sign::Request {
        method: &p.method,
        pathname: &pathname,
        query: &p.query,
        headers: &p.headers,
    };
    sign::verify(
        &req,
        auth,
        secret,
        OffsetDateTime::now_utc().unix_timestamp(),
    )
    .map_err(|e| {
        let e = sign_error(e);
        e.with("SecretId", auth.ak.clone())
    })
}
