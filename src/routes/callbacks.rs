//! The endpoints storage calls after an upload. No client authentication: the provider's
//! signature is the authentication, checked over the raw request target and body.

use crate::error::ApiError;
use crate::providers::RawCallback;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

/// `POST /v1/callbacks/{provider}`.
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    handle(&state, &req, &provider, payload).await
}

/// `callbacks.path` when it is not under `/v1/callbacks/` (OSS then calls it).
pub async fn oss(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    handle(&state, &req, "oss", payload).await
}

async fn handle(
    state: &AppState,
    req: &HttpRequest,
    provider: &str,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let receiver = &state.callbacks;
    let provider = receiver
        .provider(provider)
        .ok_or_else(|| ApiError::NotFound("no such callback endpoint".into()))?;
    let limit = state.settings.callbacks.max_body_bytes;
    let body = read_capped(req, payload, limit).await.inspect_err(|_| {
        // Refusals before the receiver sees the request are counted here.
        receiver.count(provider, "malformed");
    })?;
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let headers = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let raw = RawCallback {
        request_target: target,
        headers,
        body: &body,
    };
    let answer = receiver.receive(provider, raw).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The raw body, refused as soon as it would pass `limit` (the signature covers the exact
/// bytes, so nothing is decoded here).
pub(super) async fn read_capped(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let too_large = || ApiError::PayloadTooLarge { limit };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::CallbackMalformed(format!("body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
