//! The routes `@uppy/aws-s3` calls on a custom backend (its `endpoint` option), under
//! `uppy.prefix` (default `/s3`), answering in the shapes Uppy Companion uses.
//!
//! Unlike Companion, the `key` Uppy sends back is never trusted: the upload id names a record
//! the caller must own, and a `key` that is not that record's key is refused like an unknown
//! upload. Uppy's `uploadId` is the gateway's upload id, not storage's.

use crate::auth::AuthUser;
use crate::domain::UploadRecord;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::PutObject;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

fn profile<'a>(state: &'a AppState, asked: Option<&'a str>) -> Result<&'a str, ApiError> {
    asked
        .or(state.settings.uppy.profile.as_deref())
        .ok_or_else(|| {
            ApiError::InvalidArgument(
                "no profile: send metadata.profile or configure uppy.profile".into(),
            )
        })
}

/// `metadata[name]=value` query pairs (how Uppy sends metadata on `GET /params`).
fn query_metadata(q: &HashMap<String, String>) -> BTreeMap<String, String> {
    q.iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect()
}

fn required<'a>(q: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    q.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::InvalidQuery(format!("{name}: required")))
}

/// `GET /s3/params?filename=&type=&metadata[...]`: a PostObject form.
pub async fn params(
    state: web::Data<AppState>,
    who: AuthUser,
    q: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let meta = query_metadata(&q);
    let ask = PutObject {
        profile: profile(&state, meta.get("profile").map(String::as_str))?.to_string(),
        filename: required(&q, "filename")?.to_string(),
        content_type: required(&q, "type")?.to_string(),
        size: q
            .get("size")
            .map(|s| {
                s.parse()
                    .map_err(|_| ApiError::InvalidQuery("size: must be a number".into()))
            })
            .transpose()?,
        ..PutObject::default()
    };
    let issued = state.uploads.form(&who.user, &ask).await?;
    let mut fields: BTreeMap<String, String> = issued.form.fields.into_iter().collect();
    if issued.key_is_prefix {
        // Uppy sends the form as given; the name under the prefix is the gateway's choice.
        fields.insert("key".into(), format!("{}{}", issued.key, issued.record.id));
    }
    Ok(HttpResponse::Ok().json(ParamsAnswer {
        expires: (issued.form.expires_at - time::OffsetDateTime::now_utc()).whole_seconds(),
        fields,
        headers: NoHeaders {},
        method: "POST",
        upload_id: issued.record.id.as_str(),
        url: &issued.form.url,
    }))
}

// Typed answers rather than `serde_json::json!`, which builds a map of `Value`s first; the
// fields are in the byte order that map wrote them in, so the bytes stay the same.
#[derive(Serialize)]
struct ParamsAnswer<'a> {
    expires: i64,
    fields: BTreeMap<String, String>,
    headers: NoHeaders,
    method: &'static str,
    #[serde(rename = "uploadId")]
    upload_id: &'a str,
    url: &'a str,
}

/// `{}`
#[derive(Serialize)]
struct NoHeaders {}

#[derive(Serialize)]
struct SignedPartAnswer {
    expires: i64,
    headers: BTreeMap<String, String>,
    url: String,
}

#[derive(Deserialize)]
pub struct CreateBody {
    filename: String,
    #[serde(rename = "type")]
    content_type: String,
    #[serde(default)]
    metadata: BTreeMap<String, serde_json::Value>,
}

/// `POST /s3/multipart` `{filename, type, metadata}` → `{key, uploadId, bucket}`.
pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let asked = body.metadata.get("profile").and_then(|v| v.as_str());
    let ask = PutObject {
        profile: profile(&state, asked)?.to_string(),
        filename: body.filename.clone(),
        content_type: body.content_type.clone(),
        size: body.metadata.get("size").and_then(|v| v.as_u64()),
        ..PutObject::default()
    };
    let rec = state.uploads.start_multipart(&who.user, &ask, None).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "key": rec.key,
        "uploadId": rec.id,
        "bucket": rec.bucket,
    })))
}

#[derive(Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
    #[serde(rename = "partNumbers")]
    part_numbers: Option<String>,
}

