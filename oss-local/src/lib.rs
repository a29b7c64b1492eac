//! oss-local: an OSS-compatible object store for development and tests.
//!
//! It speaks the part of the OSS REST API the gateway and its clients use (path-style
//! addressing: `http://host:port/<bucket>/<key>`), checks every request's signature the way
//! OSS does, keeps objects on local disk, and sends upload callbacks signed with its own RSA
//! key, whose public half it serves at `/_oss-local/callback-key.pem`. It is never part of a
//! production deployment: the gateway does not link it.

pub mod callback;
pub mod disk;
pub mod post;
pub mod sign;
pub mod sts;
pub mod xml;

use actix_web::http::Method;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use disk::{CompleteError, Disk, ObjectMeta};
use sign::{SignError, SignedRequest};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use xml::OssError;

/// Where the public key of the callback signer is served.
pub const KEY_PATH: &str = "/_oss-local/callback-key.pem";
/// Where the STS AssumeRole stand-in answers (the gateway's `sts.endpoint` in local runs).
pub const STS_PATH: &str = "/_oss-local/sts/";
const MAX_BODY: usize = 1 << 30;
const MAX_LIST: usize = 1000;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub buckets: Vec<String>,
    /// Long-lived keys: (AccessKeyId, AccessKeySecret).
    pub access_keys: Vec<(String, String)>,
    /// PKCS#1 PEM of the callback signing key; the bundled development key when unset.
    pub callback_key_pem: Option<String>,
}

/// Temporary credentials (from the STS stand-in): usable only with their token, before
/// their expiry, and only for keys under `prefix` of `bucket`.
#[derive(Clone)]
pub struct TempCredential {
    pub secret: String,
    pub token: String,
    pub expires: OffsetDateTime,
    pub bucket: String,
    pub prefix: String,
}

impl std::fmt::Debug for TempCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the token.
        f.debug_struct("TempCredential")
            .field("expires", &self.expires)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Counts of successful operations, by OSS operation name (what tests look at).
#[derive(Default)]
pub struct Stats(Mutex<BTreeMap<String, u64>>);

impl Stats {
    fn bump(&self, op: &str) {
        *self.0.lock().unwrap().entry(op.to_string()).or_default() += 1;
    }

    pub fn get(&self, op: &str) -> u64 {
        self.0.lock().unwrap().get(op).copied().unwrap_or(0)
    }
}

pub struct Store {
    config: Config,
    disk: Disk,
    keys: HashMap<String, String>,
    temp: Mutex<HashMap<String, TempCredential>>,
    signer: callback::Signer,
    http: reqwest::Client,
    pub stats: Stats,
    /// `http://host:port`, known once bound.
    base_url: Mutex<String>,
}

impl Store {
    pub fn add_temp_credential(&self, access_key_id: String, c: TempCredential) {
        self.temp.lock().unwrap().insert(access_key_id, c);
    }

    /// An object's description and bytes, straight from disk (for tests and tools).
    pub async fn read_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> std::io::Result<Option<(ObjectMeta, Vec<u8>)>> {
        self.disk.get(bucket, key).await
    }

