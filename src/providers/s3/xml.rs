//! The XML of S3's multipart answers, parsed into plain values. Pure, so the upstream client
//! (wired later) only moves bytes; every answer body is read whole before it is trusted.

use serde::Deserialize;

/// One part of a CompleteMultipartUpload, as UploadPart / ListParts reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u32,
    pub etag: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("the answer is not XML of the expected shape: {0}")]
    Unreadable(String),
    /// S3 said no, possibly inside a 200 (CompleteMultipartUpload).
    #[error("S3 error {code}")]
    S3 { code: String },
}

#[derive(Deserialize)]
struct ErrorDoc {
    #[serde(rename = "Code")]
    code: String,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, XmlError> {
    let text = std::str::from_utf8(body).map_err(|_| XmlError::Unreadable("not UTF-8".into()))?;
    if let Some(code) = error_code(text) {
        return Err(XmlError::S3 { code });
    }
    quick_xml::de::from_str(text).map_err(|e| XmlError::Unreadable(e.to_string()))
}

/// The `<Code>` of an `<Error>` document, if that is what `text` is.
pub fn error_code(text: &str) -> Option<String> {
    let start = text.trim_start();
    let start = start
        .strip_prefix("<?xml")
        .and_then(|s| s.split_once("?>"))
        .map_or(start, |(_, rest)| rest.trim_start());
    if !start.starts_with("<Error>") && !start.starts_with("<Error ") {
        return None;
    }
    quick_xml::de::from_str::<ErrorDoc>(text)
        .ok()
        .map(|e| e.code)
        .or_else(|| Some("Unreadable".into()))
}

fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

/// The CompleteMultipartUpload body.
pub fn complete_body(parts: &[CompletedPart]) -> String {
    let mut s = String::from("<CompleteMultipartUpload>");
    for p in parts {
        s.push_str("<Part><PartNumber>");
        s.push_str(&p.part_number.to_string());
        s.push_str("</PartNumber><ETag>\"");
        s.push_str(&quick_xml::escape::escape(unquote(&p.etag).as_str()));
        s.push_str("\"</ETag></Part>");
    }
    s.push_str("</CompleteMultipartUpload>");
    s
}

#[derive(Deserialize)]
struct InitiateDoc {
    #[serde(rename = "UploadId")]
    upload_id: String,
}

pub fn parse_initiate(body: &[u8]) -> Result<String, XmlError> {
    parse::<InitiateDoc>(body).map(|d| d.upload_id)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub etag: String,
}

#[derive(Deserialize)]
struct CompleteDoc {
    #[serde(rename = "ETag")]
    etag: String,
}

/// A CompleteMultipartUpload answer, 200 or not: an `<Error>` body is an error.
pub fn parse_complete(body: &[u8]) -> Result<Completed, XmlError> {
    parse::<CompleteDoc>(body).map(|d| Completed {
        etag: unquote(&d.etag),
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPart {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartsPage {
    pub parts: Vec<ListedPart>,
    /// Set when more parts follow: pass it as the next `part_number_marker`.
    pub next_part_number_marker: Option<u32>,
}

#[derive(Deserialize)]
struct ListPartsDoc {
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
    #[serde(rename = "NextPartNumberMarker", default)]
    next_marker: Option<u32>,
    #[serde(rename = "Part", default)]
    parts: Vec<PartDoc>,
}

#[derive(Deserialize)]
struct PartDoc {
    #[serde(rename = "PartNumber")]
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
    #[serde(rename = "Size")]
    size: u64,
}

pub fn parse_list_parts(body: &[u8]) -> Result<PartsPage, XmlError> {
    let d: ListPartsDoc = parse(body)?;
    let next = match (d.is_truncated, d.next_marker) {
        (true, Some(m)) => Some(m),
        (true, None) => return Err(XmlError::Unreadable("truncated without a marker".into())),
        (false, _) => None,
    };
    Ok(PartsPage {
        parts: d
            .parts
            .into_iter()
            .map(|p| ListedPart {
                part_number: p.part_number,
                etag: unquote(&p.etag),
                size: p.size,
            })
            .collect(),
        next_part_number_marker: next,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProgress {
    pub key: String,
    pub upload_id: String,
    /// As S3 wrote it (RFC 3339).
    pub initiated: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadsPage {
    pub uploads: Vec<InProgress>,
    /// Set when more follow: the (key, upload id) marker of the next page.
    pub next_marker: Option<(String, String)>,
}

#[derive(Deserialize)]
struct UploadsDoc {
    #[serde(rename = "IsTruncated", default)]
    is_truncated: bool,
    #[serde(rename = "NextKeyMarker", default)]
    next_key: Option<String>,
    #[serde(rename = "NextUploadIdMarker", default)]
    next_upload_id: Option<String>,
    #[serde(rename = "Upload", default)]
    uploads: Vec<UploadDoc>,
}

#[derive(Deserialize)]
struct UploadDoc {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "UploadId")]
    upload_id: String,
    #[serde(rename = "Initiated", default)]
    initiated: String,
}

pub fn parse_list_uploads(body: &[u8]) -> Result<UploadsPage, XmlError> {
    let d: UploadsDoc = parse(body)?;
    let next = match (d.is_truncated, d.next_key, d.next_upload_id) {
        (false, ..) => None,
        (true, Some(k), Some(u)) => Some((k, u)),
        (true, ..) => return Err(XmlError::Unreadable("truncated without markers".into())),
    };
    Ok(UploadsPage {
        uploads: d
            .uploads
            .into_iter()
            .map(|u| InProgress {
                key: u.key,
                upload_id: u.upload_id,
                initiated: u.initiated,
            })
            .collect(),
        next_marker: next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_200_with_an_error_body_is_an_error() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>x</Message></Error>";
        assert_eq!(
            parse_complete(body),
            Err(XmlError::S3 {
                code: "InternalError".into()
            })
        );
        let ok = b"<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>\"abc-2\"</ETag></CompleteMultipartUploadResult>";
        assert_eq!(parse_complete(ok).unwrap().etag, "abc-2");
    }

    #[test]
    fn list_pages_carry_their_markers() {
        let body = b"<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker><Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag><Size>5</Size></Part><Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag><Size>6</Size></Part></ListPartsResult>";
        let page = parse_list_parts(body).unwrap();
        assert_eq!(page.next_part_number_marker, Some(2));
        assert_eq!(page.parts[1].etag, "e2");
        let body = b"<ListMultipartUploadsResult><IsTruncated>false</IsTruncated><Upload><Key>a/b</Key><UploadId>u1</UploadId><Initiated>2023-11-14T22:13:20Z</Initiated></Upload></ListMultipartUploadsResult>";
        let page = parse_list_uploads(body).unwrap();
        assert_eq!(page.uploads[0].upload_id, "u1");
        assert_eq!(page.next_marker, None);
        assert!(parse_list_uploads(b"<ListMultipartUploadsResult><IsTruncated>true</IsTruncated></ListMultipartUploadsResult>").is_err());
    }

    #[test]
    fn complete_bodies_quote_and_escape_etags() {
        let body = complete_body(&[CompletedPart {
            part_number: 1,
            etag: "\"a&b\"".into(),
        }]);
        assert_eq!(
            body,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a&amp;b\"</ETag></Part></CompleteMultipartUpload>"
        );
    }
}
