//! S3 multipart uploads with the gateway's own key: initiate, list parts (followed to the
//! end), complete (the whole answer read: a 200 may carry an `<Error>`), abort, and the
//! in-progress uploads under a prefix (the sweeper's ListMultipartUploads).

use super::client::{protocol, unsignable};
use super::provider::{BINDING_HEADER, S3Provider};
use super::xml::{self, CompletedPart, XmlError};
use crate::domain::part_plan::MAX_PARTS;
use crate::providers::multipart_xml::ListPartsDoc;
use crate::providers::{
    CallbackRequest, Completed, InProgress, InProgressPage, MultipartApi, PartInfo, PartLimits,
    UpstreamError,
};
use futures_util::future::BoxFuture;
use time::OffsetDateTime;

/// S3: every part but the last at least 5 MiB, none over 5 GiB, at most 10,000.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Bound on the ListParts pages one call follows (1,000 parts a page).
const MAX_PAGES: usize = 11;

fn xml_error(op: &str, e: XmlError) -> UpstreamError {
    match e {
        XmlError::S3 { code } => super::client::classify(200, code),
        XmlError::Unreadable(m) => protocol(op, format!("unreadable answer: {m}")),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl MultipartApi for S3Provider {
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
        binding: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, UpstreamError>> {
        Box::pin(async move {
            let op = "CreateMultipartUpload";
            let mut headers = vec![("Content-Type", content_type)];
            if let Some(b) = binding {
                headers.push((BINDING_HEADER, b));
            }
            let signed = self
                .signer
                .initiate_multipart(&self.location, key, &headers, now())
                .map_err(|e| unsignable(op, e))?;
            let a = self.call(op, signed).await?;
            xml::parse_initiate(&a.body).map_err(|e| xml_error(op, e))
        })
    }

    fn list_parts<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartInfo>, UpstreamError>> {
        Box::pin(async move {
            let op = "ListParts";
            let mut out = Vec::new();
            let mut marker: Option<u32> = None;
            for _ in 0..MAX_PAGES {
                let signed = self
                    .signer
                    .list_parts(&self.location, key, upload_id, marker, now())
                    .map_err(|e| unsignable(op, e))?;
                let a = self.call(op, signed).await?;
                let text = std::str::from_utf8(&a.body).map_err(|_| protocol(op, "not UTF-8"))?;
                let doc: ListPartsDoc = quick_xml::de::from_str(text.trim())
                    .map_err(|e| protocol(op, format!("unreadable answer: {e}")))?;
                out.extend(doc.parts.into_iter().map(|p| PartInfo {
                    part_number: p.number,
                    etag: p.etag.trim().trim_matches('"').to_string(),
                    size: p.size,
                    last_modified: p.last_modified,
                }));
                match (doc.truncated, doc.next_marker) {
                    (true, Some(next)) if Some(next) > marker => marker = Some(next),
                    (true, _) => return Err(protocol(op, "truncated without a usable marker")),
                    (false, _) => return Ok(out),
                }
            }
            Err(protocol(op, "more pages than 10,000 parts fill"))
        })
    }

    /// S3 relays no callback; the record is settled by asking storage.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [(u32, String)],
        _callback: Option<&'a CallbackRequest>,
    ) -> BoxFuture<'a, Result<Completed, UpstreamError>> {
        Box::pin(async move {
            let op = "CompleteMultipartUpload";
            let parts: Vec<CompletedPart> = parts
                .iter()
                .map(|(n, etag)| CompletedPart {
                    part_number: *n,
                    etag: etag.clone(),
                })
                .collect();
            let signed = self
                .signer
                .complete_multipart(&self.location, key, upload_id, &parts, now())
                .map_err(|e| unsignable(op, e))?;
            let a = self.call(op, signed).await?;
            // `call` refused an `<Error>` at the start of the body; this refuses anything else
            // that is not the result (an error after whitespace, a cut-off answer).
            let text = std::str::from_utf8(&a.body).map_err(|_| protocol(op, "not UTF-8"))?;
            xml::parse_complete(text.trim().as_bytes()).map_err(|e| xml_error(op, e))?;
            Ok(Completed::default())
        })
    }

    fn abort<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let op = "AbortMultipartUpload";
            let signed = self
                .signer
                .abort_multipart(&self.location, key, upload_id, now())
                .map_err(|e| unsignable(op, e))?;
            self.call(op, signed).await.map(|_| ())
        })
    }

    fn list_uploads<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<(&'a str, &'a str)>,
    ) -> BoxFuture<'a, Result<InProgressPage, UpstreamError>> {
        Box::pin(async move {
            let op = "ListMultipartUploads";
            let signed = self
                .signer
                .list_multipart_uploads(&self.location, prefix, after, now())
                .map_err(|e| unsignable(op, e))?;
            let a = self.call(op, signed).await?;
            let page = xml::parse_list_uploads(&a.body).map_err(|e| xml_error(op, e))?;
            Ok(InProgressPage {
                uploads: page
                    .uploads
                    .into_iter()
                    .map(|u| InProgress {
                        key: u.key,
                        storage_upload_id: u.upload_id,
                        initiated: OffsetDateTime::parse(
                            &u.initiated,
                            &time::format_description::well_known::Rfc3339,
                        )
                        .ok(),
                    })
                    .collect(),
                next: page.next_marker,
            })
        })
    }
}
