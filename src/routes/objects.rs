//! The owner's stored objects: download URLs and deletes. The work is in
//! [`crate::uploads::objects`].

use crate::auth::AuthUser;
use crate::domain::Disposition;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::objects::DownloadAsk;
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadParams {
    disposition: Option<String>,
    filename: Option<String>,
}

#[derive(Serialize)]
struct DownloadAnswer {
    upload_id: String,
    key: String,
    method: &'static str,
    url: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
}

/// `GET /v1/uploads/{id}/download`: a short-lived presigned GET of the caller's object.
pub async fn download(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    params: web::Query<DownloadParams>,
) -> Result<HttpResponse, ApiError> {
    let p = params.into_inner();
    let disposition = p
        .disposition
        .map(|d| d.parse::<Disposition>())
        .transpose()
        .map_err(|e| ApiError::InvalidQuery(format!("disposition: {e}")))?;
    let ask = DownloadAsk {
        disposition,
        filename: p.filename,
    };
    let d = state.uploads.download(&who.user, &id, &ask).await?;
    Ok(HttpResponse::Ok()
        // The URL is a bearer credential until it expires.
        .insert_header((CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(DownloadAnswer {
            upload_id: d.record.id.to_string(),
            key: d.record.key,
            method: d.signed.method,
            url: d.signed.url,
            expires_at: d.signed.expires_at,
            server_time: OffsetDateTime::now_utc(),
        }))
}

/// `DELETE /v1/uploads/{id}`: the object deleted in storage, the record `deleted`.
pub async fn delete(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.uploads.delete_object(&who.user, &id).await?))
}
