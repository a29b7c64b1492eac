//! Sending the gateway's own header-signed S3 calls: one [`S3Provider::call`] that reads
//! the whole answer (CompleteMultipartUpload may answer 200 and carry an `<Error>`) and
//! classifies S3's error codes into [`UpstreamError`] variants, and HeadObject.

use super::control::SignedRequest;
use super::provider::{BINDING_HEADER, S3Provider};
use super::types::InputError;
use crate::providers::{ObjectMeta, UpstreamError};
use time::OffsetDateTime;

pub(super) const SERVICE: &str = "storage";
/// No S3 answer the gateway reads is larger (a ListParts page of 1,000 parts is ~300 KB).
const MAX_ANSWER: usize = 8 * 1024 * 1024;

pub(super) struct Answer {
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

pub(super) fn failed(class: &'static str, detail: String) -> UpstreamError {
    UpstreamError::Failed {
        service: SERVICE,
        class,
        detail,
    }
}

/// S3's error codes, turned into what callers act on.
pub fn classify(status: u16, code: String) -> UpstreamError {
    match code.as_str() {
        "NoSuchUpload" => UpstreamError::UploadGone,
        "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" => {
            UpstreamError::PartsRejected { code }
        }
        _ => UpstreamError::Refused {
            service: SERVICE,
            status,
            code,
        },
    }
}

fn send_error(op: &str, e: reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::Timeout { service: SERVICE }
    } else {
        // Without the URL: a presigned one carries a signature.
        failed("connect", format!("{op}: {}", e.without_url()))
    }
}

pub(super) fn unsignable(op: &str, e: InputError) -> UpstreamError {
    failed("not_configured", format!("{op}: cannot sign: {e}"))
}

pub(super) fn protocol(op: &str, e: impl std::fmt::Display) -> UpstreamError {
    failed("protocol", format!("{op}: {e}"))
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_string())
}

impl S3Provider {
    /// Sends a signed call and reads its whole answer. A 2xx whose body is an `<Error>`
    /// document is an error; other statuses are classified by their `<Code>`.
    pub(super) async fn call(
        &self,
        op: &str,
        signed: SignedRequest,
    ) -> Result<Answer, UpstreamError> {
        let method =
            reqwest::Method::from_bytes(signed.method.as_str().as_bytes()).expect("static method");
        let is_head = method == reqwest::Method::HEAD;
        let mut req = self
            .http
            .request(method, &signed.url)
            .timeout(self.bucket.upstream_timeout);
        for (k, v) in &signed.headers {
            req = req.header(k, v);
        }
        let mut resp = req
            .body(signed.body)
            .send()
            .await
            .map_err(|e| send_error(op, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        if !is_head {
            while let Some(chunk) = resp.chunk().await.map_err(|e| send_error(op, e))? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(protocol(op, "the answer is larger than any S3 answer"));
                }
                body.extend_from_slice(&chunk);
            }
        }
        let code = std::str::from_utf8(&body)
            .ok()
            .and_then(super::xml::error_code);
        match (status, code) {
            (200..=299, None) => Ok(Answer { headers, body }),
            (_, Some(code)) => Err(classify(status, code)),
            (_, None) => Err(classify(status, format!("HTTP{status}"))),
        }
    }

    /// HeadObject with the gateway's own key; `None` when there is no such object.
    pub(super) async fn head_meta(&self, key: &str) -> Result<Option<ObjectMeta>, UpstreamError> {
        let op = "HeadObject";
        let signed = self
            .signer
            .head_object(&self.location, key, OffsetDateTime::now_utc())
            .map_err(|e| unsignable(op, e))?;
        let a = match self.call(op, signed).await {
            Ok(a) => a,
            Err(UpstreamError::Refused { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let h = &a.headers;
        let size = header(h, "content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| protocol(op, "no Content-Length"))?;
        Ok(Some(ObjectMeta {
            size,
            // S3 ETags are lower-case hex (`-<parts>` after a multipart upload); quotes dropped.
            etag: header(h, "etag").map(|e| e.trim().trim_matches('"').to_ascii_lowercase()),
            content_type: header(h, "content-type"),
            crc64: None,
            binding: header(h, BINDING_HEADER),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_error_codes_become_the_variants_callers_act_on() {
        assert!(matches!(
            classify(404, "NoSuchUpload".into()),
            UpstreamError::UploadGone
        ));
        assert!(matches!(
            classify(200, "InvalidPart".into()),
            UpstreamError::PartsRejected { code } if code == "InvalidPart"
        ));
        assert!(matches!(
            classify(403, "AccessDenied".into()),
            UpstreamError::Refused { status: 403, .. }
        ));
    }
}
