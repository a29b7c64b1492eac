//! OSS multipart control calls (InitiateMultipartUpload, ListParts, CompleteMultipartUpload,
//! AbortMultipartUpload, ListMultipartUploads), made by the gateway with its own keys.
//!
//! Each call is signed by the same presigners the vendor vectors prove (a 60-second URL with
//! every header it sends signed), so there is one signing path to trust, not two.

use super::OssProvider;
use super::callback_params;
use super::presign::PresignInput;
use super::{sign_v1, sign_v4};
use crate::config::SignatureVersion;
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

const SERVICE: &str = "storage";
/// OSS: every part but the last at least 100 KB, none over 5 GB.
pub const MIN_PART_SIZE: u64 = 100 * 1024;
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
const CALL_EXPIRES_SECS: u64 = 60;
/// ListParts/ListMultipartUploads page size, and a bound on how many pages one call follows.
const PAGE: usize = 1000;
const MAX_PAGES: usize = 11;

struct Call<'a> {
    method: &'static str,
    key: &'a str,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

#[derive(Deserialize)]
pub(super) struct ErrorDoc {
    #[serde(rename = "Code")]
    pub(super) code: String,
}

pub(super) fn failed(class: &'static str, detail: String) -> UpstreamError {
    UpstreamError::Failed {
        service: SERVICE,
        class,
        detail,
    }
}

fn parse<T: for<'de> Deserialize<'de>>(op: &str, body: &[u8]) -> Result<T, UpstreamError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| failed("protocol", format!("{op}: the answer is not UTF-8")))?;
    quick_xml::de::from_str(text)
        .map_err(|e| failed("protocol", format!("{op}: unreadable XML answer: {e}")))
}

