//! `POST /v1/callbacks/cos`: COS's upload callback, which COS does not sign. It is a hint
//! only: the gateway asks storage and records nothing storage does not show.

use crate::error::ApiError;
use crate::providers::cos::callback_hint;
use crate::state::AppState;
use crate::uploads::confirm::Claimed;
use crate::uploads::hint::StorageHint;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};

pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let h = callback_hint::parse(content_type, &body).map_err(ApiError::CallbackMalformed)?;
    let hint = StorageHint {
        provider: "cos",
        upload_id: &h.upload_id,
        bucket: &h.bucket,
        object: &h.object,
        claimed: Claimed {
            size: h.size,
            etag: h.etag.clone(),
        },
    };
    let rec = state.uploads.storage_hint(&hint).await?;
    Ok(HttpResponse::Ok().json(state.callbacks.answer(&rec)))
}
