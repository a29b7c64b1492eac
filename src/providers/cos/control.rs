//! COS control calls made with the gateway's own keys (HeadObject and the multipart API),
//! each header-signed by [`presign::authorize`] and sent through one [`CosProvider::call`]
//! that classifies COS's error XML into [`UpstreamError`] variants.
//!
//! CompleteMultipartUpload answers 200 at once and streams whitespace until the merge ends,
//! with the result or an `<Error>` in the last chunk: the whole body is read and looked at,
//! never the status alone.

use super::presign::{self, ControlCall};
use super::provider::{CosProvider, SERVICE, failed};
use crate::domain::part_plan::MAX_PARTS;
use crate::providers::multipart_xml::{
    InitiateDoc, ListPartsDoc, ListUploadsDoc, complete_body, unquote,
};
use crate::providers::{
    CallbackRequest, Completed, InProgressPage, MultipartApi, PartInfo, PartLimits, UpstreamError,
};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use time::OffsetDateTime;

/// COS: every part but the last at least 1 MB, none over 5 GB, at most 10,000.
pub const MIN_PART_SIZE: u64 = 1024 * 1024;
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
const CALL_EXPIRES_SECS: u64 = 60;
/// Bound on the ListParts pages one call follows (1,000 parts a page).
const MAX_PAGES: usize = 11;

pub(super) struct Answer {
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Deserialize)]
struct ErrorDoc {
    #[serde(rename = "Code")]
    code: String,
}

/// COS's error codes, turned into what callers act on.
pub fn classify(status: u16, code: String) -> UpstreamError {
    match code.as_str() {
        "NoSuchUpload" => UpstreamError::UploadGone,
        "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" => {
            UpstreamError::PartsRejected { code }
        }
        "AppendPositionErr" => UpstreamError::AppendPosition { next: None },
        "ObjectNotAppendable" => UpstreamError::NotAppendable,
        _ => UpstreamError::Refused {
            service: SERVICE,
            status,
            code,
        },
    }
}

/// The `<Error><Code>` of an error document, if the body is one.
fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if !text.contains("<Error>") {
        return None;
    }
    quick_xml::de::from_str::<ErrorDoc>(text)
        .ok()
        .map(|e| e.code)
}

fn parse<T: for<'de> Deserialize<'de>>(op: &str, body: &[u8]) -> Result<T, UpstreamError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| failed("protocol", format!("{op}: the answer is not UTF-8")))?;
    quick_xml::de::from_str(text.trim())
        .map_err(|e| failed("protocol", format!("{op}: unreadable XML answer: {e}")))
}

fn send_error(op: &str, e: reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::Timeout { service: SERVICE }
    } else {
        // Without the URL: a presigned one carries a signature.
        failed("connect", format!("{op}: {}", e.without_url()))
    }
}

