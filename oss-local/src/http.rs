//! HTTP plumbing both dialects share: the request as handlers and signatures see it, CORS
//! preflight, header helpers and the Content-MD5 check.

use crate::disk;
use crate::error::ApiError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

fn decode(s: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            ApiError::new(
                400,
                "InvalidArgument",
                "the URL is not valid UTF-8 once decoded",
            )
        })
}

/// The request as the signature sees it, plus what the handlers need.
#[derive(Clone)]
pub struct Parsed {
    pub method: String,
    pub bucket: String,
    pub key: String,
    /// Decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// Names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl Parsed {
    /// Path-style addressing: `/<bucket>/<key>` (OSS).
    pub fn path_style(req: &HttpRequest) -> Result<Parsed, ApiError> {
        let path = req.uri().path();
        let rest = path.strip_prefix('/').unwrap_or(path);
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Parsed::with_bucket(req, &decode(bucket)?, key)
    }

    /// Virtual-host addressing: the bucket comes from the Host, the path is `/<key>` (COS).
    pub fn virtual_host(req: &HttpRequest, bucket: &str) -> Result<Parsed, ApiError> {
        let path = req.uri().path();
        Parsed::with_bucket(req, bucket, path.strip_prefix('/').unwrap_or(path))
    }

    fn with_bucket(req: &HttpRequest, bucket: &str, raw_key: &str) -> Result<Parsed, ApiError> {
        let mut query = Vec::new();
        for pair in req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.push((decode(k)?, decode(v)?));
        }
        let headers = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        Ok(Parsed {
            method: req.method().as_str().to_string(),
            bucket: bucket.to_string(),
            key: decode(raw_key)?,
            query,
            headers,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.param(name).is_some()
    }
}

pub fn preflight(req: &HttpRequest) -> HttpResponse {
    let asked = req
        .headers()
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*")
        .to_string();
    HttpResponse::Ok()
        .insert_header((
            "access-control-allow-methods",
            "GET, PUT, POST, DELETE, HEAD",
        ))
        .insert_header(("access-control-allow-headers", asked))
        .insert_header(("access-control-max-age", "600"))
        .finish()
}

pub fn etag_header(etag: &str) -> (&'static str, String) {
    ("etag", format!("\"{etag}\""))
}

pub fn check_md5(p: &Parsed, data: &[u8]) -> Result<Option<String>, ApiError> {
    use base64::Engine;
    let Some(given) = p.header("content-md5") else {
        return Ok(None);
    };
    let actual = base64::engine::general_purpose::STANDARD.encode(disk::md5_etag(data).1);
    if given != actual {
        return Err(ApiError::new(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        ));
    }
    Ok(Some(actual))
}

/// Sets a header, skipping a value that is not a valid header value.
pub fn set_header(resp: &mut HttpResponse, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// The MIME type sent, or the default one.
pub fn content_type(p: &Parsed) -> String {
    p.header("content-type")
        .unwrap_or("application/octet-stream")
        .to_string()
}

pub fn is_form(p: &Parsed) -> bool {
    p.header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"))
}
