//! The Tencent COS dialect, on its own listener over the shared store: virtual-host
//! addressing (the bucket from the Host, or the only bucket served), q-sign signatures,
//! `x-cos-*` headers, COS's error XML and limits, and a TC3-signed STS stand-in whose
//! temporary credentials reach only the granted prefix and actions.

mod auth;
pub mod conditions;
pub mod error;
mod multipart;
mod object;
pub mod post;
pub mod sign;
pub mod sts;
mod wire;

use crate::MAX_BODY;
use crate::error::ApiError;
use crate::http::{Parsed, is_form, preflight, set_header};
use crate::store::Store;
use actix_web::http::Method;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Every part but the last must be at least this large (COS: 1 MB).
pub const MIN_PART_SIZE: u64 = 1024 * 1024;
const MAX_LIST: usize = 1000;

#[derive(Clone, Debug)]
pub struct CosConfig {
    pub listen: SocketAddr,
    /// Full bucket names, with the APPID (`examplebucket-1250000000`).
    pub buckets: Vec<String>,
    pub region: String,
}

/// The COS listener's state: the shared store plus what only COS has.
pub struct CosState {
    pub store: Arc<Store>,
    pub config: CosConfig,
    temp: Mutex<HashMap<String, sts::Grant>>,
}

impl CosState {
    pub fn add_temp_credential(&self, secret_id: String, g: sts::Grant) {
        self.temp.lock().unwrap().insert(secret_id, g);
    }

    /// The policy STS was asked for when it issued `secret_id`.
    pub fn policy_of(&self, secret_id: &str) -> Option<String> {
        self.temp
            .lock()
            .unwrap()
            .get(secret_id)
            .map(|g| g.policy.clone())
    }
}

pub struct CosRunning {
    pub port: u16,
    pub state: Arc<CosState>,
    pub server: actix_web::dev::Server,
}

/// Binds the COS listener over `store` (not yet polled: spawn or await `server`).
pub async fn start(store: Arc<Store>, config: CosConfig) -> std::io::Result<CosRunning> {
    for b in &config.buckets {
        store.disk.ensure_bucket(b).await?;
    }
    let state = Arc::new(CosState {
        store,
        config: config.clone(),
        temp: Mutex::default(),
    });
    let data = web::Data::from(state.clone());
    let socket = if config.listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // Like actix's own bind: a restart must not wait for old connections' TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(config.listen)?;
    let front = socket.listen(1024)?;
    let port = front.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .default_service(web::to(handle))
    })
    .workers(2)
    .bind((config.listen.ip(), 0))?;
    let backend = server.addrs()[0];
    tokio::spawn(wire::serve(front, backend));
    Ok(CosRunning {
        port,
        state,
        server: server.run(),
    })
}

fn with_cos_headers(mut resp: HttpResponse, rid: &str) -> HttpResponse {
    set_header(&mut resp, "access-control-allow-origin", "*");
    set_header(
        &mut resp,
        "access-control-expose-headers",
        "ETag, x-cos-request-id, x-cos-next-append-position, x-cos-hash-crc64ecma, Location",
    );
    // The SDKs treat a 3xx-5xx without it as a network failure and retry.
    set_header(&mut resp, "x-cos-request-id", rid);
    set_header(&mut resp, "server", "tencent-cos");
    // One response per connection, so the front in `wire` finds each head first.
    resp.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    resp
}

async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<CosState>) -> HttpResponse {
    let rid = uuid::Uuid::new_v4().simple().to_string();
    if req.method() == Method::POST && req.headers().contains_key("x-tc-action") {
        return with_cos_headers(sts::handle(&req, &body, &state), &rid);
    }
    let resp = match route(&req, body, &state, &rid).await {
        Ok(r) => r,
        Err(e) => e.cos_response(&rid, req.path()),
    };
    with_cos_headers(resp, &rid)
}

