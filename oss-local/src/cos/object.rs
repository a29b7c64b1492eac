//! COS object calls: PutObject, AppendObject (`x-cos-next-append-position`, 409
//! `AppendPositionErr` / `ObjectNotAppendable`), Get/HeadObject with COS's headers.

use super::{CosState, etag, user_meta};
use crate::disk::{self, ObjectMeta};
use crate::error::ApiError;
use crate::http::{Parsed, check_md5, content_type, set_header};
use crate::xml;
use actix_web::HttpResponse;
use sha1::{Digest, Sha1};
use time::OffsetDateTime;

pub(super) fn object_meta(key: &str, data: &[u8], content_type: String) -> ObjectMeta {
    ObjectMeta {
        key: key.to_string(),
        size: data.len() as u64,
        etag: disk::md5_etag(data).0,
        content_type,
        crc64: disk::CRC64.checksum(data),
        content_md5: None,
        appendable: false,
        user_meta: Vec::new(),
        last_modified: OffsetDateTime::now_utc(),
    }
}

pub(super) fn stored(meta: &ObjectMeta) -> HttpResponse {
    let mut r = HttpResponse::Ok().finish();
    set_header(&mut r, "etag", &etag(&meta.etag));
    set_header(&mut r, "x-cos-hash-crc64ecma", &meta.crc64.to_string());
    r
}

pub(super) async fn put_object(
    p: &Parsed,
    body: &[u8],
    state: &CosState,
) -> Result<HttpResponse, ApiError> {
    let content_md5 = check_md5(p, body)?;
    let meta = ObjectMeta {
        content_md5,
        user_meta: user_meta(p),
        ..object_meta(&p.key, body, content_type(p))
    };
    state
        .store
        .disk
        .put(&p.bucket, &meta, body)
        .await
        .map_err(ApiError::internal)?;
    Ok(stored(&meta))
}

pub(super) async fn append_object(
    p: &Parsed,
    body: &[u8],
    state: &CosState,
) -> Result<HttpResponse, ApiError> {
    if p.header("content-length").is_none() {
        return Err(ApiError::new(
            411,
            "MissingContentLength",
            "You must provide the Content-Length HTTP header.",
        ));
    }
    let position: u64 = p
        .param("position")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::new(400, "InvalidArgument", "position is required"))?;
    let disk = &state.store.disk;
    let existing = disk
        .get(&p.bucket, &p.key)
        .await
        .map_err(ApiError::internal)?;
    let (mut data, base) = match existing {
        Some((m, _)) if !m.appendable => {
            return Err(ApiError::new(
                409,
                "ObjectNotAppendable",
                "This object is not appendable.",
            ));
        }
        Some((m, d)) => (d, m),
        None => (
            Vec::new(),
            ObjectMeta {
                user_meta: user_meta(p),
                ..object_meta(&p.key, &[], content_type(p))
            },
        ),
    };
    if position != data.len() as u64 {
        return Err(ApiError::new(
            409,
            "AppendPositionErr",
            "The position is not equal to the length of the object.",
        )
        .with_header("x-cos-next-append-position", data.len().to_string()));
    }
    check_md5(p, body)?;
    data.extend_from_slice(body);
    let meta = ObjectMeta {
        appendable: true,
        user_meta: base.user_meta,
        ..object_meta(&p.key, &data, base.content_type)
    };
    disk.put(&p.bucket, &meta, &data)
        .await
        .map_err(ApiError::internal)?;
    let mut r = stored(&meta);
    set_header(&mut r, "x-cos-next-append-position", &meta.size.to_string());
    set_header(
        &mut r,
        "x-cos-content-sha1",
        &hex::encode(Sha1::digest(body)),
    );
    Ok(r)
}

pub(super) async fn get_object(p: &Parsed, state: &CosState) -> Result<HttpResponse, ApiError> {
    let Some((meta, data)) = state
        .store
        .disk
        .get(&p.bucket, &p.key)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::new(
            404,
            "NoSuchKey",
            "The specified key does not exist.",
        ));
    };
    let mut r = HttpResponse::Ok()
        .insert_header(("content-type", meta.content_type.clone()))
        .insert_header(("last-modified", xml::http_date(meta.last_modified)))
        .body(data);
    set_header(&mut r, "etag", &etag(&meta.etag));
    set_header(&mut r, "x-cos-hash-crc64ecma", &meta.crc64.to_string());
    set_header(
        &mut r,
        "x-cos-object-type",
        if meta.appendable {
            "appendable"
        } else {
            "normal"
        },
    );
    set_header(&mut r, "x-cos-storage-class", "STANDARD");
    for (k, v) in &meta.user_meta {
        if let (Ok(n), Ok(v)) = (
            actix_web::http::header::HeaderName::from_bytes(k.as_bytes()),
            actix_web::http::header::HeaderValue::from_str(v),
        ) {
            r.headers_mut().insert(n, v);
        }
    }
    Ok(r)
}
