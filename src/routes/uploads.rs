//! Upload records as their owners see them.

use crate::auth::AuthUser;
use crate::domain::{UploadId, UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::ListQuery;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

const MAX_LIMIT: usize = 100;

/// Loads a record the caller owns. Malformed ids, missing records and other users' records
/// all answer the same 404, so ids cannot be probed.
pub async fn load_own(
    state: &AppState,
    who: &AuthUser,
    id: &str,
) -> Result<UploadRecord, ApiError> {
    let not_found = || ApiError::NotFound("upload not found".into());
    let id = UploadId::parse(id).map_err(|_| not_found())?;
    match state.store.get_record(&id).await? {
        Some(rec) if rec.user == who.user => Ok(rec),
        _ => Err(not_found()),
    }
}

pub async fn get(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load_own(&state, &who, &id).await?))
}

/// The client's "my upload finished" when its callback failed (OSS answered 203): the
/// gateway checks storage and completes the record if the object is there.
pub async fn confirm(
    state: web::Data<AppState>,
    who: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    use crate::callbacks::reconcile::{self, Outcome};
    let rec = load_own(&state, &who, &id).await?;
    match reconcile::check(&state, &rec, "confirm").await? {
        (Outcome::Missing, _) => Err(ApiError::ObjectMissing),
        (Outcome::Rejected, r) => Err(ApiError::UploadRejected(
            r.failure.unwrap_or_else(|| "rules broken".into()),
        )),
        (_, r) => Ok(HttpResponse::Ok().json(r)),
    }
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
    let params = params.into_inner();
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
            UploadId::parse(&c)
                .map_err(|_| ApiError::InvalidQuery("cursor is not one this service issued".into()))
        })
        .transpose()?;
    let page = state
        .store
        .list_records(
            &who.user,
            &ListQuery {
                status,
                limit,
                cursor,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(ListBody {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}