/// The bucket a Host names: `<bucket>.cos.<region>.…` or a served bucket's name as the
/// first label; with one bucket served, any other Host (a bare `127.0.0.1:PORT`) means it.
fn bucket_of(req: &HttpRequest, served: &[String]) -> Option<String> {
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let first = host.split('.').next().unwrap_or("");
    if served.iter().any(|b| b == first) && host.contains('.') {
        return Some(first.to_string());
    }
    match served {
        [one] => Some(one.clone()),
        _ => None,
    }
}

async fn route(
    req: &HttpRequest,
    body: web::Bytes,
    state: &CosState,
    rid: &str,
) -> Result<HttpResponse, ApiError> {
    if req.method() == Method::OPTIONS {
        return Ok(preflight(req));
    }
    let bucket = bucket_of(req, &state.config.buckets).ok_or_else(|| {
        ApiError::new(404, "NoSuchBucket", "The specified bucket does not exist.")
    })?;
    let p = Parsed::virtual_host(req, &bucket)?;
    let op = operation(&p)?;
    let resp = if op == "PostObject" {
        post::post_object(&p, &body, state, rid).await?
    } else {
        auth::authenticate(&p, state, op, &p.key)?;
        match op {
            "PutObject" => object::put_object(&p, &body, state).await,
            "AppendObject" => object::append_object(&p, &body, state).await,
            "GetObject" | "HeadObject" => object::get_object(&p, state).await,
            "DeleteObject" => {
                let store = &state.store;
                store
                    .disk
                    .delete(&p.bucket, &p.key)
                    .await
                    .map_err(ApiError::internal)?;
                Ok(HttpResponse::NoContent().finish())
            }
            "InitiateMultipartUpload" => multipart::initiate(&p, state).await,
            "UploadPart" => multipart::upload_part(&p, &body, state).await,
            "ListParts" => multipart::list_parts(&p, state).await,
            "CompleteMultipartUpload" => multipart::complete(&p, &body, state).await,
            "AbortMultipartUpload" => multipart::abort(&p, state).await,
            "ListMultipartUploads" => multipart::list_uploads(&p, state).await,
            _ => Err(not_supported()),
        }?
    };
    state.store.stats.bump(&format!("cos:{op}"));
    tracing::info!(op, bucket = %p.bucket, status = resp.status().as_u16(), "cos request");
    Ok(resp)
}

fn not_supported() -> ApiError {
    ApiError::new(
        405,
        "MethodNotAllowed",
        "this operation is not supported by oss-local's COS listener",
    )
}

/// The operation, named as its CAM action is (`name/cos:<op>`).
fn operation(p: &Parsed) -> Result<&'static str, ApiError> {
    let object = !p.key.is_empty();
    Ok(match (p.method.as_str(), object) {
        ("POST", false) if is_form(p) => "PostObject",
        ("GET", false) if p.has("uploads") => "ListMultipartUploads",
        ("PUT", true) if p.has("uploadId") && p.has("partNumber") => "UploadPart",
        ("PUT", true) => "PutObject",
        ("POST", true) if p.has("uploads") => "InitiateMultipartUpload",
        ("POST", true) if p.has("uploadId") => "CompleteMultipartUpload",
        ("POST", true) if p.has("append") => "AppendObject",
        ("GET", true) if p.has("uploadId") => "ListParts",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) if p.has("uploadId") => "AbortMultipartUpload",
        ("DELETE", true) => "DeleteObject",
        _ => return Err(not_supported()),
    })
}

/// The quoted lower-case ETag COS answers with (the disk keeps OSS's upper-case hex).
pub fn etag(hex: &str) -> String {
    format!("\"{}\"", hex.to_ascii_lowercase())
}

/// `x-cos-meta-*` request headers, names lower-cased.
pub fn user_meta(p: &Parsed) -> Vec<(String, String)> {
    p.headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-cos-meta-"))
        .cloned()
        .collect()
}
