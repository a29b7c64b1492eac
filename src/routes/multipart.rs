//! `/v1/multipart`: the native multipart routes. The work is in
//! [`crate::uploads::multipart`].

use crate::auth::AuthUser;
use crate::domain::{UploadRecord, UserId};
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::PutObject;
use crate::uploads::multipart::SignedPart;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    profile: String,
    filename: String,
    content_type: String,
    size: u64,
    /// Preferred part size; the gateway keeps it within storage's limits or refuses it.
    part_size: Option<u64>,
    vars: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct Started {
    upload_id: String,
    key: String,
    bucket: String,
    storage_upload_id: String,
    part_size: Option<u64>,
    part_count: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

pub async fn start(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<StartBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let ask = PutObject {
        profile: b.profile,
        filename: b.filename,
        content_type: b.content_type,
        size: Some(b.size),
        content_md5: None,
        vars: b.vars,
    };
    let rec = state
        .uploads
        .start_multipart(&who.user, &ask, b.part_size)
        .await?;
    Ok(HttpResponse::Created().json(Started {
        upload_id: rec.id.as_str().to_string(),
        storage_upload_id: rec.storage_upload_id.clone().unwrap_or_default(),
        key: rec.key,
        bucket: rec.bucket,
        part_size: rec.part_size,
        part_count: rec.part_count,
        expires_at: rec.expires_at,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartsBody {
    part_numbers: Vec<u32>,
}

#[derive(Serialize)]
pub(super) struct SignedPartAnswer {
    part_number: u32,
    method: &'static str,
    url: String,
    headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

pub(super) fn part_answers(signed: Vec<SignedPart>) -> Vec<SignedPartAnswer> {
    signed
        .into_iter()
        .map(|p| SignedPartAnswer {
            part_number: p.part_number,
            method: p.signed.method,
            url: p.signed.url,
            headers: p.signed.headers.into_iter().collect(),
            expires_at: p.signed.expires_at,
        })
        .collect()
}

pub async fn sign_parts(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Json<PartsBody>,
) -> Result<HttpResponse, ApiError> {
    sign_parts_for(&state, &who.user, &id, &body.part_numbers).await
}

/// Shared with the demo page, which acts as `demo.user`.
pub(super) async fn sign_parts_for(
    state: &AppState,
    user: &UserId,
    id: &str,
    numbers: &[u32],
) -> Result<HttpResponse, ApiError> {
    let rec = state.uploads.load_multipart(user, id).await?;
    let signed = state.uploads.sign_parts(&rec, numbers, true)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "parts": part_answers(signed) })))
}

#[derive(Serialize)]
struct PartAnswer {
    part_number: u32,
    etag: String,
    size: u64,
    last_modified: String,
}

pub async fn list_parts(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    list_parts_for(&state, &who.user, &id).await
}

pub(super) async fn list_parts_for(
    state: &AppState,
    user: &UserId,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let rec = state.uploads.load_multipart(user, id).await?;
    let parts: Vec<PartAnswer> = state
        .uploads
        .list_parts(&rec)
        .await?
        .into_iter()
        .map(|p| PartAnswer {
            part_number: p.part_number,
            etag: p.etag,
            size: p.size,
            last_modified: p.last_modified,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "upload_id": rec.id,
        "part_size": rec.part_size,
        "part_count": rec.part_count,
        "parts": parts,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompletePart {
    part_number: u32,
    etag: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    #[serde(default)]
    parts: Vec<CompletePart>,
}

#[derive(Serialize)]
struct CompleteAnswer {
    #[serde(flatten)]
    record: UploadRecord,
    /// The callback server's answer as storage relayed it, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<serde_json::Value>,
}

pub async fn complete(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, state.settings.server.max_body_bytes).await?;
    complete_for(&state, &who.user, &id, &body).await
}

pub(super) async fn complete_for(
    state: &AppState,
    user: &UserId,
    id: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    // An empty body means "complete with every part storage holds".
    let body: CompleteBody = if body.iter().all(u8::is_ascii_whitespace) {
        CompleteBody::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::InvalidJson(format!("invalid JSON body: {e}")))?
    };
    let rec = state.uploads.load_multipart(user, id).await?;
    let parts: Vec<(u32, String)> = body
        .parts
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    let done = state.uploads.complete_multipart(&rec, Some(parts)).await?;
    Ok(HttpResponse::Ok().json(CompleteAnswer {
        record: done.record,
        callback: done.callback_answer,
    }))
}

pub async fn abort(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rec = state.uploads.load_multipart(&who.user, &id).await?;
    Ok(HttpResponse::Ok().json(state.uploads.abort_multipart(&rec).await?))
}

pub async fn list(state: web::Data<AppState>, who: AuthUser) -> Result<HttpResponse, ApiError> {
    let items = state.uploads.multipart_in_progress(&who.user).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// The request body up to `limit` bytes; past it the JSON `payload-too-large` (the `Bytes`
/// extractor would answer in plain text).
async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::InvalidJson(format!("request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
