//! The endpoints storage event notifications arrive at: `POST /v1/callbacks/s3-sns` (Amazon
//! SNS; its signature is the authentication) and `POST`/`HEAD /v1/callbacks/s3-webhook`
//! (MinIO; a bearer token). Parse, one service call, answer.

use super::callbacks::read_capped;
use crate::error::ApiError;
use crate::providers::RawCallback;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};

fn raw<'a>(req: &'a HttpRequest, body: &'a [u8]) -> RawCallback<'a> {
    RawCallback {
        request_target: req.uri().path(),
        headers: req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect(),
        body,
    }
}

fn source(state: &AppState, req: &HttpRequest) -> Result<&'static str, ApiError> {
    let name = req.path().rsplit('/').next().unwrap_or_default();
    state
        .uploads
        .notifier(name)
        .ok_or_else(|| ApiError::NotFound("no such notification endpoint".into()))
}

/// `POST /v1/callbacks/s3-sns`, `POST /v1/callbacks/s3-webhook`.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let source = source(&state, &req)?;
    let limit = state.settings.callbacks.max_body_bytes;
    let body = read_capped(&req, payload, limit)
        .await
        .inspect_err(|_| state.uploads.count_notice(source, "refused"))?;
    let answer = state.uploads.notify(source, raw(&req, &body)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// `HEAD /v1/callbacks/s3-webhook`: MinIO's liveness probe, with its token.
pub async fn probe(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let source = source(&state, &req)?;
    state.uploads.probe(source, &raw(&req, b""))?;
    Ok(HttpResponse::Ok().finish())
}