/// OSS's error codes, turned into what callers act on.
pub(super) fn classify(status: u16, code: String) -> UpstreamError {
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

impl OssProvider {
    /// The URL of one control call made with the gateway's own keys: a 60-second presigned
    /// URL with every header it sends signed, by the presigners the vendor vectors prove.
    /// Never logged: it carries a signature.
    pub(super) fn control_url(
        &self,
        method: &str,
        key: &str,
        headers: &[(String, String)],
        params: &[(String, String)],
    ) -> String {
        let creds = self.own_credentials();
        let input = PresignInput {
            method,
            key,
            headers,
            additional_headers: &[],
            params,
            now: OffsetDateTime::now_utc(),
            expires_in: CALL_EXPIRES_SECS,
        };
        match self.oss.signature_version {
            SignatureVersion::V1 => sign_v1::presign(&self.location, creds, &input, true).url,
            SignatureVersion::V4 => {
                sign_v4::presign_with(
                    &self.location,
                    &self.bucket.region,
                    creds,
                    sign_v4::KeySource::Cached(&self.own_v4_keys),
                    &input,
                )
                .url
            }
        }
    }

    async fn call(&self, op: &str, c: Call<'_>) -> Result<Answer, UpstreamError> {
        let url = self.control_url(c.method, c.key, &c.headers, &c.params);
        let method = reqwest::Method::from_bytes(c.method.as_bytes()).expect("static method");
        let mut req = self
            .http
            .request(method, &url)
            .timeout(self.bucket.upstream_timeout);
        for (k, v) in &c.headers {
            req = req.header(k, v);
        }
        let resp = req.body(c.body).send().await.map_err(|e| {
            if e.is_timeout() {
                UpstreamError::Timeout { service: SERVICE }
            } else {
                // Without the URL: it carries a signature.
                failed("connect", format!("{op}: {}", e.without_url()))
            }
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map(|b| b.to_vec()).map_err(|e| {
            if e.is_timeout() {
                UpstreamError::Timeout { service: SERVICE }
            } else {
                failed(
                    "connect",
                    format!("{op}: reading the answer: {}", e.without_url()),
                )
            }
        })?;
        if (200..300).contains(&status) {
            return Ok(Answer {
                status,
                headers,
                body,
            });
        }
        let code = std::str::from_utf8(&body)
            .ok()
            .and_then(|t| quick_xml::de::from_str::<ErrorDoc>(t).ok())
            .map(|e| e.code)
            .unwrap_or_else(|| format!("HTTP{status}"));
        Err(classify(status, code))
    }
}

impl MultipartApi for OssProvider {
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
            let a = self
                .call(
                    "InitiateMultipartUpload",
                    Call {
                        method: "POST",
                        key,
                        params: vec![("uploads".into(), String::new())],
                        headers: vec![("Content-Type".into(), content_type.into())],
                        body: Vec::new(),
                    },
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
            let mut marker = 0u32;
            for _ in 0..MAX_PAGES {
                let mut params = vec![
                    ("uploadId".to_string(), upload_id.to_string()),
                    ("max-parts".to_string(), PAGE.to_string()),
                ];
                if marker > 0 {
                    params.push(("part-number-marker".into(), marker.to_string()));
                }
                let a = self
                    .call(
                        "ListParts",
                        Call {
                            method: "GET",
                            key,
                            params,
                            headers: vec![],
                            body: Vec::new(),
                        },
                    )
                    .await?;
                let doc: ListPartsDoc = parse("ListParts", &a.body)?;
                out.extend(doc.parts.into_iter().map(|p| PartInfo {
                    part_number: p.number,
                    etag: unquote(&p.etag),
                    size: p.size,
                    last_modified: p.last_modified,
                }));
                match (doc.truncated, doc.next_marker) {
                    (true, Some(next)) if next > marker => marker = next,
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

    fn complete<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [(u32, String)],
        callback: Option<&'a CallbackRequest>,
    ) -> BoxFuture<'a, Result<Completed, UpstreamError>> {
        Box::pin(async move {
            let mut headers = vec![("Content-Type".to_string(), "application/xml".to_string())];
            if let Some(cb) = callback {
                let names = super::var_names(cb);
                headers.push((
                    "x-oss-callback".into(),
                    self.callbacks.encoded(&self.spec(cb, &names)).to_string(),
                ));
                headers.push((
                    "x-oss-callback-var".into(),
                    callback_params::encode_vars(cb.vars.pairs()),
                ));
            }
            let a = self
                .call(
                    "CompleteMultipartUpload",
                    Call {
                        method: "POST",
                        key,
                        params: vec![("uploadId".into(), upload_id.into())],
                        headers,
                        body: complete_body(parts).into_bytes(),
                    },
                )
                .await?;
            // 203 CallbackFailed: stored, but no answer to relay.
            let json = a.status == 200
                && a.headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
            Ok(Completed {
                relayed_answer: json.then(|| serde_json::from_slice(&a.body).ok()).flatten(),
            })
        })
    }

    fn abort<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            self.call(
                "AbortMultipartUpload",
                Call {
                    method: "DELETE",
                    key,
                    params: vec![("uploadId".into(), upload_id.into())],
                    headers: vec![],
                    body: Vec::new(),
                },
            )
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
            let mut params = vec![
                ("uploads".to_string(), String::new()),
                ("prefix".to_string(), prefix.to_string()),
                ("max-uploads".to_string(), PAGE.to_string()),
            ];
            if let Some((k, id)) = after {
                params.push(("key-marker".into(), k.into()));
                params.push(("upload-id-marker".into(), id.into()));
            }
            let a = self
                .call(
                    "ListMultipartUploads",
                    Call {
                        method: "GET",
                        key: "",
                        params,
                        headers: vec![],
                        body: Vec::new(),
                    },
                )
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
    fn complete_body_quotes_etags_and_escapes() {
        assert_eq!(
            complete_body(&[(1, "\"AB\"".into()), (2, "C<D".into())]),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"AB\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\"C&lt;D\"</ETag></Part></CompleteMultipartUpload>"
        );
    }

    #[test]
    fn list_parts_answer_parses() {
        let doc: ListPartsDoc = quick_xml::de::from_str(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListPartsResult><Bucket>b</Bucket><Key>k</Key><UploadId>U</UploadId><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber><LastModified>2012-02-23T07:01:34.000Z</LastModified><ETag>"3349DC700140D7F86A0784842780****"</ETag><Size>6291456</Size></Part><Part><PartNumber>2</PartNumber><LastModified>2012-02-23T07:01:12.000Z</LastModified><ETag>"3349DC700140D7F86A0784842780****"</ETag><Size>6291456</Size></Part></ListPartsResult>"#,
        )
        .unwrap();
        assert!(doc.truncated);
        assert_eq!(doc.next_marker, Some(2));
        assert_eq!(doc.parts.len(), 2);
        assert_eq!(doc.parts[1].size, 6291456);
    }
}
