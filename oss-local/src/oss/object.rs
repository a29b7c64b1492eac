//! OSS object calls: PutObject (with the upload callback), AppendObject, Get/HeadObject.

use crate::disk::{self, ObjectMeta};
use crate::error::ApiError;
use crate::http::{Parsed, check_md5, etag_header};
use crate::store::Store;
use crate::{callback, xml};
use actix_web::HttpResponse;
use time::OffsetDateTime;

/// The callback the request carries (query parameter or header), decoded.
pub(super) fn callback_of(p: &Parsed) -> Result<Option<callback::Spec>, ApiError> {
    let cb = p.param("callback").or_else(|| p.header("x-oss-callback"));
    let vars = p
        .param("callback-var")
        .or_else(|| p.header("x-oss-callback-var"));
    cb.map(|c| callback::parse(c, vars).map_err(|m| ApiError::new(400, "InvalidArgument", m)))
        .transpose()
}

/// Runs the callback after a stored upload; its JSON answer goes to the uploader, a failure
/// is a 203 with the object kept.
pub(super) async fn finish_upload(
    store: &Store,
    p: &Parsed,
    spec: Option<callback::Spec>,
    meta: &ObjectMeta,
    rid: &str,
    ok: HttpResponse,
) -> HttpResponse {
    let Some(spec) = spec else { return ok };
    let body = callback::fill(&spec, &p.bucket, meta, "127.0.0.1", rid);
    match callback::send(&store.http, &store.signer, &store.key_url(), &spec, body).await {
        callback::Outcome::Answered(json) => {
            store.stats.bump("CallbackSucceeded");
            HttpResponse::Ok()
                .insert_header(("content-type", "application/json"))
                .insert_header(etag_header(&meta.etag))
                .body(json)
        }
        callback::Outcome::Failed(why) => {
            store.stats.bump("CallbackFailed");
            tracing::warn!(why, "callback failed");
            let mut r = ApiError::new(203, "CallbackFailed", format!("Error status : -1. {why}"))
                .oss_response(rid);
            if let Ok(v) =
                actix_web::http::header::HeaderValue::from_str(&format!("\"{}\"", meta.etag))
            {
                r.headers_mut().insert(actix_web::http::header::ETAG, v);
            }
            r
        }
    }
}

pub(super) async fn put_object(
    p: &Parsed,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, ApiError> {
    let spec = callback_of(p)?;
    let content_md5 = check_md5(p, body)?;
    let meta = ObjectMeta {
        key: p.key.clone(),
        size: body.len() as u64,
        etag: disk::md5_etag(body).0,
        content_type: p
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string(),
        crc64: disk::CRC64.checksum(body),
        content_md5,
        appendable: false,
        user_meta: Vec::new(),
        last_modified: OffsetDateTime::now_utc(),
    };
    store
        .disk
        .put(&p.bucket, &meta, body)
        .await
        .map_err(ApiError::internal)?;
    let ok = HttpResponse::Ok()
        .insert_header(etag_header(&meta.etag))
        .insert_header(("x-oss-hash-crc64ecma", meta.crc64.to_string()))
        .finish();
    Ok(finish_upload(store, p, spec, &meta, rid, ok).await)
}

pub(super) async fn append_object(
    p: &Parsed,
    body: &[u8],
    store: &Store,
) -> Result<HttpResponse, ApiError> {
    let position: u64 = p
        .param("position")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::new(400, "InvalidArgument", "position is required"))?;
    let existing = store
        .disk
        .get(&p.bucket, &p.key)
        .await
        .map_err(ApiError::internal)?;
    let (mut data, content_type) = match existing {
        Some((m, _)) if !m.appendable => {
            return Err(ApiError::new(
                409,
                "ObjectNotAppendable",
                "The object is not appendable.",
            ));
        }
        Some((m, d)) => (d, m.content_type),
        None => (
            Vec::new(),
            p.header("content-type")
                .unwrap_or("application/octet-stream")
                .to_string(),
        ),
    };
    if position != data.len() as u64 {
        return Err(ApiError::new(
            409,
            "PositionNotEqualToLength",
            "Position is not equal to file length.",
        )
        .with_header("x-oss-next-append-position", data.len().to_string()));
    }
    check_md5(p, body)?;
    data.extend_from_slice(body);
    let meta = ObjectMeta {
        key: p.key.clone(),
        size: data.len() as u64,
        etag: disk::md5_etag(&data).0,
        content_type,
        crc64: disk::CRC64.checksum(&data),
        content_md5: None,
        appendable: true,
        user_meta: Vec::new(),
        last_modified: OffsetDateTime::now_utc(),
    };
    store
        .disk
        .put(&p.bucket, &meta, &data)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag_header(&meta.etag))
        .insert_header(("x-oss-next-append-position", meta.size.to_string()))
        .insert_header(("x-oss-hash-crc64ecma", meta.crc64.to_string()))
        .finish())
}

pub(super) async fn get_object(p: &Parsed, store: &Store) -> Result<HttpResponse, ApiError> {
    let Some((meta, data)) = store
        .disk
        .get(&p.bucket, &p.key)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(
            ApiError::new(404, "NoSuchKey", "The specified key does not exist.")
                .with("Key", p.key.clone()),
        );
    };
    let (mut resp, data) = match p.header("range").filter(|_| p.method == "GET") {
        Some(range) => ranged(range, data)?,
        None => (HttpResponse::Ok(), data),
    };
    if let Some(d) = p.param("response-content-disposition") {
        resp.insert_header(("content-disposition", d.to_string()));
    }
    Ok(resp
        .insert_header(("content-type", meta.content_type.clone()))
        .insert_header(etag_header(&meta.etag))
        .insert_header(("x-oss-hash-crc64ecma", meta.crc64.to_string()))
        .insert_header((
            "x-oss-object-type",
            if meta.appendable {
                "Appendable"
            } else if meta.etag.contains('-') {
                "Multipart"
            } else {
                "Normal"
            },
        ))
        .insert_header(("last-modified", xml::http_date(meta.last_modified)))
        .body(data))
}

/// A single `bytes=a-b` (or `a-`) range, as OSS serves it: 206 with the slice, 416 when it
/// starts past the end; other range forms are ignored (the whole object, 200).
fn ranged(
    range: &str,
    data: Vec<u8>,
) -> Result<(actix_web::HttpResponseBuilder, Vec<u8>), ApiError> {
    let len = data.len() as u64;
    let parsed = range.strip_prefix("bytes=").and_then(|r| {
        let (a, b) = r.split_once('-')?;
        let a: u64 = a.parse().ok()?;
        let b: u64 = if b.is_empty() {
            u64::MAX
        } else {
            b.parse().ok()?
        };
        (a <= b).then_some((a, b))
    });
    let Some((a, b)) = parsed else {
        return Ok((HttpResponse::Ok(), data));
    };
    if a >= len {
        return Err(ApiError::new(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
        ));
    }
    let end = b.min(len - 1);
    let mut resp = HttpResponse::PartialContent();
    resp.insert_header(("content-range", format!("bytes {a}-{end}/{len}")));
    Ok((resp, data[a as usize..=end as usize].to_vec()))
}