    /// Stores an object directly, as if some client had uploaded it (test fixtures).
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        data: &[u8],
    ) -> std::io::Result<ObjectMeta> {
        let meta = ObjectMeta {
            key: key.to_string(),
            size: data.len() as u64,
            etag: disk::md5_etag(data).0,
            content_type: content_type.to_string(),
            crc64: disk::CRC64.checksum(data),
            content_md5: None,
            appendable: false,
            last_modified: OffsetDateTime::now_utc(),
        };
        self.disk.put(bucket, &meta, data).await?;
        Ok(meta)
    }

    /// Drops an upload as a lifecycle rule would (tests of "storage forgot it").
    pub async fn forget_upload(&self, bucket: &str, upload_id: &str) -> std::io::Result<()> {
        self.disk.abort(bucket, upload_id).await
    }

    pub fn key_url(&self) -> String {
        format!("{}{KEY_PATH}", self.base_url.lock().unwrap())
    }

    fn secret_for(
        &self,
        claimed: &sign::Claimed,
        key: &str,
        bucket: &str,
    ) -> Result<String, OssError> {
        if let Some(s) = self.keys.get(&claimed.access_key_id) {
            return Ok(s.clone());
        }
        let temp = self
            .temp
            .lock()
            .unwrap()
            .get(&claimed.access_key_id)
            .cloned();
        let Some(t) = temp else {
            return Err(OssError::new(
                403,
                "InvalidAccessKeyId",
                "The OSS Access Key Id you provided does not exist in our records.",
            )
            .with("OSSAccessKeyId", claimed.access_key_id.clone()));
        };
        let token_ok = claimed
            .security_token
            .as_deref()
            .is_some_and(|tok| bool::from(tok.as_bytes().ct_eq(t.token.as_bytes())));
        if !token_ok {
            return Err(OssError::new(
                403,
                "InvalidSecurityToken",
                "The security token you provided is invalid.",
            ));
        }
        if t.expires < OffsetDateTime::now_utc() {
            return Err(OssError::new(
                403,
                "SecurityTokenExpired",
                "The security token you provided has expired.",
            ));
        }
        if t.bucket != bucket || key.is_empty() || !key.starts_with(&t.prefix) {
            return Err(OssError::new(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl or policy.",
            ));
        }
        Ok(t.secret)
    }
}

pub struct Running {
    pub port: u16,
    pub store: Arc<Store>,
    pub server: actix_web::dev::Server,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Binds and returns the server (not yet polled: spawn or await `server`).
pub async fn start(config: Config) -> std::io::Result<Running> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let disk = Disk::new(config.data_dir.clone());
    for b in &config.buckets {
        disk.ensure_bucket(b).await?;
    }
    let signer = callback::Signer::from_pem(config.callback_key_pem.as_deref())
        .map_err(std::io::Error::other)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)?;
    let store = Arc::new(Store {
        keys: config.access_keys.iter().cloned().collect(),
        disk,
        temp: Mutex::default(),
        signer,
        http,
        stats: Stats::default(),
        base_url: Mutex::new(String::new()),
        config: config.clone(),
    });
    let data = web::Data::from(store.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .default_service(web::to(handle))
    })
    .workers(2)
    .bind(config.listen)?;
    let port = server.addrs()[0].port();
    *store.base_url.lock().unwrap() = format!("http://{}:{port}", config.listen.ip());
    Ok(Running {
        port,
        store,
        server: server.run(),
    })
}

/// The request as the signature sees it, plus what the handlers need.
#[derive(Clone)]
struct Parsed {
    method: String,
    bucket: String,
    key: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Parsed {
    fn from(req: &HttpRequest) -> Result<Parsed, OssError> {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| {
                    OssError::new(
                        400,
                        "InvalidArgument",
                        "the URL is not valid UTF-8 once decoded",
                    )
                })
        };
        let path = req.uri().path();
        let rest = path.strip_prefix('/').unwrap_or(path);
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let mut query = Vec::new();
        for pair in req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            query.push((decode(k)?, decode(v)?));
        }
        let headers = req
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().ok()?.to_string(),
                ))
            })
            .collect();
        Ok(Parsed {
            method: req.method().as_str().to_string(),
            bucket: decode(bucket)?,
            key: decode(key)?,
            query,
            headers,
        })
    }

    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            bucket: &self.bucket,
            key: &self.key,
            query: &self.query,
            headers: &self.headers,
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.param(name).is_some()
    }
}

fn cors(mut resp: HttpResponse, request_id: &str) -> HttpResponse {
    let h = resp.headers_mut();
    let set = |h: &mut actix_web::http::header::HeaderMap, k: &'static str, v: &str| {
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(v) {
            h.insert(actix_web::http::header::HeaderName::from_static(k), v);
        }
    };
    set(h, "access-control-allow-origin", "*");
    set(
        h,
        "access-control-expose-headers",
        "ETag, x-oss-request-id, x-oss-next-append-position, x-oss-hash-crc64ecma",
    );
    set(h, "x-oss-request-id", request_id);
    resp
}

