//! SigV4 query-string authentication: presigned PUT, UploadPart (and GET/HEAD for tests
//! and debugging). The URL works only with exactly the returned headers.

use super::Signer;
use super::location::S3Location;
use super::sigv4::{
    ALGORITHM, AmzDate, UNSIGNED_PAYLOAD, push_canonical_headers, push_canonical_query, scope,
    string_to_sign, valid_header_name,
};
use super::types::{Expiry, InputError, Method};
use crate::providers::encoding::encode;
use std::time::Duration;
use time::OffsetDateTime;

/// Query parameters the signer adds itself; a caller naming one would forge the scope.
const SIGNER_PARAMS: [&str; 7] = [
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-security-token",
    "x-amz-signature",
];

pub struct PresignRequest<'a> {
    pub method: Method,
    pub key: &'a str,
    /// Headers the client must send with exactly these values; all are signed. Any case.
    pub headers: &'a [(&'a str, &'a str)],
    /// Sub-resources and other query parameters (`partNumber`, `uploadId`), unencoded.
    pub params: &'a [(&'a str, &'a str)],
    pub now: OffsetDateTime,
    pub expires: Expiry,
}

/// A presigned URL. Not `Debug`: the URL is a bearer credential.
pub struct Presigned {
    pub method: Method,
    pub url: String,
    /// Exactly the headers the client must send (names as given).
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
    /// For `sign s3 --explain`.
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// What a single PUT may carry: the profile's type, the declared size and gateway metadata.
#[derive(Default)]
pub struct PutHeaders<'a> {
    pub content_type: Option<&'a str>,
    /// Pins the body to exactly this many bytes.
    pub content_length: Option<u64>,
    /// Further signed headers, such as `x-amz-meta-upload-id`.
    pub extra: &'a [(&'a str, &'a str)],
}

pub(crate) fn is_checksum(name_lower: &str) -> bool {
    name_lower.starts_with("x-amz-checksum") || name_lower == "x-amz-sdk-checksum-algorithm"
}

pub(crate) fn check_headers(headers: &[(&str, &str)]) -> Result<Vec<(String, usize)>, InputError> {
    let mut names: Vec<(String, usize)> = Vec::with_capacity(headers.len() + 1);
    for (i, (name, _)) in headers.iter().enumerate() {
        if !valid_header_name(name) {
            return Err(InputError::HeaderName((*name).to_string()));
        }
        let lower = name.to_ascii_lowercase();
        if is_checksum(&lower) {
            return Err(InputError::Checksum(lower));
        }
        if matches!(
            lower.as_str(),
            "host" | "authorization" | "x-amz-date" | "x-amz-content-sha256"
        ) || SIGNER_PARAMS.contains(&lower.as_str())
        {
            return Err(InputError::ReservedHeader(lower));
        }
        if names.iter().any(|(n, _)| *n == lower) {
            return Err(InputError::DuplicateHeader(lower));
        }
        names.push((lower, i));
    }
    Ok(names)
}

