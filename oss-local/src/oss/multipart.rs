//! OSS multipart calls. Parts and uploads live in the shared disk; OSS's own shapes are the
//! upper-case hex part ETags, `HashCrc64ecma` in ListParts and the 100 KB part minimum.

use super::MAX_LIST;
use crate::disk::{self, CompleteError};
use crate::error::ApiError;
use crate::http::{Parsed, check_md5, etag_header};
use crate::store::Store;
use crate::xml;
use actix_web::HttpResponse;

pub(super) async fn initiate(p: &Parsed, store: &Store) -> Result<HttpResponse, ApiError> {
    let ct = p
        .header("content-type")
        .unwrap_or("application/octet-stream");
    let u = store
        .disk
        .initiate(&p.bucket, &p.key, ct, Vec::new())
        .await
        .map_err(ApiError::internal)?;
    Ok(xml::document(
        "InitiateMultipartUploadResult",
        &xml::elements(&[
            ("Bucket", &p.bucket),
            ("Key", &u.key),
            ("UploadId", &u.upload_id),
        ]),
    ))
}

pub(super) async fn upload_of(p: &Parsed, store: &Store) -> Result<disk::UploadMeta, ApiError> {
    let id = p.param("uploadId").unwrap_or("");
    store
        .disk
        .upload(&p.bucket, &p.key, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
                .with("UploadId", id.to_string())
        })
}

pub(super) async fn upload_part(
    p: &Parsed,
    body: &[u8],
    store: &Store,
) -> Result<HttpResponse, ApiError> {
    let number: u32 = p
        .param("partNumber")
        .and_then(|s| s.parse().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
        })?;
    let u = upload_of(p, store).await?;
    check_md5(p, body)?;
    let part = store
        .disk
        .put_part(&p.bucket, &u.upload_id, number, body)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag_header(&part.etag))
        .insert_header(("x-oss-hash-crc64ecma", part.crc64.to_string()))
        .finish())
}

pub(super) async fn list_parts(p: &Parsed, store: &Store) -> Result<HttpResponse, ApiError> {
    let u = upload_of(p, store).await?;
    let marker: u32 = p
        .param("part-number-marker")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let max: usize = p
        .param("max-parts")
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_LIST)
        .clamp(1, MAX_LIST);
    let parts: Vec<_> = store
        .disk
        .parts(&p.bucket, &u.upload_id)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|x| x.number > marker)
        .collect();
    let truncated = parts.len() > max;
    let page = &parts[..parts.len().min(max)];
    let next = page.last().map(|x| x.number).unwrap_or(marker);
    let mut inner = xml::elements(&[
        ("Bucket", &p.bucket),
        ("Key", &u.key),
        ("UploadId", &u.upload_id),
        ("PartNumberMarker", &marker.to_string()),
        ("NextPartNumberMarker", &next.to_string()),
        ("MaxParts", &max.to_string()),
        ("IsTruncated", if truncated { "true" } else { "false" }),
    ]);
    for x in page {
        inner.push_str("<Part>");
        inner.push_str(&xml::elements(&[
            ("PartNumber", &x.number.to_string()),
            ("LastModified", &xml::iso(x.last_modified)),
            ("ETag", &format!("\"{}\"", x.etag)),
            ("HashCrc64ecma", &x.crc64.to_string()),
            ("Size", &x.size.to_string()),
        ]));
        inner.push_str("</Part>");
    }
    Ok(xml::document("ListPartsResult", &inner))
}

pub(super) async fn complete(
    p: &Parsed,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, ApiError> {
    let spec = super::object::callback_of(p)?;
    let u = upload_of(p, store).await?;
    let listed = xml::complete_parts(body).map_err(|m| ApiError::new(400, "MalformedXML", m))?;
    let (meta, _) = store.disk.complete(&p.bucket, &u, &listed, super::MIN_PART_SIZE).await.map_err(|e| match e {
        CompleteError::NoSuchUpload => ApiError::new(404, "NoSuchUpload", "The specified upload does not exist."),
        CompleteError::InvalidPart(n) => ApiError::new(400, "InvalidPart", "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.")
            .with("PartNumber", n.to_string()),
        CompleteError::InvalidPartOrder => ApiError::new(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts list must be specified in order by part number."),
        CompleteError::EntityTooSmall(n) => ApiError::new(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
            .with("PartNumber", n.to_string()),
        CompleteError::Io(e) => ApiError::internal(e),
    })?;
    let location = format!("{}/{}/{}", store.base_url.lock().unwrap(), p.bucket, p.key);
    let ok = xml::document(
        "CompleteMultipartUploadResult",
        &xml::elements(&[
            ("Location", &location),
            ("Bucket", &p.bucket),
            ("Key", &meta.key),
            ("ETag", &format!("\"{}\"", meta.etag)),
        ]),
    );
    let mut resp = super::object::finish_upload(store, p, spec, &meta, rid, ok).await;
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&meta.crc64.to_string()) {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-oss-hash-crc64ecma"),
            v,
        );
    }
    Ok(resp)
}

pub(super) async fn list_uploads(p: &Parsed, store: &Store) -> Result<HttpResponse, ApiError> {
    let prefix = p.param("prefix").unwrap_or("");
    let key_marker = p.param("key-marker").unwrap_or("");
    let id_marker = p.param("upload-id-marker").unwrap_or("");
    let max: usize = p
        .param("max-uploads")
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_LIST)
        .clamp(1, MAX_LIST);
    let all: Vec<_> = store
        .disk
        .uploads_in(&p.bucket)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|u| u.key.starts_with(prefix))
        .filter(|u| match (key_marker, id_marker) {
            ("", _) => true,
            (k, "") => u.key.as_str() > k,
            (k, i) => (u.key.as_str(), u.upload_id.as_str()) > (k, i),
        })
        .collect();
    let truncated = all.len() > max;
    let page = &all[..all.len().min(max)];
    let (nk, nu) = page
        .last()
        .map(|u| (u.key.as_str(), u.upload_id.as_str()))
        .unwrap_or(("", ""));
    let mut inner = xml::elements(&[
        ("Bucket", &p.bucket),
        ("KeyMarker", key_marker),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", nk),
        ("NextUploadIdMarker", nu),
        ("Delimiter", ""),
        ("Prefix", prefix),
        ("MaxUploads", &max.to_string()),
        ("IsTruncated", if truncated { "true" } else { "false" }),
    ]);
    for u in page {
        inner.push_str("<Upload>");
        inner.push_str(&xml::elements(&[
            ("Key", &u.key),
            ("UploadId", &u.upload_id),
            ("Initiated", &xml::iso(u.initiated)),
        ]));
        inner.push_str("</Upload>");
    }
    Ok(xml::document("ListMultipartUploadsResult", &inner))
}
