//! OSS signature V1 (HMAC-SHA1) presigned URLs.
//!
//! The string to sign covers the raw object key and raw sub-resource values; only the URL
//! escapes them. Content-Type and Content-MD5 are always lines of it (empty when absent), so
//! the uploader must send exactly the signed Content-Type, or none.

use super::location::BucketLocation;
use super::presign::{Credentials, PresignInput, Presigned, header};
use crate::providers::encoding::{UNRESERVED, push_encoded};
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

fn is_sub_resource(name: &str) -> bool {
    SUB_RESOURCES.binary_search(&name).is_ok() || name.starts_with("x-oss-")
}

/// Compares header names as OSS sorts them: lower-cased, without lower-casing into a copy.
pub(crate) fn cmp_lower(a: &str, b: &str) -> std::cmp::Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

pub fn string_to_sign(
    loc: &BucketLocation,
    input: &PresignInput<'_>,
    security_token: Option<&str>,
    expires: i64,
) -> String {
    let mut s = String::with_capacity(160 + input.key.len());
    write_string_to_sign(&mut s, loc, input, security_token, expires);
    s
}

fn write_string_to_sign(
    s: &mut String,
    loc: &BucketLocation,
    input: &PresignInput<'_>,
    security_token: Option<&str>,
    expires: i64,
) {
    s.push_str(input.method);
    s.push('\n');
    s.push_str(header(input.headers, "content-md5").unwrap_or(""));
    s.push('\n');
    s.push_str(header(input.headers, "content-type").unwrap_or(""));
    s.push('\n');
    s.push_str(itoa(expires, &mut [0; 20]));
    s.push('\n');

    let mut oss_headers: Vec<&(String, String)> = input
        .headers
        .iter()
        .filter(|(k, _)| k.len() >= 6 && k.as_bytes()[..6].eq_ignore_ascii_case(b"x-oss-"))
        .collect();
    oss_headers.sort_by(|a, b| cmp_lower(&a.0, &b.0).then_with(|| a.1.cmp(&b.1)));
    for (k, v) in oss_headers {
        s.extend(k.chars().map(|c| c.to_ascii_lowercase()));
        s.push(':');
        s.push_str(v);
        s.push('\n');
    }
    s.push('/');
    s.push_str(&loc.bucket);
    s.push('/');
    s.push_str(input.key);

    let mut sub: Vec<(&str, &str)> = input
        .params
        .iter()
        .filter(|(k, _)| is_sub_resource(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(t) = security_token {
        sub.push(("security-token", t));
    }
    sub.sort_unstable();
    for (i, (k, v)) in sub.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        if !v.is_empty() {
            s.push('=');
            s.push_str(v);
        }
    }
}

/// Decimal digits of `n` without going through the formatter.
pub(crate) fn itoa(n: i64, buf: &mut [u8; 20]) -> &str {
    let neg = n < 0;
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).expect("ASCII digits")
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

    let mut url = String::with_capacity(to_sign.len() + 160);
    loc.push_object_url(&mut url, input.key, slash_safe);
    let mut sep = '?';
    let mut param = |url: &mut String, k: &str, v: &str| {
        url.push(sep);
        sep = '&';
        push_encoded(url, k, UNRESERVED);
        if !v.is_empty() {
            url.push('=');
            push_encoded(url, v, UNRESERVED);
        }
    };
    for (k, v) in input.params {
        param(&mut url, k, v);
    }
    if let Some(t) = creds.security_token {
        param(&mut url, "security-token", t);
    }
    param(&mut url, "OSSAccessKeyId", creds.access_key_id);
    param(&mut url, "Expires", itoa(expires, &mut [0; 20]));
    param(&mut url, "Signature", &signature);
    Presigned {
        url,
        expires_at,
        string_to_sign: to_sign,
        canonical_request: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_resources_are_sorted_for_the_binary_search() {
        assert!(SUB_RESOURCES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn itoa_writes_what_display_writes() {
        for n in [0, 7, -7, 1_700_003_600, i64::MAX, i64::MIN] {
            assert_eq!(itoa(n, &mut [0; 20]), n.to_string());
        }
    }
}