impl Signer {
    pub fn presign(
        &self,
        loc: &S3Location,
        req: &PresignRequest<'_>,
    ) -> Result<Presigned, InputError> {
        let mut names = check_headers(req.headers)?;
        for (k, _) in req.params {
            let lower = k.to_ascii_lowercase();
            if is_checksum(&lower) {
                return Err(InputError::Checksum(lower));
            }
            if SIGNER_PARAMS.contains(&lower.as_str()) {
                return Err(InputError::ReservedHeader(lower));
            }
        }
        let keys = &self.keys;
        let date = AmzDate::new(req.now);
        let scope = scope(&date, keys.region(), keys.service());

        names.push(("host".to_string(), usize::MAX));
        names.sort_unstable();
        let signed: Vec<(String, &str)> = names
            .into_iter()
            .map(|(n, i)| {
                let v = if i == usize::MAX {
                    loc.host()
                } else {
                    req.headers[i].1
                };
                (n, v)
            })
            .collect();
        let mut canonical_headers = String::with_capacity(128);
        let signed_names = push_canonical_headers(&mut canonical_headers, &signed);

        // URL order (botocore's): the caller's parameters, then the signer's.
        let creds = keys.credentials();
        let mut credential = String::with_capacity(creds.access_key_id().len() + 1 + scope.len());
        credential.push_str(creds.access_key_id());
        credential.push('/');
        credential.push_str(&scope);
        let mut query: Vec<(String, String)> = Vec::with_capacity(req.params.len() + 7);
        for (k, v) in req.params {
            query.push((encode(k), encode(v)));
        }
        query.push(("X-Amz-Algorithm".into(), ALGORITHM.into()));
        query.push(("X-Amz-Credential".into(), encode(&credential)));
        query.push(("X-Amz-Date".into(), date.as_str().into()));
        query.push(("X-Amz-Expires".into(), req.expires.secs().to_string()));
        query.push(("X-Amz-SignedHeaders".into(), encode(&signed_names)));
        if let Some(t) = creds.session_token() {
            query.push(("X-Amz-Security-Token".into(), encode(t)));
        }

        let path = loc.object_path(req.key);
        let mut canonical = String::with_capacity(
            16 + path.len() + 400 + canonical_headers.len() + signed_names.len(),
        );
        canonical.push_str(req.method.as_str());
        canonical.push('\n');
        canonical.push_str(&path);
        canonical.push('\n');
        push_canonical_query(&mut canonical, &query);
        canonical.push('\n');
        canonical.push_str(&canonical_headers);
        canonical.push('\n');
        canonical.push_str(&signed_names);
        canonical.push('\n');
        canonical.push_str(UNSIGNED_PAYLOAD);

        let to_sign = string_to_sign(&date, &scope, &canonical);
        let signature = keys.key_for(&date).sign_hex(&to_sign);

        let mut url = loc.url_for_path(&path);
        url.reserve(canonical.len());
        for (i, (k, v)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(v);
        }
        url.push_str("&X-Amz-Signature=");
        url.push_str(&signature);

        Ok(Presigned {
            method: req.method,
            url,
            headers: req
                .headers
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            expires_at: req.now + Duration::from_secs(req.expires.secs()),
            canonical_request: canonical,
            string_to_sign: to_sign,
        })
    }

    /// PutObject: the type and the size are signed, so storage refuses any other.
    pub fn presign_put(
        &self,
        loc: &S3Location,
        key: &str,
        h: &PutHeaders<'_>,
        now: OffsetDateTime,
        expires: Expiry,
    ) -> Result<Presigned, InputError> {
        let len = h.content_length.map(|n| n.to_string());
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(2 + h.extra.len());
        if let Some(t) = h.content_type {
            headers.push(("Content-Type", t));
        }
        if let Some(n) = &len {
            headers.push(("Content-Length", n));
        }
        headers.extend_from_slice(h.extra);
        self.presign(
            loc,
            &PresignRequest {
                method: Method::Put,
                key,
                headers: &headers,
                params: &[],
                now,
                expires,
            },
        )
    }

    /// UploadPart: only the planned size is signed (parts carry no type). No checksum: a
    /// presigned part URL cannot know the bytes (see the checksum trap in LOCAL_BACKENDS.md).
    #[allow(clippy::too_many_arguments)]
    pub fn presign_upload_part(
        &self,
        loc: &S3Location,
        key: &str,
        upload_id: &str,
        part_number: u32,
        content_length: Option<u64>,
        now: OffsetDateTime,
        expires: Expiry,
    ) -> Result<Presigned, InputError> {
        let part = part_number.to_string();
        let len = content_length.map(|n| n.to_string());
        let headers: Vec<(&str, &str)> =
            len.iter().map(|n| ("Content-Length", n.as_str())).collect();
        self.presign(
            loc,
            &PresignRequest {
                method: Method::Put,
                key,
                headers: &headers,
                params: &[("partNumber", &part), ("uploadId", upload_id)],
                now,
                expires,
            },
        )
    }
}
