//! `POST /v1/uploads`: the route a new app should use. The gateway picks a single presigned
//! PUT or a multipart upload by size; the answer carries everything for the first step.

use super::multipart::{SignedPartAnswer, part_answers};
use super::rights::ObjectBody;
use crate::auth::AuthUser;
use crate::domain::UserId;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::PutObject;
use crate::uploads::create::Created;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Serialize)]
struct PutStep {
    method: &'static str,
    url: String,
    headers: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct MultipartStep {
    part_size: Option<u64>,
    part_count: Option<u32>,
    /// URLs for the first parts; ask `POST /v1/multipart/{upload_id}/parts` for the rest.
    parts: Vec<SignedPartAnswer>,
}

#[derive(Serialize)]
struct CreateAnswer {
    upload_id: String,
    key: String,
    bucket: String,
    /// `single`: PUT the file to `put.url`. `multipart`: PUT each part, then complete.
    strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    put: Option<PutStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multipart: Option<MultipartStep>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
}

pub async fn create(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<ObjectBody>,
) -> Result<HttpResponse, ApiError> {
    create_for(&state, &who.user, &body.into_inner().into()).await
}

/// Shared with the demo page, which acts as `demo.user` with `demo.profile`.
pub(super) async fn create_for(
    state: &AppState,
    user: &UserId,
    ask: &PutObject,
) -> Result<HttpResponse, ApiError> {
    let answer = match state.uploads.create(user, ask).await? {
        Created::Single(issued) => CreateAnswer {
            upload_id: issued.record.id.to_string(),
            key: issued.record.key,
            bucket: issued.record.bucket,
            strategy: "single",
            put: Some(PutStep {
                method: issued.signed.method,
                url: issued.signed.url,
                headers: issued.signed.headers.into_iter().collect(),
            }),
            multipart: None,
            expires_at: issued.signed.expires_at,
            server_time: OffsetDateTime::now_utc(),
        },
        Created::Multipart { record, parts } => CreateAnswer {
            upload_id: record.id.to_string(),
            key: record.key,
            bucket: record.bucket,
            strategy: "multipart",
            put: None,
            multipart: Some(MultipartStep {
                part_size: record.part_size,
                part_count: record.part_count,
                parts: part_answers(parts),
            }),
            expires_at: record.expires_at,
            server_time: OffsetDateTime::now_utc(),
        },
    };
    Ok(HttpResponse::Created().json(answer))
}
