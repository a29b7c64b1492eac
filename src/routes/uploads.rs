//! Upload records as their owners see them.

use crate::auth::AuthUser;
use crate::domain::{UploadId, UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ListQuery;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

const MAX_LIMIT: usize = 100;

pub async fn get(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.uploads.load_own(&who.user, &id).await?))
}

/// The client's "my upload finished" when its callback failed (OSS answered 203) or never
/// comes (COS): the gateway checks storage and completes the record if the object is there.
/// For an STS grant the body names the object written with its keys.
pub async fn confirm(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: ConfirmBody = if body.iter().all(u8::is_ascii_whitespace) {
        ConfirmBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::InvalidJson(format!("invalid JSON body: {e}")))?
    };
    let rec = match body.key {
        Some(key) => state.uploads.confirm_object(&who.user, &id, &key).await?,
        None => state.uploads.confirm(&who.user, &id).await?,
    };
    Ok(HttpResponse::Ok().json(rec))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct ListBody {
    items: Vec<UploadRecord>,
    next_cursor: Option<UploadId>,
}

pub async fn list(
    state: web::Data<AppState>,
    who: AuthUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .uploads
        .list(&who.user, &params.into_inner().query()?)
        .await?;
    Ok(HttpResponse::Ok().json(ListBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

impl ListParams {
    fn query(self) -> Result<ListQuery, ApiError> {
        let params = self;
        let status = params
            .status
            .map(|s| {
                s.parse::<UploadStatus>()
                    .map_err(|e| ApiError::InvalidQuery(format!("status: {e}")))
            })
            .transpose()?;
        let limit = params.limit.unwrap_or(20);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::InvalidQuery(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        let cursor = params
            .cursor
            .map(|c| {
                UploadId::parse(&c).map_err(|_| {
                    ApiError::InvalidQuery("cursor is not one this service issued".into())
                })
            })
            .transpose()?;
        Ok(ListQuery {
            status,
            limit,
            cursor,
        })
    }
}
