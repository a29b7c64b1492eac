//! The endpoint storage calls after an upload. No client authentication: the signature is
//! the authentication, checked over the raw request target and body.

use crate::callbacks::receiver::RawCallback;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

pub async fn oss(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let receiver = &state.callbacks;
    let limit = state.settings.callbacks.max_body_bytes;
    // Refusals before the receiver sees the request are counted here.
    let refuse = |e: ApiError| {
        receiver.count("oss", "malformed");
        e
    };
    let too_large = || refuse(ApiError::PayloadTooLarge { limit });
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
        let chunk = chunk.map_err(|e| refuse(ApiError::CallbackMalformed(format!("body: {e}"))))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let answer = receiver
        .receive(
            "oss",
            RawCallback {
                request_target: target,
                authorization: header("authorization"),
                pub_key_url: header("x-oss-pub-key-url"),
                content_type: header("content-type"),
                body: &body,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