async fn handle(req: HttpRequest, body: web::Bytes, store: web::Data<Store>) -> HttpResponse {
    let request_id = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    let resp = match route(&req, &body, &store, &request_id).await {
        Ok(r) => r,
        Err(e) => e.response(&request_id),
    };
    cors(resp, &request_id)
}

async fn route(
    req: &HttpRequest,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, OssError> {
    let p = Parsed::from(req)?;
    if req.method() == Method::OPTIONS {
        return Ok(preflight(req));
    }
    if req.method() == Method::GET && req.path() == KEY_PATH {
        return Ok(HttpResponse::Ok()
            .insert_header(("content-type", "application/x-pem-file"))
            .body(store.signer.public_pem.clone()));
    }
    if req.path() == STS_PATH {
        return Ok(assume_role(&p, body, store));
    }
    if p.bucket.is_empty() {
        return Err(OssError::new(
            400,
            "InvalidArgument",
            "path-style requests only: /<bucket>/<key>",
        ));
    }
    if !store.config.buckets.contains(&p.bucket) {
        return Err(
            OssError::new(404, "NoSuchBucket", "The specified bucket does not exist.")
                .with("BucketName", p.bucket.clone()),
        );
    }
    let is_form = p
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data"));
    if p.method == "POST" && p.key.is_empty() && is_form {
        let resp = post_object(&p, body, store, rid).await?;
        store.stats.bump("PostObject");
        return Ok(resp);
    }
    authenticate(&p, store)?;
    let op = operation(&p)?;
    let resp = match op {
        "PutObject" => put_object(&p, body, store, rid).await,
        "AppendObject" => append_object(&p, body, store).await,
        "GetObject" | "HeadObject" => get_object(&p, store).await,
        "DeleteObject" => {
            store
                .disk
                .delete(&p.bucket, &p.key)
                .await
                .map_err(io_error)?;
            Ok(HttpResponse::NoContent().finish())
        }
        "InitiateMultipartUpload" => initiate(&p, store).await,
        "UploadPart" => upload_part(&p, body, store).await,
        "ListParts" => list_parts(&p, store).await,
        "CompleteMultipartUpload" => complete(&p, body, store, rid).await,
        "AbortMultipartUpload" => {
            let u = upload_of(&p, store).await?;
            store
                .disk
                .abort(&p.bucket, &u.upload_id)
                .await
                .map_err(io_error)?;
            Ok(HttpResponse::NoContent().finish())
        }
        "ListMultipartUploads" => list_uploads(&p, store).await,
        _ => Err(OssError::new(
            405,
            "MethodNotAllowed",
            "not supported by oss-local",
        )),
    }?;
    store.stats.bump(op);
    tracing::info!(op, bucket = %p.bucket, status = resp.status().as_u16(), "request");
    Ok(resp)
}

fn preflight(req: &HttpRequest) -> HttpResponse {
    let asked = req
        .headers()
        .get("access-control-request-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*")
        .to_string();
    HttpResponse::Ok()
        .insert_header((
            "access-control-allow-methods",
            "GET, PUT, POST, DELETE, HEAD",
        ))
        .insert_header(("access-control-allow-headers", asked))
        .insert_header(("access-control-max-age", "600"))
        .finish()
}

fn operation(p: &Parsed) -> Result<&'static str, OssError> {
    let object = !p.key.is_empty();
    Ok(match (p.method.as_str(), object) {
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
        _ => {
            return Err(OssError::new(
                405,
                "MethodNotAllowed",
                "this operation is not supported by oss-local",
            ));
        }
    })
}

