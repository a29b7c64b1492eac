//! OSS's XML answers: errors in its `<Error>` shape and the few result documents the store
//! returns.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use quick_xml::escape::escape;
use time::OffsetDateTime;

pub const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// One OSS error answer; `extra` adds elements after `Message` (e.g. `StringToSign`).
pub struct OssError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub extra: Vec<(&'static str, String)>,
}

impl OssError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> OssError {
        OssError {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> OssError {
        self.extra.push((name, value.into()));
        self
    }

    pub fn response(&self, request_id: &str) -> HttpResponse {
        let mut body = format!(
            "{DECL}\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{request_id}</RequestId>\n  <HostId>oss-local</HostId>\n",
            self.code,
            escape(&self.message)
        );
        for (k, v) in &self.extra {
            body.push_str(&format!("  <{k}>{}</{k}>\n", escape(v)));
        }
        body.push_str("</Error>\n");
        HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST))
            .insert_header(("content-type", "application/xml"))
            .body(body)
    }
}

/// `2024-01-02T03:04:05.000Z`, as OSS writes times in XML.
pub fn iso(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `Mon, 23 Nov 2026 11:12:18 GMT`, the HTTP date format SDKs parse.
pub fn http_date(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

/// `<Name>escaped</Name>` for each pair.
pub fn elements(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("<{k}>{}</{k}>", escape(*v)))
        .collect()
}

pub fn document(root: &str, inner: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("content-type", "application/xml"))
        .body(format!("{DECL}\n<{root}>{inner}</{root}>\n"))
}

/// The `<Part>` list of a CompleteMultipartUpload body: `(number, etag)` in document order.
pub fn complete_parts(body: &[u8]) -> Result<Vec<(u32, String)>, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(rename = "Part", default)]
        parts: Vec<Part>,
    }
    #[derive(serde::Deserialize)]
    struct Part {
        #[serde(rename = "PartNumber")]
        number: u32,
        #[serde(rename = "ETag")]
        etag: String,
    }
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let doc: Doc = quick_xml::de::from_str(text).map_err(|e| format!("malformed XML: {e}"))?;
    Ok(doc.parts.into_iter().map(|p| (p.number, p.etag)).collect())
}
