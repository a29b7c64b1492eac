//! Every URL the gateway serves is listed here, in [`router`], and nowhere else; `router.rs`
//! mounts the list and records the table of routes, which a test holds against
//! `openapi/openapi.yaml`.

mod app_server;
mod aws_sdk;
mod callbacks;
mod cos_callback;
mod cos_sdk;
mod create;
mod credentials;
mod demo;
mod health;
mod meta;
mod multipart;
mod notifications;
mod objects;
mod quota;
mod rights;
mod router;
mod uploads;
mod uppy;

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};

pub use router::{RouteTable, Router};

/// Builds the route set of the API listener.
pub fn router(state: &AppState) -> Router {
    let mut r = Router::default();
    let metrics_here = state.settings.metrics.on_api_port();

    // Load balancers probe with HEAD as often as with GET.
    r.get("/healthz", health::healthz);
    r.route(Method::HEAD, "/healthz", health::healthz);
    r.get("/readyz", health::readyz);
    r.route(Method::HEAD, "/readyz", health::readyz);
    if metrics_here {
        r.get("/metrics", meta::metrics);
    }
    r.get("/openapi.yaml", meta::openapi_yaml);

    // Fixed paths before `/v1/uploads/{id}`: the first matching path wins.
    r.post("/v1/uploads/presign", rights::presign);
    r.post("/v1/uploads/append", rights::append);
    r.post("/v1/uploads/form", rights::form);
    r.post("/v1/credentials", credentials::credentials);
    if state.uploads.providers().kinds().contains("oss") {
        r.get("/v1/credentials/oss-sdk", credentials::oss_sdk);
        r.post("/v1/credentials/oss-sdk/url", credentials::oss_sdk_url);
        r.get(
            "/v1/uploads/form/oss-app-server",
            app_server::oss_app_server,
        );
    }
    if state.uploads.providers().kinds().contains("s3") {
        r.get("/v1/credentials/aws-sdk", aws_sdk::get);
    }
    if state.uploads.providers().kinds().contains("cos") {
        r.get("/v1/credentials/cos-sdk", cos_sdk::get);
        r.post("/v1/credentials/cos-sdk", cos_sdk::post);
        // Before `/v1/callbacks/{provider}`: the first matching path wins.
        r.post("/v1/callbacks/cos", cos_callback::receive);
    }
    r.post("/v1/uploads", create::create);
    r.get("/v1/uploads", uploads::list);
    r.get("/v1/uploads/{id}", uploads::get);
    r.delete("/v1/uploads/{id}", objects::delete);
    r.get("/v1/uploads/{id}/download", objects::download);
    r.post("/v1/uploads/{id}/confirm", uploads::confirm);
    r.get("/v1/quota", quota::get);
    let custom = &state.settings.callbacks.path;
    if !custom.starts_with("/v1/callbacks/") {
        r.post(custom, callbacks::oss);
    }
    // Before `{provider}`: the first matching path wins.
    // Mounted whether configured or not: an endpoint that is not configured answers 404
    // (its handler finds no notifier), for the probe too, rather than a 405.
    r.post("/v1/callbacks/s3-sns", notifications::receive);
    r.post("/v1/callbacks/s3-webhook", notifications::receive);
    r.route(
        Method::HEAD,
        "/v1/callbacks/s3-webhook",
        notifications::probe,
    );
    r.post("/v1/callbacks/{provider}", callbacks::receive);

    r.post("/v1/multipart", multipart::start);
    r.get("/v1/multipart", multipart::list);
    r.post("/v1/multipart/{id}/parts", multipart::sign_parts);
    r.get("/v1/multipart/{id}/parts", multipart::list_parts);
    r.post("/v1/multipart/{id}/complete", multipart::complete);
    r.delete("/v1/multipart/{id}", multipart::abort);

    if state.settings.demo.enabled {
        r.get("/demo", demo::page);
        r.post("/demo/api/uploads", demo::create);
        r.get("/demo/api/uploads/{id}", demo::upload);
        r.post("/demo/api/multipart/{id}/parts", demo::sign_parts);
        r.get("/demo/api/multipart/{id}/parts", demo::list_parts);
        r.post("/demo/api/multipart/{id}/complete", demo::complete);
    }

    let uppy = &state.settings.uppy;
    if uppy.enabled {
        let p = &uppy.prefix;
        r.get(&format!("{p}/params"), uppy::params);
        r.post(&format!("{p}/multipart"), uppy::create);
        // Literal segments before `{partNumber}`: the first matching path wins.
        r.get(
            &format!("{p}/multipart/{{uploadId}}/batch"),
            uppy::sign_batch,
        );
        r.post(
            &format!("{p}/multipart/{{uploadId}}/complete"),
            uppy::complete,
        );
        r.get(
            &format!("{p}/multipart/{{uploadId}}/{{partNumber}}"),
            uppy::sign_part,
        );
        r.get(&format!("{p}/multipart/{{uploadId}}"), uppy::list_parts);
        r.delete(&format!("{p}/multipart/{{uploadId}}"), uppy::abort);
    }
    r
}

/// The route set of the separate metrics listener, when one is configured.
pub fn metrics_router() -> Router {
    let mut r = Router::default();
    r.get("/metrics", meta::metrics);
    r
}

pub async fn route_not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound {
        method: req.method().to_string(),
        path: req.path().chars().take(200).collect(),
    })
}
