//! `/demo`: a page for the local quick start. A person picks a file; the page starts the
//! upload with the same call a real app uses (`POST /v1/uploads`, here as
//! `/demo/api/uploads`), PUTs the file or its parts straight to storage with a progress bar,
//! resumes a multipart upload after a reload, and shows the record the callback produced.
//! Mounted only when `demo.enabled`, which config validation allows only on a loopback
//! listener: every demo request acts as `demo.user` with `demo.profile`, without a login.

use super::create::create_for;
use super::multipart::{complete_for, list_parts_for, sign_parts_for};
use crate::domain::UserId;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::PutObject;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

const PAGE: &str = include_str!("demo.html");

fn demo_user(state: &AppState) -> Result<UserId, ApiError> {
    state
        .settings
        .demo
        .user
        .as_deref()
        .and_then(|u| UserId::parse(u).ok())
        .ok_or_else(|| ApiError::internal("demo.user is not set"))
}

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("content-type", "text/html; charset=utf-8"))
        .insert_header(("cache-control", "no-store"))
        .body(PAGE)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoUploadBody {
    filename: String,
    content_type: String,
    size: u64,
}

/// `POST /v1/uploads` for the demo user and profile.
pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<DemoUploadBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let ask = PutObject {
        profile: state.settings.demo.profile.clone().unwrap_or_default(),
        filename: b.filename,
        content_type: b.content_type,
        size: Some(b.size),
        ..PutObject::default()
    };
    create_for(&state, &demo_user(&state)?, &ask).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoPartsBody {
    part_numbers: Vec<u32>,
}

pub async fn sign_parts(
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<DemoPartsBody>,
) -> Result<HttpResponse, ApiError> {
    sign_parts_for(&state, &demo_user(&state)?, &id, &body.part_numbers).await
}

pub async fn list_parts(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    list_parts_for(&state, &demo_user(&state)?, &id).await
}

/// Completes with every part storage holds (the page sends no part list).
pub async fn complete(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    complete_for(&state, &demo_user(&state)?, &id, b"").await
}

/// One of the demo user's records.
pub async fn upload(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = demo_user(&state)?;
    Ok(HttpResponse::Ok().json(state.uploads.load_own(&who, &id).await?))
}
