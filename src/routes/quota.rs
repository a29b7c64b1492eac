//! The caller's own quota usage.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpResponse, web};

pub async fn get(state: web::Data<AppState>, who: AuthUser) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.uploads.quota(&who.user).await?))
}