/// The caller's multipart upload, checked against the `key` Uppy sent back.
async fn load(
    state: &AppState,
    who: &AuthUser,
    id: &str,
    q: &KeyQuery,
) -> Result<UploadRecord, ApiError> {
    let key = q
        .key
        .as_deref()
        .ok_or_else(|| ApiError::InvalidQuery("key: required".into()))?;
    let rec = state.uploads.load_multipart(&who.user, id).await?;
    if rec.key != key {
        return Err(ApiError::NotFound("upload not found".into()));
    }
    Ok(rec)
}

/// `GET /s3/multipart/{uploadId}?key=` → `[{PartNumber, Size, ETag, LastModified}]`.
pub async fn list_parts(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let rec = load(&state, &who, &id, &q).await?;
    let parts: Vec<_> = state
        .uploads
        .list_parts(&rec)
        .await?
        .into_iter()
        .map(|p| {
            serde_json::json!({
                "PartNumber": p.part_number,
                "Size": p.size,
                "ETag": format!("\"{}\"", p.etag),
                "LastModified": p.last_modified,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(parts))
}

/// `GET /s3/multipart/{uploadId}/{partNumber}?key=` → `{url, expires, headers}`.
pub async fn sign_part(
    state: web::Data<AppState>,
    who: AuthUser,
    path: web::Path<(String, String)>,
    q: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, number) = path.into_inner();
    let number: u32 = number
        .parse()
        .map_err(|_| ApiError::InvalidPath("partNumber must be a number from 1 to 10000".into()))?;
    let rec = load(&state, &who, &id, &q).await?;
    // Uppy chooses its own part sizes, so the URLs are not pinned to the gateway's plan.
    let mut signed = state.uploads.sign_parts(&rec, &[number], false)?;
    let p = signed.remove(0);
    Ok(HttpResponse::Ok().json(SignedPartAnswer {
        expires: (p.signed.expires_at - time::OffsetDateTime::now_utc()).whole_seconds(),
        headers: p.signed.headers.into_iter().collect(),
        url: p.signed.url,
    }))
}

/// `GET /s3/multipart/{uploadId}/batch?key=&partNumbers=1,2` → `{presignedUrls, headers}`.
pub async fn sign_batch(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let rec = load(&state, &who, &id, &q).await?;
    let numbers = q
        .part_numbers
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim().parse::<u32>().map_err(|_| {
                ApiError::InvalidQuery("partNumbers: comma-separated part numbers".into())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let signed = state.uploads.sign_parts(&rec, &numbers, false)?;
    let mut urls = BTreeMap::new();
    let mut headers = BTreeMap::new();
    for p in signed {
        urls.insert(p.part_number.to_string(), p.signed.url);
        headers.insert(
            p.part_number.to_string(),
            p.signed.headers.into_iter().collect::<BTreeMap<_, _>>(),
        );
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "presignedUrls": urls,
        "headers": headers,
    })))
}

#[derive(Deserialize)]
pub struct UppyPart {
    #[serde(rename = "PartNumber")]
    part_number: u32,
    #[serde(rename = "ETag")]
    etag: String,
}

#[derive(Deserialize)]
pub struct CompleteBody {
    parts: Vec<UppyPart>,
}

/// `POST /s3/multipart/{uploadId}/complete?key=` `{parts}` → `{location, key, bucket}`.
pub async fn complete(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<KeyQuery>,
    body: web::Json<CompleteBody>,
) -> Result<HttpResponse, ApiError> {
    let rec = load(&state, &who, &id, &q).await?;
    let parts: Vec<(u32, String)> = body
        .into_inner()
        .parts
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    if parts.is_empty() {
        return Err(ApiError::InvalidArgument(
            "parts: list the uploaded parts".into(),
        ));
    }
    let done = state.uploads.complete_multipart(&rec, Some(parts)).await?;
    let location = state.uploads.object_url(&done.record)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "location": location,
        "key": done.record.key,
        "bucket": done.record.bucket,
        "uploadId": done.record.id,
        "status": done.record.status,
        "size": done.record.size,
        "etag": done.record.etag,
    })))
}

/// `DELETE /s3/multipart/{uploadId}?key=` → `{}`.
pub async fn abort(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    q: web::Query<KeyQuery>,
) -> Result<HttpResponse, ApiError> {
    let rec = load(&state, &who, &id, &q).await?;
    state.uploads.abort_multipart(&rec).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({})))
}