fn authenticate(p: &Parsed, store: &Store) -> Result<(), OssError> {
    let signed = p.signed();
    let claimed = match sign::claimed(&signed) {
        Ok(c) => c,
        Err(SignError::Anonymous) => {
            return Err(OssError::new(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl.",
            ));
        }
        Err(e) => return Err(OssError::new(400, "InvalidArgument", e.to_string())),
    };
    let secret = store.secret_for(&claimed, &p.key, &p.bucket)?;
    match sign::verify(
        &signed,
        &claimed,
        &secret,
        &store.config.region,
        OffsetDateTime::now_utc(),
    ) {
        Ok(()) => Ok(()),
        Err(SignError::Expired) => Err(OssError::new(403, "AccessDenied", "Request has expired.")),
        Err(SignError::Skewed) => Err(OssError::new(
            403,
            "RequestTimeTooSkewed",
            SignError::Skewed.to_string(),
        )),
        Err(SignError::Mismatch {
            string_to_sign,
            canonical_request,
        }) => {
            let mut e = OssError::new(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )
            .with("OSSAccessKeyId", claimed.access_key_id.clone())
            .with("StringToSign", string_to_sign.clone())
            .with("StringToSignBytes", hex_spaced(string_to_sign.as_bytes()));
            if let Some(c) = canonical_request {
                e = e.with("CanonicalRequest", c);
            }
            Err(e)
        }
        Err(e) => Err(OssError::new(400, "InvalidArgument", e.to_string())),
    }
}

fn hex_spaced(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn io_error(e: std::io::Error) -> OssError {
    tracing::error!(error = %e, "disk");
    OssError::new(
        500,
        "InternalError",
        "the local store could not read or write its data",
    )
}

fn etag_header(etag: &str) -> (&'static str, String) {
    ("etag", format!("\"{etag}\""))
}

/// The callback the request carries (query parameter or header), decoded.
fn callback_of(p: &Parsed) -> Result<Option<callback::Spec>, OssError> {
    let cb = p.param("callback").or_else(|| p.header("x-oss-callback"));
    let vars = p
        .param("callback-var")
        .or_else(|| p.header("x-oss-callback-var"));
    cb.map(|c| callback::parse(c, vars).map_err(|m| OssError::new(400, "InvalidArgument", m)))
        .transpose()
}

/// Runs the callback after a stored upload; its JSON answer goes to the uploader, a failure
/// is a 203 with the object kept.
async fn finish_upload(
    store: &Store,
    p: &Parsed,
    spec: Option<callback::Spec>,
    meta: &ObjectMeta,
    rid: &str,
    ok: HttpResponse,
) -> HttpResponse {
    let Some(spec) = spec else { return ok };
    let body = callback::fill(&spec, &p.bucket, meta, "127.0.0.1", rid);
    match callback::send(&store.http, &store.signer, &store.key_url(), &spec, body).await {
        callback::Outcome::Answered(json) => {
            store.stats.bump("CallbackSucceeded");
            HttpResponse::Ok()
                .insert_header(("content-type", "application/json"))
                .insert_header(etag_header(&meta.etag))
                .body(json)
        }
        callback::Outcome::Failed(why) => {
            store.stats.bump("CallbackFailed");
            tracing::warn!(why, "callback failed");
            let mut r = OssError::new(203, "CallbackFailed", format!("Error status : -1. {why}"))
                .response(rid);
            if let Ok(v) =
                actix_web::http::header::HeaderValue::from_str(&format!("\"{}\"", meta.etag))
            {
                r.headers_mut().insert(actix_web::http::header::ETAG, v);
            }
            r
        }
    }
}

fn check_md5(p: &Parsed, data: &[u8]) -> Result<Option<String>, OssError> {
    use base64::Engine;
    let Some(given) = p.header("content-md5") else {
        return Ok(None);
    };
    let actual = base64::engine::general_purpose::STANDARD.encode(disk::md5_etag(data).1);
    if given != actual {
        return Err(OssError::new(
            400,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        ));
    }
    Ok(Some(actual))
}

async fn put_object(
    p: &Parsed,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, OssError> {
    let spec = callback_of(p)?;
    let content_md5 = check_md5(p, body)?;
    let meta = ObjectMeta {
        key: p.key.clone(),
        size: body.len() as u64,
        etag: disk::md5_etag(body).0,
        content_type: p
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string(),
        crc64: disk::CRC64.checksum(body),
        content_md5,
        appendable: false,
        last_modified: OffsetDateTime::now_utc(),
    };
    store
        .disk
        .put(&p.bucket, &meta, body)
        .await
        .map_err(io_error)?;
    let ok = HttpResponse::Ok()
        .insert_header(etag_header(&meta.etag))
        .insert_header(("x-oss-hash-crc64ecma", meta.crc64.to_string()))
        .finish();
    Ok(finish_upload(store, p, spec, &meta, rid, ok).await)
}

async fn append_object(p: &Parsed, body: &[u8], store: &Store) -> Result<HttpResponse, OssError> {
    let position: u64 = p
        .param("position")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| OssError::new(400, "InvalidArgument", "position is required"))?;
    let existing = store.disk.get(&p.bucket, &p.key).await.map_err(io_error)?;
    let (mut data, content_type) = match existing {
        Some((m, _)) if !m.appendable => {
            return Err(OssError::new(
                409,
                "ObjectNotAppendable",
                "The object is not appendable.",
            ));
        }
        Some((m, d)) => (d, m.content_type),
        None => (
            Vec::new(),
            p.header("content-type")
                .unwrap_or("application/octet-stream")
                .to_string(),
        ),
    };
    if position != data.len() as u64 {
        let mut r = OssError::new(
            409,
            "PositionNotEqualToLength",
            "Position is not equal to file length.",
        )
        .response("");
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&data.len().to_string()) {
            r.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("x-oss-next-append-position"),
                v,
            );
        }
        return Ok(r);
    }
    check_md5(p, body)?;
    data.extend_from_slice(body);
    let meta = ObjectMeta {
        key: p.key.clone(),
        size: data.len() as u64,
        etag: disk::md5_etag(&data).0,
        content_type,
        crc64: disk::CRC64.checksum(&data),
        content_md5: None,
        appendable: true,
        last_modified: OffsetDateTime::now_utc(),
    };
    store
        .disk
        .put(&p.bucket, &meta, &data)
        .await
        .map_err(io_error)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag_header(&meta.etag))
        .insert_header(("x-oss-next-append-position", meta.size.to_string()))
        .insert_header(("x-oss-hash-crc64ecma", meta.crc64.to_string()))
        .finish())
}

