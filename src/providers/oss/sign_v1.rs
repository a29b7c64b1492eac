//! OSS signature V1 (HMAC-SHA1) presigned URLs.
//!
//! The string to sign covers the raw object key and raw sub-resource values; only the URL
//! escapes them. Content-Type and Content-MD5 are always lines of it (empty when absent), so
//! the uploader must send exactly the signed Content-Type, or none.

use super::location::BucketLocation;
use super::presign::{Credentials, PresignInput, Presigned, header};
use crate::providers::encoding::query_string;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use std::time::Duration;

/// Query parameters OSS treats as sub-resources: these, and only these, are signed.
const SUB_RESOURCES: &[&str] = &[
    "acl",
    "append",
    "callback",
    "callback-var",
    "delete",
    "lifecycle",
    "location",
    "logging",
    "objectMeta",
    "partNumber",
    "position",
    "referer",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "symlink",
    "tagging",
    "uploadId",
    "uploads",
    "versionId",
    "x-oss-process",
];

pub fn hmac_sha1_base64(secret: &str, data: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

pub fn string_to_sign(
    loc: &BucketLocation,
    input: &PresignInput<'_>,
    security_token: Option<&str>,
    expires: i64,
) -> String {
    let mut oss_headers: Vec<(String, &str)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k.starts_with("x-oss-"))
        .collect();
    oss_headers.sort();

    let mut sub: Vec<(&str, &str)> = input
        .params
        .iter()
        .filter(|(k, _)| SUB_RESOURCES.contains(&k.as_str()) || k.starts_with("x-oss-"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(t) = security_token {
        sub.push(("security-token", t));
    }
    sub.sort();

    let mut s = String::with_capacity(256);
    s.push_str(input.method);
    s.push('\n');
    s.push_str(header(input.headers, "content-md5").unwrap_or(""));
    s.push('\n');
    s.push_str(header(input.headers, "content-type").unwrap_or(""));
    s.push('\n');
    s.push_str(&expires.to_string());
    s.push('\n');
    for (k, v) in oss_headers {
        s.push_str(&k);
        s.push(':');
        s.push_str(v);
        s.push('\n');
    }
    s.push('/');
    s.push_str(&loc.bucket);
    s.push('/');
    s.push_str(input.key);
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

pub fn presign(
    loc: &BucketLocation,
    creds: Credentials<'_>,
    input: &PresignInput<'_>,
    slash_safe: bool,
) -> Presigned {
    let expires_at = input.now + Duration::from_secs(input.expires_in);
    let expires = expires_at.unix_timestamp();
    let to_sign = string_to_sign(loc, input, creds.security_token, expires);
    let signature = hmac_sha1_base64(creds.access_key_secret, &to_sign);

    let mut query: Vec<(String, String)> = input.params.to_vec();
    if let Some(t) = creds.security_token {
        query.push(("security-token".into(), t.into()));
    }
    query.push(("OSSAccessKeyId".into(), creds.access_key_id.into()));
    query.push(("Expires".into(), expires.to_string()));
    query.push(("Signature".into(), signature));
    Presigned {
        url: format!(
            "{}?{}",
            loc.object_url(input.key, slash_safe),
            query_string(&query)
        ),
        expires_at,
        string_to_sign: to_sign,
        canonical_request: None,
    }
}
