//! Storage providers. Each vendor module turns a provider-neutral request ("let this user put
//! this object") into that vendor's signed URL, form or temporary credentials. Signers are
//! pure functions with the clock passed in; the [`Provider`] trait is what routes see.

pub mod encoding;
pub mod oss;
pub mod s3;

use crate::config::{BucketSettings, ProviderKind, Settings};
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a signed URL lets the client do.
#[derive(Debug, Clone)]
pub enum ObjectOp {
    Put,
    /// HeadObject, which the gateway itself sends to check an upload.
    Head,
    /// Append at `position` (OSS AppendObject).
    Append {
        position: u64,
    },
    UploadPart {
        upload_id: String,
        part_number: u32,
    },
}

/// The callback to carry: custom variables (names without `x:`), already including the
/// upload id and ticket.
#[derive(Debug, Clone)]
pub struct CallbackRequest {
    pub body_type: crate::config::CallbackBodyType,
    pub image_info: bool,
    pub vars: Vec<(String, String)>,
}

/// Temporary credentials to sign with instead of the bucket's own keys.
pub struct SigningCredentials<'a> {
    pub access_key_id: &'a str,
    pub access_key_secret: &'a str,
    pub security_token: Option<&'a str>,
}

pub struct UrlRequest<'a> {
    pub op: ObjectOp,
    pub key: &'a str,
    pub content_type: Option<&'a str>,
    pub content_md5: Option<&'a str>,
    /// When set, the URL only works for a body of exactly this many bytes (where the
    /// signature scheme can pin it).
    pub content_length: Option<u64>,
    pub callback: Option<&'a CallbackRequest>,
    pub now: OffsetDateTime,
    pub expires_in: u64,
}

/// A URL plus exactly the headers the client must send with it.
/// What storage says about a stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    pub size: u64,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub crc64: Option<String>,
}

pub struct SignedUrl {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

pub struct FormRequest<'a> {
    pub key: &'a str,
    /// Let the client choose any name under `key` (then a prefix).
    pub key_is_prefix: bool,
    pub content_type: FormContentType<'a>,
    pub min_size: u64,
    pub max_size: u64,
    pub callback: Option<&'a CallbackRequest>,
    pub credentials: Option<SigningCredentials<'a>>,
    pub now: OffsetDateTime,
    pub expires_in: u64,
}

pub enum FormContentType<'a> {
    Exact(&'a str),
    StartsWith(&'a str),
    Any,
}

pub struct SignedForm {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

/// Temporary credentials scoped to one prefix of one bucket.
pub struct ScopedCredentials {
    pub access_key_id: String,
    pub access_key_secret: secrecy::SecretString,
    pub security_token: secrecy::SecretString,
    pub expiration: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{service} did not answer in time")]
    Timeout { service: &'static str },
    /// Storage understood the request and refused it with one of its error codes.
    #[error("{service} refused the request: {code} (HTTP {status})")]
    Refused {
        service: &'static str,
        status: u16,
        code: String,
    },
    #[error("{service} failed: {detail}")]
    Failed {
        service: &'static str,
        /// Metric label: unreachable, refused, bad-response.
        class: &'static str,
        detail: String,
    },
}

impl UpstreamError {
    pub fn class(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Failed { class, .. } => class,
            UpstreamError::Refused { code, status, .. } => match (code.as_str(), status) {
                ("NoSuchUpload", _) => "no-such-upload",
                ("InvalidPart" | "InvalidPartOrder" | "EntityTooSmall", _) => "invalid-parts",
                (_, 401 | 403) => "denied",
                (_, 500..) => "server",
                _ => "rejected",
            },
        }
    }
}

impl From<UpstreamError> for crate::error::ApiError {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::Timeout { service } => crate::error::ApiError::UpstreamTimeout(service),
            UpstreamError::Failed {
                service, detail, ..
            } => crate::error::ApiError::UpstreamFailed { service, detail },
            UpstreamError::Refused {
                service,
                status,
                code,
            } => match code.as_str() {
                "NoSuchUpload" => crate::error::ApiError::StorageUploadGone,
                "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall" => {
                    crate::error::ApiError::PartsRejected(code)
                }
                // Denied, throttled or broken upstream: the client cannot fix it.
                _ => crate::error::ApiError::UpstreamFailed {
                    service,
                    detail: format!("{code} (HTTP {status})"),
                },
            },
        }
    }
}

