//! `/demo`: a page for the local quick start. A person picks a file; the page asks for a
//! PostObject form, posts the file straight to storage, and shows the record the callback
//! produced. Mounted only when `demo.enabled`, which config validation allows only on a
//! loopback listener: every demo request acts as `demo.user` without a login.

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
pub struct DemoFormBody {
    filename: String,
    content_type: String,
    size: u64,
}

/// A PostObject form for the demo user and profile.
pub async fn form(
    state: web::Data<AppState>,
    body: web::Json<DemoFormBody>,
) -> Result<HttpResponse, ApiError> {
    let who = demo_user(&state)?;
    let b = body.into_inner();
    let ask = PutObject {
        profile: state.settings.demo.profile.clone().unwrap_or_default(),
        filename: b.filename,
        content_type: b.content_type,
        size: Some(b.size),
        ..PutObject::default()
    };
    let issued = state.uploads.form(&who, &ask).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "upload_id": issued.record.id,
        "url": issued.form.url,
        "fields": issued.form.fields.into_iter().map(|(name, value)| serde_json::json!({"name": name, "value": value})).collect::<Vec<_>>(),
    })))
}

/// One of the demo user's records.
pub async fn upload(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let who = demo_user(&state)?;
    Ok(HttpResponse::Ok().json(state.uploads.load_own(&who, &id).await?))
}
