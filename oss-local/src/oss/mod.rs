//! The OSS dialect: path-style addressing, OSS V1/V4 signatures, `x-oss-*` headers, OSS's
//! error XML and limits, and the AssumeRole stand-in. Storage, forms and callbacks are the
//! shared core's.

mod auth;
pub mod error;
mod multipart;
mod object;
pub mod post;
pub mod sign;
mod sign_v1;
mod sign_v4;
mod signed_request;
pub mod sts;

use crate::error::ApiError;
use crate::http::{Parsed, is_form, preflight};
use crate::store::Store;
use crate::{KEY_PATH, STS_PATH};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};

/// Every part but the last must be at least this large (OSS: 100 KB).
pub const MIN_PART_SIZE: u64 = 100 * 1024;
pub(crate) const MAX_LIST: usize = 1000;

fn cors(mut resp: HttpResponse, request_id: &str) -> HttpResponse {
    let h = resp.headers_mut();
    let set = |h: &mut actix_web::http::header::HeaderMap, k: &'static str, v: &str| {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(v) {
            h.insert(actix_web::http::header::HeaderName::from_static(k), v);
        }
    };
    set(h, "access-control-allow-origin", "*");
    set(
        h,
        "access-control-expose-headers",
        "ETag, x-oss-request-id, x-oss-next-append-position, x-oss-hash-crc64ecma",
    );
    set(h, "x-oss-request-id", request_id);
    resp
}

pub(crate) async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    store: web::Data<Store>,
) -> HttpResponse {
    let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let resp = match route(&req, &body, &store, &request_id).await {
        Ok(r) => r,
        Err(e) => e.oss_response(&request_id),
    };
    cors(resp, &request_id)
}

async fn route(
    req: &HttpRequest,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, ApiError> {
    let p = Parsed::path_style(req)?;
    if req.method() == Method::OPTIONS {
        return Ok(preflight(req));
    }
    if req.method() == Method::GET && req.path() == KEY_PATH {
        return Ok(HttpResponse::Ok()
            .insert_header(("content-type", "application/x-pem-file"))
            .body(store.signer.public_pem.clone()));
    }
    if req.path() == STS_PATH {
        return Ok(sts::handle(&p, body, store));
    }
    if p.bucket.is_empty() {
        return Err(ApiError::new(
            400,
            "InvalidArgument",
            "path-style requests only: /<bucket>/<key>",
        ));
    }
    if !store.config.buckets.contains(&p.bucket) {
        return Err(
            ApiError::new(404, "NoSuchBucket", "The specified bucket does not exist.")
                .with("BucketName", p.bucket.clone()),
        );
    }
    if p.method == "POST" && p.key.is_empty() && is_form(&p) {
        let resp = post::post_object(&p, body, store, rid).await?;
        store.stats.bump("PostObject");
        return Ok(resp);
    }
    auth::authenticate(&p, store)?;
    let op = operation(&p)?;
    let resp = match op {
        "PutObject" => object::put_object(&p, body, store, rid).await,
        "AppendObject" => object::append_object(&p, body, store).await,
        "GetObject" | "HeadObject" => object::get_object(&p, store).await,
        "DeleteObject" => {
            store
                .disk
                .delete(&p.bucket, &p.key)
                .await
                .map_err(ApiError::internal)?;
            Ok(HttpResponse::NoContent().finish())
        }
        "InitiateMultipartUpload" => multipart::initiate(&p, store).await,
        "UploadPart" => multipart::upload_part(&p, body, store).await,
        "ListParts" => multipart::list_parts(&p, store).await,
        "CompleteMultipartUpload" => multipart::complete(&p, body, store, rid).await,
        "AbortMultipartUpload" => {
            let u = multipart::upload_of(&p, store).await?;
            store
                .disk
                .abort(&p.bucket, &u.upload_id)
                .await
                .map_err(ApiError::internal)?;
            Ok(HttpResponse::NoContent().finish())
        }
        "ListMultipartUploads" => multipart::list_uploads(&p, store).await,
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "not supported by oss-local",
        )),
    }?;
    store.stats.bump(op);
    tracing::info!(op, bucket = %p.bucket, status = resp.status().as_u16(), "request");
    Ok(resp)
}

fn operation(p: &Parsed) -> Result<&'static str, ApiError> {
    let object = !p.key.is_empty();
    Ok(match (p.method.as_str(), object) {
        ("GET", false) if p.has("uploads") => "ListMultipartUploads",
        ("PUT", true) if p.has("uploadId") && p.has("partNumber") => "UploadPart",
        ("PUT", true) => "PutObject",
        ("POST", true) if p.has("uploads") => "InitiateMultipartUpload",
        ("POST", true) if p.has("uploadId") => "CompleteMultipartUpload",
        ("POST", true) if p.has("append") => "AppendObject",
        ("GET", true) if p.has("uploadId") => "ListParts",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) if p.has("uploadId") => "AbortMultipartUpload",
        ("DELETE", true) => "DeleteObject",
        _ => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "this operation is not supported by oss-local",
            ));
        }
    })
}
