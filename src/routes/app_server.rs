//! `GET /v1/uploads/form/oss-app-server`: Alibaba's app-server JSON, for its H5/JavaScript
//! direct-upload page. The work is in [`crate::uploads::app_server`].

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppServerParams {
    profile: String,
}

/// Alibaba's field names and types (`expire` in Unix seconds), plus the upload id.
#[derive(Serialize)]
struct AppServerAnswer {
    accessid: String,
    host: String,
    policy: String,
    signature: String,
    expire: i64,
    callback: String,
    dir: String,
    upload_id: String,
}

pub async fn oss_app_server(
    state: web::Data<AppState>,
    who: AuthUser,
    params: web::Query<AppServerParams>,
) -> Result<HttpResponse, ApiError> {
    let issued = state
        .uploads
        .oss_app_server(&who.user, &params.profile)
        .await?;
    let f = issued.form;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(AppServerAnswer {
            accessid: f.access_id,
            host: f.host,
            policy: f.policy,
            signature: f.signature,
            expire: f.expires_at.unix_timestamp(),
            callback: f.callback,
            dir: f.dir,
            upload_id: issued.record.id.to_string(),
        }))
}