impl CosProvider {
    /// Sends one header-signed call; `Ok(None)` for a 404 when `missing_ok`.
    pub(super) async fn call(
        &self,
        op: &str,
        call: ControlCall<'_>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer, UpstreamError> {
        let key_time = Self::key_time(OffsetDateTime::now_utc(), CALL_EXPIRES_SECS);
        let signed = presign::authorize(
            self.location(),
            self.own_credentials(),
            call,
            headers,
            key_time,
        );
        let method = reqwest::Method::from_bytes(signed.method.as_bytes()).expect("static method");
        let mut req = self
            .http
            .request(method, &signed.url)
            .timeout(self.bucket.upstream_timeout);
        for (k, v) in &signed.headers {
            req = req.header(k, v);
        }
        let resp = req.body(body).send().await.map_err(|e| send_error(op, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| send_error(op, e))?;
        if (200..300).contains(&status) {
            // A 200 may still carry an error in its last chunk (CompleteMultipartUpload).
            if let Some(code) = error_code(&body) {
                return Err(classify(status, code));
            }
            return Ok(Answer { headers, body });
        }
        let code = error_code(&body).unwrap_or_else(|| format!("HTTP{status}"));
        Err(classify(status, code))
    }

    /// HeadObject's headers; `None` when there is no such object.
    pub(super) async fn head(
        &self,
        key: &str,
    ) -> Result<Option<reqwest::header::HeaderMap>, UpstreamError> {
        match self
            .call("HeadObject", ControlCall::Head { key }, &[], Vec::new())
            .await
        {
            Ok(a) => Ok(Some(a.headers)),
            Err(UpstreamError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl MultipartApi for CosProvider {
    fn limits(&self) -> PartLimits {
        PartLimits {
            min_part: MIN_PART_SIZE,
            max_part: MAX_PART_SIZE,
            max_parts: MAX_PARTS,
        }
    }

    fn initiate<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        // Not bound: `binds_multipart` is false here.
        _binding: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, UpstreamError>> {
        Box::pin(async move {
            let call = ControlCall::InitiateMultipart { key };
            let a = self
                .call(
                    "InitiateMultipartUpload",
                    call,
                    &[("Content-Type", content_type)],
                    Vec::new(),
                )
                .await?;
            Ok(parse::<InitiateDoc>("InitiateMultipartUpload", &a.body)?.upload_id)
        })
    }

    fn list_parts<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartInfo>, UpstreamError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut marker: Option<u32> = None;
            for _ in 0..MAX_PAGES {
                let text = marker.map(|m| m.to_string());
                let call = ControlCall::ListParts {
                    key,
                    upload_id,
                    part_number_marker: text.as_deref(),
                };
                let a = self.call("ListParts", call, &[], Vec::new()).await?;
                let doc: ListPartsDoc = parse("ListParts", &a.body)?;
                out.extend(doc.parts.into_iter().map(|p| PartInfo {
                    part_number: p.number,
                    etag: unquote(&p.etag),
                    size: p.size,
                    last_modified: p.last_modified,
                }));
                match (doc.truncated, doc.next_marker) {
                    (true, Some(next)) if Some(next) > marker => marker = Some(next),
                    (true, _) => {
                        return Err(failed(
                            "protocol",
                            "ListParts: truncated without a usable next marker".into(),
                        ));
                    }
                    (false, _) => return Ok(out),
                }
            }
            Err(failed(
                "protocol",
                "ListParts: more pages than 10,000 parts fill".into(),
            ))
        })
    }

    /// COS relays no callback here; the record is settled by asking storage.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [(u32, String)],
        _callback: Option<&'a CallbackRequest>,
    ) -> BoxFuture<'a, Result<Completed, UpstreamError>> {
        Box::pin(async move {
            let call = ControlCall::CompleteMultipart { key, upload_id };
            let body = complete_body(parts).into_bytes();
            let a = self
                .call(
                    "CompleteMultipartUpload",
                    call,
                    &[("Content-Type", "application/xml")],
                    body,
                )
                .await?;
            let text = String::from_utf8_lossy(&a.body);
            if !text.contains("CompleteMultipartUploadResult") {
                return Err(failed(
                    "protocol",
                    "CompleteMultipartUpload: no result at the end of the answer".into(),
                ));
            }
            Ok(Completed::default())
        })
    }

    fn abort<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let call = ControlCall::AbortMultipart { key, upload_id };
            self.call("AbortMultipartUpload", call, &[], Vec::new())
                .await
                .map(|_| ())
        })
    }

    fn list_uploads<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<(&'a str, &'a str)>,
    ) -> BoxFuture<'a, Result<InProgressPage, UpstreamError>> {
        Box::pin(async move {
            let call = ControlCall::ListMultipartUploads {
                prefix,
                key_marker: after.map(|(k, _)| k),
                upload_id_marker: after.map(|(_, id)| id),
            };
            let a = self
                .call("ListMultipartUploads", call, &[], Vec::new())
                .await?;
            let doc: ListUploadsDoc = parse("ListMultipartUploads", &a.body)?;
            Ok(doc.into_page())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_in_the_last_chunk_of_a_200_is_an_error() {
        let body = b"   \n  \n<?xml version=\"1.0\"?><Error><Code>InvalidPart</Code><Message>m</Message></Error>";
        let code = error_code(body).unwrap();
        assert!(
            matches!(classify(200, code), UpstreamError::PartsRejected { code } if code == "InvalidPart")
        );
        assert!(error_code(b"  <CompleteMultipartUploadResult><ETag>\"a-2\"</ETag></CompleteMultipartUploadResult>").is_none());
    }

    #[test]
    fn append_errors_get_their_own_variants() {
        assert!(matches!(
            classify(409, "AppendPositionErr".into()),
            UpstreamError::AppendPosition { .. }
        ));
        assert!(matches!(
            classify(409, "ObjectNotAppendable".into()),
            UpstreamError::NotAppendable
        ));
    }
}
