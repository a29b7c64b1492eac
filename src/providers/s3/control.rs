//! The S3 calls the gateway makes itself, signed in the `Authorization` header: multipart
//! initiate / complete / abort / list, ListMultipartUploads, HeadObject, ranged GetObject
//! and DeleteObject. Each returns the request to send; nothing here does I/O.

use super::Signer;
use super::headers::HeaderRequest;
use super::location::S3Location;
use super::sigv4::{EMPTY_SHA256, sha256_hex};
use super::types::{InputError, Method};
use super::xml::CompletedPart;
use time::OffsetDateTime;

/// A request ready to send. Not `Debug`: its `Authorization` header is a credential.
pub struct SignedRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

struct Call<'a> {
    method: Method,
    path: String,
    query: &'a [(&'a str, &'a str)],
    headers: &'a [(&'a str, &'a str)],
    body: Vec<u8>,
}

impl Signer {
    fn control(
        &self,
        loc: &S3Location,
        call: Call<'_>,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let hash = if call.body.is_empty() {
            EMPTY_SHA256.to_string()
        } else {
            sha256_hex(&call.body)
        };
        let signed = self.sign_headers(&HeaderRequest {
            method: call.method,
            host: loc.host(),
            path: &call.path,
            query: call.query,
            headers: call.headers,
            payload_sha256: &hash,
            now,
        })?;
        let mut url = loc.url_for_path(&call.path);
        if !signed.query.is_empty() {
            url.push('?');
            url.push_str(&signed.query);
        }
        Ok(SignedRequest {
            method: call.method,
            url,
            headers: signed.headers,
            body: call.body,
        })
    }

    /// CreateMultipartUpload. `headers` become the object's (Content-Type, x-amz-meta-*).
    pub fn initiate_multipart(
        &self,
        loc: &S3Location,
        key: &str,
        headers: &[(&str, &str)],
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let call = Call {
            method: Method::Post,
            path: loc.object_path(key),
            query: &[("uploads", "")],
            headers,
            body: Vec::new(),
        };
        self.control(loc, call, now)
    }

    /// CompleteMultipartUpload. The answer can be 200 with an `<Error>` body: parse it with
    /// [`super::xml::parse_complete`], never trust the status alone.
    pub fn complete_multipart(
        &self,
        loc: &S3Location,
        key: &str,
        upload_id: &str,
        parts: &[CompletedPart],
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let body = super::xml::complete_body(parts);
        let call = Call {
            method: Method::Post,
            path: loc.object_path(key),
            query: &[("uploadId", upload_id)],
            headers: &[("Content-Type", "application/xml")],
            body: body.into_bytes(),
        };
        self.control(loc, call, now)
    }

    pub fn abort_multipart(
        &self,
        loc: &S3Location,
        key: &str,
        upload_id: &str,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let call = Call {
            method: Method::Delete,
            path: loc.object_path(key),
            query: &[("uploadId", upload_id)],
            headers: &[],
            body: Vec::new(),
        };
        self.control(loc, call, now)
    }

    /// ListParts from `part_number_marker` (exclusive); follow `next_part_number_marker`.
    pub fn list_parts(
        &self,
        loc: &S3Location,
        key: &str,
        upload_id: &str,
        part_number_marker: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let marker = part_number_marker.map(|m| m.to_string());
        let mut query = vec![("uploadId", upload_id)];
        if let Some(m) = &marker {
            query.push(("part-number-marker", m));
        }
        let call = Call {
            method: Method::Get,
            path: loc.object_path(key),
            query: &query,
            headers: &[],
            body: Vec::new(),
        };
        self.control(loc, call, now)
    }

    /// ListMultipartUploads under `prefix`, from a (key, upload id) marker pair.
    pub fn list_multipart_uploads(
        &self,
        loc: &S3Location,
        prefix: &str,
        marker: Option<(&str, &str)>,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let mut query = vec![("uploads", ""), ("prefix", prefix)];
        if let Some((key, upload_id)) = marker {
            query.push(("key-marker", key));
            query.push(("upload-id-marker", upload_id));
        }
        let call = Call {
            method: Method::Get,
            path: loc.bucket_path().to_string(),
            query: &query,
            headers: &[],
            body: Vec::new(),
        };
        self.control(loc, call, now)
    }

    pub fn head_object(
        &self,
        loc: &S3Location,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        self.object_call(loc, key, Method::Head, now)
    }

    pub fn get_object(
        &self,
        loc: &S3Location,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        self.object_call(loc, key, Method::Get, now)
    }

    /// GetObject of the bytes in `range` (a `Range` value such as `bytes=0-4095`).
    pub fn get_object_range(
        &self,
        loc: &S3Location,
        key: &str,
        range: &str,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let call = Call {
            method: Method::Get,
            path: loc.object_path(key),
            query: &[],
            headers: &[("Range", range)],
            body: Vec::new(),
        };
        self.control(loc, call, now)
    }

    pub fn delete_object(
        &self,
        loc: &S3Location,
        key: &str,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        self.object_call(loc, key, Method::Delete, now)
    }

    fn object_call(
        &self,
        loc: &S3Location,
        key: &str,
        method: Method,
        now: OffsetDateTime,
    ) -> Result<SignedRequest, InputError> {
        let call = Call {
            method,
            path: loc.object_path(key),
            query: &[],
            headers: &[],
            body: Vec::new(),
        };
        self.control(loc, call, now)
    }
}