async fn get_object(p: &Parsed, store: &Store) -> Result<HttpResponse, OssError> {
    let Some((meta, data)) = store.disk.get(&p.bucket, &p.key).await.map_err(io_error)? else {
        return Err(
            OssError::new(404, "NoSuchKey", "The specified key does not exist.")
                .with("Key", p.key.clone()),
        );
    };
    let (mut resp, data) = match p.header("range").filter(|_| p.method == "GET") {
        Some(range) => ranged(range, data)?,
        None => (HttpResponse::Ok(), data),
    };
    if let Some(d) = p.param("response-content-disposition") {
        resp.insert_header(("content-disposition", d.to_string()));
    }
    Ok(resp
        .insert_header(("content-type", meta.content_type.clone()))
        .insert_header(etag_header(&meta.etag))
        .insert_header(("x-oss-hash-crc64ecma", meta.crc64.to_string()))
        .insert_header((
            "x-oss-object-type",
            if meta.appendable {
                "Appendable"
            } else if meta.etag.contains('-') {
                "Multipart"
            } else {
                "Normal"
            },
        ))
        .insert_header(("last-modified", xml::http_date(meta.last_modified)))
        .body(data))
}

/// A single `bytes=a-b` (or `a-`) range, as OSS serves it: 206 with the slice, 416 when it
/// starts past the end; other range forms are ignored (the whole object, 200).
fn ranged(
    range: &str,
    data: Vec<u8>,
) -> Result<(actix_web::HttpResponseBuilder, Vec<u8>), OssError> {
    let len = data.len() as u64;
    let parsed = range.strip_prefix("bytes=").and_then(|r| {
        let (a, b) = r.split_once('-')?;
        let a: u64 = a.parse().ok()?;
        let b: u64 = if b.is_empty() {
            u64::MAX
        } else {
            b.parse().ok()?
        };
        (a <= b).then_some((a, b))
    });
    let Some((a, b)) = parsed else {
        return Ok((HttpResponse::Ok(), data));
    };
    if a >= len {
        return Err(OssError::new(
            416,
            "InvalidRange",
            "The requested range cannot be satisfied.",
        ));
    }
    let end = b.min(len - 1);
    let mut resp = HttpResponse::PartialContent();
    resp.insert_header(("content-range", format!("bytes {a}-{end}/{len}")));
    Ok((resp, data[a as usize..=end as usize].to_vec()))
}

