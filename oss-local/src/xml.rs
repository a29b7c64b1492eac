//! The XML both dialects answer with: result documents, times, and the CompleteMultipartUpload
//! body they read (OSS and COS share the S3 shapes).

use actix_web::HttpResponse;
use quick_xml::escape::escape;
use time::OffsetDateTime;

pub const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

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
