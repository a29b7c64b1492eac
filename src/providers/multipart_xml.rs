//! The multipart answers OSS and COS share (both speak S3's XML for these calls): parsed
//! once here, so an adapter only knows its own differences.

use super::types::{InProgress, InProgressPage};
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Deserialize)]
pub(crate) struct InitiateDoc {
    #[serde(rename = "UploadId")]
    pub(crate) upload_id: String,
}

#[derive(Deserialize)]
pub(crate) struct ListPartsDoc {
    #[serde(rename = "IsTruncated", default)]
    pub(crate) truncated: bool,
    #[serde(rename = "NextPartNumberMarker", default)]
    pub(crate) next_marker: Option<u32>,
    #[serde(rename = "Part", default)]
    pub(crate) parts: Vec<PartDoc>,
}

#[derive(Deserialize)]
pub(crate) struct PartDoc {
    #[serde(rename = "PartNumber")]
    pub(crate) number: u32,
    #[serde(rename = "ETag")]
    pub(crate) etag: String,
    #[serde(rename = "Size")]
    pub(crate) size: u64,
    #[serde(rename = "LastModified", default)]
    pub(crate) last_modified: String,
}

#[derive(Deserialize)]
pub(crate) struct ListUploadsDoc {
    #[serde(rename = "IsTruncated", default)]
    pub(crate) truncated: bool,
    #[serde(rename = "NextKeyMarker", default)]
    pub(crate) next_key: String,
    #[serde(rename = "NextUploadIdMarker", default)]
    pub(crate) next_id: String,
    #[serde(rename = "Upload", default)]
    pub(crate) uploads: Vec<UploadDoc>,
}

#[derive(Deserialize)]
pub(crate) struct UploadDoc {
    #[serde(rename = "Key")]
    pub(crate) key: String,
    #[serde(rename = "UploadId", alias = "UploadID")]
    pub(crate) upload_id: String,
    #[serde(rename = "Initiated", default)]
    pub(crate) initiated: String,
}

impl ListUploadsDoc {
    /// The page in provider-neutral terms (an unreadable `Initiated` is unknown, not an error:
    /// the sweeper then judges the upload by its record alone).
    pub(crate) fn into_page(self) -> InProgressPage {
        let uploads = self
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
            .collect();
        InProgressPage {
            uploads,
            next: self.truncated.then_some((self.next_key, self.next_id)),
        }
    }
}

/// An ETag as storage lists it, without its quotes.
pub(crate) fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

/// The CompleteMultipartUpload request body (ETags quoted and escaped whatever the caller
/// passed).
pub(crate) fn complete_body(parts: &[(u32, String)]) -> String {
    let mut s = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        s.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>\"{}\"</ETag></Part>",
            quick_xml::escape::escape(unquote(etag).as_str())
        ));
    }
    s.push_str("</CompleteMultipartUpload>");
    s
}