async fn initiate(p: &Parsed, store: &Store) -> Result<HttpResponse, OssError> {
    let ct = p
        .header("content-type")
        .unwrap_or("application/octet-stream");
    let u = store
        .disk
        .initiate(&p.bucket, &p.key, ct)
        .await
        .map_err(io_error)?;
    Ok(xml::document(
        "InitiateMultipartUploadResult",
        &xml::elements(&[
            ("Bucket", &p.bucket),
            ("Key", &u.key),
            ("UploadId", &u.upload_id),
        ]),
    ))
}

async fn upload_of(p: &Parsed, store: &Store) -> Result<disk::UploadMeta, OssError> {
    let id = p.param("uploadId").unwrap_or("");
    store
        .disk
        .upload(&p.bucket, &p.key, id)
        .await
        .map_err(io_error)?
        .ok_or_else(|| {
            OssError::new(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
                .with("UploadId", id.to_string())
        })
}

async fn upload_part(p: &Parsed, body: &[u8], store: &Store) -> Result<HttpResponse, OssError> {
    let number: u32 = p
        .param("partNumber")
        .and_then(|s| s.parse().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            OssError::new(
                400,
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive.",
            )
        })?;
    let u = upload_of(p, store).await?;
    check_md5(p, body)?;
    let part = store
        .disk
        .put_part(&p.bucket, &u.upload_id, number, body)
        .await
        .map_err(io_error)?;
    Ok(HttpResponse::Ok()
        .insert_header(etag_header(&part.etag))
        .insert_header(("x-oss-hash-crc64ecma", part.crc64.to_string()))
        .finish())
}

async fn list_parts(p: &Parsed, store: &Store) -> Result<HttpResponse, OssError> {
    let u = upload_of(p, store).await?;
    let marker: u32 = p
        .param("part-number-marker")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let max: usize = p
        .param("max-parts")
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_LIST)
        .clamp(1, MAX_LIST);
    let parts: Vec<_> = store
        .disk
        .parts(&p.bucket, &u.upload_id)
        .await
        .map_err(io_error)?
        .into_iter()
        .filter(|x| x.number > marker)
        .collect();
    let truncated = parts.len() > max;
    let page = &parts[..parts.len().min(max)];
    let next = page.last().map(|x| x.number).unwrap_or(marker);
    let mut inner = xml::elements(&[
        ("Bucket", &p.bucket),
        ("Key", &u.key),
        ("UploadId", &u.upload_id),
        ("PartNumberMarker", &marker.to_string()),
        ("NextPartNumberMarker", &next.to_string()),
        ("MaxParts", &max.to_string()),
        ("IsTruncated", if truncated { "true" } else { "false" }),
    ]);
    for x in page {
        inner.push_str("<Part>");
        inner.push_str(&xml::elements(&[
            ("PartNumber", &x.number.to_string()),
            ("LastModified", &xml::iso(x.last_modified)),
            ("ETag", &format!("\"{}\"", x.etag)),
            ("HashCrc64ecma", &x.crc64.to_string()),
            ("Size", &x.size.to_string()),
        ]));
        inner.push_str("</Part>");
    }
    Ok(xml::document("ListPartsResult", &inner))
}

