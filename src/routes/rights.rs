//! Routes that issue rights for single objects: presigned URLs, append URLs and PostObject
//! forms. The work is in [`crate::uploads`].

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::PutObject;
use crate::uploads::issue::{AppendAsk, IssuedUrl};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One object of a known size: the body of `POST /v1/uploads/presign` and `POST /v1/uploads`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectBody {
    profile: String,
    filename: String,
    content_type: String,
    size: u64,
    content_md5: Option<String>,
    vars: Option<BTreeMap<String, String>>,
}

impl From<ObjectBody> for PutObject {
    fn from(b: ObjectBody) -> PutObject {
        PutObject {
            profile: b.profile,
            filename: b.filename,
            content_type: b.content_type,
            size: Some(b.size),
            content_md5: b.content_md5,
            vars: b.vars,
        }
    }
}

#[derive(Serialize)]
struct UrlAnswer {
    upload_id: String,
    key: String,
    bucket: String,
    method: &'static str,
    url: String,
    headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
}

pub(super) fn url_answer(issued: IssuedUrl) -> HttpResponse {
    let IssuedUrl {
        record: rec,
        signed,
        position,
    } = issued;
    HttpResponse::Ok().json(UrlAnswer {
        upload_id: rec.id.as_str().to_string(),
        key: rec.key.clone(),
        bucket: rec.bucket.clone(),
        method: signed.method,
        url: signed.url,
        headers: signed.headers.into_iter().collect(),
        expires_at: signed.expires_at,
        server_time: OffsetDateTime::now_utc(),
        position,
    })
}

pub async fn presign(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<ObjectBody>,
) -> Result<HttpResponse, ApiError> {
    let ask = body.into_inner().into();
    Ok(url_answer(state.uploads.presign(&who.user, &ask).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    /// First append: which profile and file.
    profile: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    /// Next appends: the upload and where this chunk starts.
    upload_id: Option<String>,
    position: Option<u64>,
    /// Bytes in this chunk.
    size: u64,
}

pub async fn append(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<AppendBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let ask = match (b.upload_id, b.profile) {
        (Some(upload_id), None) => AppendAsk::Next {
            upload_id,
            position: b.position.ok_or_else(|| {
                ApiError::InvalidArgument("position: required with upload_id".into())
            })?,
            size: b.size,
        },
        (None, Some(profile)) if b.position.unwrap_or(0) == 0 => AppendAsk::First {
            profile,
            filename: b.filename,
            content_type: b.content_type,
            size: b.size,
        },
        (None, Some(_)) => {
            return Err(ApiError::InvalidArgument(
                "position: a new append upload starts at 0".into(),
            ));
        }
        _ => {
            return Err(ApiError::InvalidArgument(
                "send either {profile, filename, content_type, size} for the first append or {upload_id, position, size} for the next".into(),
            ));
        }
    };
    Ok(url_answer(state.uploads.append(&who.user, ask).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormBody {
    profile: String,
    filename: String,
    content_type: String,
    size: Option<u64>,
    vars: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct FormAnswer {
    upload_id: String,
    /// The exact key, or the prefix the client's chosen name must start with.
    key: String,
    key_is_prefix: bool,
    bucket: String,
    method: &'static str,
    url: String,
    /// Send these as form fields, in this order, with the file as the last field.
    fields: Vec<FormField>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
}

#[derive(Serialize)]
struct FormField {
    name: String,
    value: String,
}

pub async fn form(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<FormBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let ask = PutObject {
        profile: b.profile,
        filename: b.filename,
        content_type: b.content_type,
        size: b.size,
        content_md5: None,
        vars: b.vars,
    };
    let issued = state.uploads.form(&who.user, &ask).await?;
    Ok(HttpResponse::Ok().json(FormAnswer {
        upload_id: issued.record.id.as_str().to_string(),
        key: issued.key,
        key_is_prefix: issued.key_is_prefix,
        bucket: issued.record.bucket,
        method: "POST",
        url: issued.form.url,
        fields: issued
            .form
            .fields
            .into_iter()
            .map(|(name, value)| FormField { name, value })
            .collect(),
        expires_at: issued.form.expires_at,
        server_time: OffsetDateTime::now_utc(),
    }))
}