/// Issues temporary credentials (STS).
pub trait CredentialIssuer: Send + Sync {
    /// `session` names the session in the cloud's audit log (no personal data).
    fn issue<'a>(
        &'a self,
        prefix: &'a str,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>>;
}

/// One configured bucket at one vendor. Small optional capabilities: a vendor without
/// HTML-form uploads or without temporary credentials answers `None`.
pub trait Provider: Send + Sync {
    fn kind(&self) -> &'static str;
    fn settings(&self) -> &BucketSettings;
    /// Endpoint and region as a client SDK wants them.
    fn endpoint(&self) -> String;
    fn presign(&self, req: &UrlRequest<'_>, creds: Option<&SigningCredentials<'_>>) -> SignedUrl;
    /// The object's URL, unsigned (where it lives, for answers such as Uppy's `location`).
    fn object_url(&self, key: &str) -> String;
    /// The encoded callback parameters, for clients that attach them themselves (STS).
    fn callback_params(&self, _cb: &CallbackRequest) -> Option<Vec<(String, String)>> {
        None
    }
    fn supports_append(&self) -> bool {
        false
    }
    fn forms(&self) -> Option<&dyn FormSigner> {
        None
    }
    fn credentials(&self) -> Option<&dyn CredentialIssuer> {
        None
    }
    /// The multipart upload API, where the vendor has one.
    fn multipart(&self) -> Option<&dyn MultipartApi> {
        None
    }
    /// HeadObject with the gateway's own credentials; `None` when there is no such object.
    fn head_object<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObjectMeta>, UpstreamError>>;
}

/// One uploaded part, as storage lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub part_number: u32,
    /// Without quotes.
    pub etag: String,
    pub size: u64,
    pub last_modified: String,
}

/// One in-progress multipart upload, as storage lists it.
#[derive(Debug, Clone)]
pub struct InProgress {
    pub key: String,
    pub storage_upload_id: String,
    pub initiated: Option<OffsetDateTime>,
}

/// A page of [`MultipartApi::list_uploads`] and where the next starts.
pub struct InProgressPage {
    pub uploads: Vec<InProgress>,
    pub next: Option<(String, String)>,
}

/// Signed control calls for multipart uploads, made with the gateway's own credentials.
pub trait MultipartApi: Send + Sync {
    /// Parts other than the last must be at least this large.
    fn min_part_size(&self) -> u64;
    fn max_part_size(&self) -> u64;
    fn initiate<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
    ) -> BoxFuture<'a, Result<String, UpstreamError>>;
    /// Every uploaded part, following pagination to the end.
    fn list_parts<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartInfo>, UpstreamError>>;
    /// CompleteMultipartUpload. `Ok` means the object exists; it carries the callback
    /// server's JSON when storage relayed one (none without a callback, or when it failed:
    /// OSS's 203 CallbackFailed), and the record is then settled by the caller.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [(u32, String)],
        callback: Option<&'a CallbackRequest>,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, UpstreamError>>;
    fn abort<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), UpstreamError>>;
    fn list_uploads<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<(&'a str, &'a str)>,
    ) -> BoxFuture<'a, Result<InProgressPage, UpstreamError>>;
}

pub trait FormSigner: Send + Sync {
    fn sign_form(&self, req: &FormRequest<'_>) -> SignedForm;
}

/// Every configured bucket's provider, by bucket config name.
#[derive(Clone, Default)]
pub struct Providers(BTreeMap<String, Arc<dyn Provider>>);

impl Providers {
    pub fn from_settings(settings: &Settings, http: &reqwest::Client) -> Providers {
        let mut map: BTreeMap<String, Arc<dyn Provider>> = BTreeMap::new();
        for (name, b) in &settings.buckets {
            let p: Arc<dyn Provider> = match b.provider {
                ProviderKind::Oss => Arc::new(oss::OssProvider::new(
                    b.clone(),
                    &settings.callbacks,
                    http.clone(),
                )),
            };
            map.insert(name.clone(), p);
        }
        Providers(map)
    }

    pub fn get(&self, bucket_name: &str) -> Option<&Arc<dyn Provider>> {
        self.0.get(bucket_name)
    }
}