async fn complete(
    p: &Parsed,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, OssError> {
    let spec = callback_of(p)?;
    let u = upload_of(p, store).await?;
    let listed = xml::complete_parts(body).map_err(|m| OssError::new(400, "MalformedXML", m))?;
    let (meta, _) = store.disk.complete(&p.bucket, &u, &listed).await.map_err(|e| match e {
        CompleteError::NoSuchUpload => OssError::new(404, "NoSuchUpload", "The specified upload does not exist."),
        CompleteError::InvalidPart(n) => OssError::new(400, "InvalidPart", "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.")
            .with("PartNumber", n.to_string()),
        CompleteError::InvalidPartOrder => OssError::new(400, "InvalidPartOrder", "The list of parts was not in ascending order. Parts list must be specified in order by part number."),
        CompleteError::EntityTooSmall(n) => OssError::new(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.")
            .with("PartNumber", n.to_string()),
        CompleteError::Io(e) => io_error(e),
    })?;
    let location = format!("{}/{}/{}", store.base_url.lock().unwrap(), p.bucket, p.key);
    let ok = xml::document(
        "CompleteMultipartUploadResult",
        &xml::elements(&[
            ("Location", &location),
            ("Bucket", &p.bucket),
            ("Key", &meta.key),
            ("ETag", &format!("\"{}\"", meta.etag)),
        ]),
    );
    let mut resp = finish_upload(store, p, spec, &meta, rid, ok).await;
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&meta.crc64.to_string()) {
        resp.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-oss-hash-crc64ecma"),
            v,
        );
    }
    Ok(resp)
}

async fn list_uploads(p: &Parsed, store: &Store) -> Result<HttpResponse, OssError> {
    let prefix = p.param("prefix").unwrap_or("");
    let key_marker = p.param("key-marker").unwrap_or("");
    let id_marker = p.param("upload-id-marker").unwrap_or("");
    let max: usize = p
        .param("max-uploads")
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_LIST)
        .clamp(1, MAX_LIST);
    let all: Vec<_> = store
        .disk
        .uploads_in(&p.bucket)
        .await
        .map_err(io_error)?
        .into_iter()
        .filter(|u| u.key.starts_with(prefix))
        .filter(|u| match (key_marker, id_marker) {
            ("", _) => true,
            (k, "") => u.key.as_str() > k,
            (k, i) => (u.key.as_str(), u.upload_id.as_str()) > (k, i),
        })
        .collect();
    let truncated = all.len() > max;
    let page = &all[..all.len().min(max)];
    let (nk, nu) = page
        .last()
        .map(|u| (u.key.as_str(), u.upload_id.as_str()))
        .unwrap_or(("", ""));
    let mut inner = xml::elements(&[
        ("Bucket", &p.bucket),
        ("KeyMarker", key_marker),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", nk),
        ("NextUploadIdMarker", nu),
        ("Delimiter", ""),
        ("Prefix", prefix),
        ("MaxUploads", &max.to_string()),
        ("IsTruncated", if truncated { "true" } else { "false" }),
    ]);
    for u in page {
        inner.push_str("<Upload>");
        inner.push_str(&xml::elements(&[
            ("Key", &u.key),
            ("UploadId", &u.upload_id),
            ("Initiated", &xml::iso(u.initiated)),
        ]));
        inner.push_str("</Upload>");
    }
    Ok(xml::document("ListMultipartUploadsResult", &inner))
}

/// STS AssumeRole: parameters in the query or a form body, answered in STS's JSON.
fn assume_role(p: &Parsed, body: &[u8], store: &Store) -> HttpResponse {
    let mut params = p.query.clone();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let secret_of = |ak: &str| store.keys.get(ak).cloned();
    match sts::assume_role(&p.method, &params, secret_of, OffsetDateTime::now_utc()) {
        Ok(issued) => {
            let c = &issued.credential;
            let body = serde_json::json!({
                "RequestId": request_id,
                "AssumedRoleUser": {
                    "Arn": "acs:ram::0:role/oss-local",
                    "AssumedRoleId": format!("0:{}", issued.access_key_id),
                },
                "Credentials": {
                    "AccessKeyId": issued.access_key_id,
                    "AccessKeySecret": c.secret,
                    "SecurityToken": c.token,
                    "Expiration": c.expires.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                },
            });
            store.stats.bump("AssumeRole");
            store.add_temp_credential(issued.access_key_id.clone(), issued.credential);
            HttpResponse::Ok().json(body)
        }
        Err(e) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(e.status)
                .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
        )
        .json(serde_json::json!({
            "RequestId": request_id,
            "HostId": "oss-local",
            "Code": e.code,
            "Message": e.message,
        })),
    }
}

