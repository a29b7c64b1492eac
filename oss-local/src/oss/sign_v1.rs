//! OSS V1 (HMAC-SHA1): the string to sign and its canonical resource.

use super::signed_request::SignedRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

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

pub(super) fn v1_resource(req: &SignedRequest<'_>, presigned: bool) -> String {
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