async fn post_object(
    p: &Parsed,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, OssError> {
    let ct = p.header("content-type").unwrap_or_default();
    let form = post::parse(ct, body.to_vec())
        .await
        .map_err(|m| OssError::new(400, "MalformedPOSTRequest", m))?;
    let auth = match post::auth_of(&form) {
        Ok(a) => a,
        Err(post::PolicyError::Anonymous) => {
            return Err(OssError::new(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl.",
            ));
        }
        Err(e) => return Err(policy_error(e)),
    };
    let claimed = sign::Claimed {
        access_key_id: auth.access_key_id.clone(),
        security_token: auth.security_token.clone(),
        form: sign::SignatureForm::V1Query,
    };
    let raw_key = form.field("key").unwrap_or_default().to_string();
    let secret = store.secret_for(&claimed, &raw_key, &p.bucket)?;
    let key = post::check(
        &form,
        &auth,
        &secret,
        &p.bucket,
        &store.config.region,
        OffsetDateTime::now_utc(),
    )
    .map_err(policy_error)?;
    // `${filename}` may have changed the key: a temporary credential must still cover it.
    store.secret_for(&claimed, &key, &p.bucket)?;
    let vars: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with("x:"))
        .cloned()
        .collect();
    let spec = form
        .field("callback")
        .map(|c| {
            callback::parse_with_vars(c, vars).map_err(|m| OssError::new(400, "InvalidArgument", m))
        })
        .transpose()?;
    let content_type = form
        .field("Content-Type")
        .map(String::from)
        .or(form.file_type.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    let meta = ObjectMeta {
        key: key.clone(),
        size: form.file.len() as u64,
        etag: disk::md5_etag(&form.file).0,
        content_type,
        crc64: disk::CRC64.checksum(&form.file),
        content_md5: None,
        appendable: false,
        last_modified: OffsetDateTime::now_utc(),
    };
    store
        .disk
        .put(&p.bucket, &meta, &form.file)
        .await
        .map_err(io_error)?;
    let status = match form.field("success_action_status") {
        Some("200") => 200,
        Some("201") => 201,
        _ => 204,
    };
    let mut ok = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("valid"));
    ok.insert_header(etag_header(&meta.etag));
    let ok = if status == 201 {
        ok.insert_header(("content-type", "application/xml"))
            .body(format!(
                "{}\n<PostResponse>{}</PostResponse>\n",
                xml::DECL,
                xml::elements(&[
                    ("Bucket", &p.bucket),
                    ("Key", &key),
                    ("ETag", &format!("\"{}\"", meta.etag))
                ])
            ))
    } else {
        ok.finish()
    };
    let pp = Parsed { key, ..p.clone() };
    Ok(finish_upload(store, &pp, spec, &meta, rid, ok).await)
}

fn policy_error(e: post::PolicyError) -> OssError {
    match e {
        post::PolicyError::Anonymous => {
            OssError::new(403, "AccessDenied", "anonymous access is not allowed")
        }
        post::PolicyError::Mismatch => OssError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
        post::PolicyError::Expired => OssError::new(
            403,
            "AccessDenied",
            "Invalid according to Policy: Policy expired.",
        ),
        post::PolicyError::Condition(m) => OssError::new(403, "AccessDenied", m),
        post::PolicyError::Invalid(m) => OssError::new(400, "InvalidPolicyDocument", m),
    }
}
