//! What the services hand to a provider and what they get back: provider-neutral requests
//! and answers.

use crate::config::CallbackBodyType;
use crate::domain::CallbackVars;
use time::OffsetDateTime;

/// What a signed URL lets the client do.
#[derive(Debug, Clone)]
pub enum ObjectOp {
    Put,
    /// HeadObject, which the gateway itself sends to check an upload.
    Head,
    /// Append at `position` (AppendObject).
    Append {
        position: u64,
    },
    UploadPart {
        upload_id: String,
        part_number: u32,
    },
}

/// The callback a right carries: the variables (upload id and ticket first) and how the app
/// wants the body.
#[derive(Debug, Clone)]
pub struct CallbackRequest {
    pub body_type: CallbackBodyType,
    /// The profile may receive images, so image facts are worth asking for where the vendor
    /// offers them.
    pub may_be_image: bool,
    pub vars: CallbackVars,
}

/// The long-lived or temporary key pair a request is signed with.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
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
    /// The gateway's binding of the object to this upload, for vendors that store it with
    /// the object and show it on HeadObject (COS: a signed `x-cos-meta-*` header).
    pub binding: Option<&'a str>,
    pub now: OffsetDateTime,
    pub expires_in: u64,
}

/// A URL plus exactly the headers the client must send with it.
pub struct SignedUrl {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: OffsetDateTime,
}

/// A presigned GET of one stored object (the owner's download).
pub struct DownloadRequest<'a> {
    pub key: &'a str,
    /// The whole `Content-Disposition` value storage should answer with.
    pub content_disposition: Option<&'a str>,
    pub now: OffsetDateTime,
    pub expires_in: u64,
}

/// What storage says about a stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectMeta {
    pub size: u64,
    /// Normalised by the adapter (no quotes, the vendor's case), so callers compare as is.
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub crc64: Option<String>,
    /// The binding stored with the object ([`UrlRequest::binding`]), where the vendor keeps one.
    pub binding: Option<String>,
}

pub struct FormRequest<'a> {
    pub key: &'a str,
    /// Let the client choose any name under `key` (then a prefix).
    pub key_is_prefix: bool,
    pub content_type: FormContentType<'a>,
    pub min_size: u64,
    pub max_size: u64,
    pub callback: Option<&'a CallbackRequest>,
    /// As [`UrlRequest::binding`]: a field the form must carry.
    pub binding: Option<&'a str>,
    pub credentials: Option<Credentials<'a>>,
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

/// A form for clients built like Alibaba's app-server samples: any name under `dir`, no
/// Content-Type field, no `x:` fields (the callback carries its variables itself).
pub struct AppServerFormRequest<'a> {
    pub dir: &'a str,
    pub min_size: u64,
    pub max_size: u64,
    pub callback: Option<&'a CallbackRequest>,
    pub now: OffsetDateTime,
    pub expires_in: u64,
}

/// The pieces of Alibaba's app-server answer (`{accessid, host, policy, signature, expire,
/// callback, dir}`).
pub struct AppServerForm {
    pub access_id: String,
    pub host: String,
    pub policy: String,
    pub signature: String,
    pub expires_at: OffsetDateTime,
    /// Base64 callback parameter, empty without a callback.
    pub callback: String,
    pub dir: String,
}

/// Temporary credentials scoped to one prefix of one bucket.
pub struct ScopedCredentials {
    pub access_key_id: String,
    pub access_key_secret: secrecy::SecretString,
    pub security_token: secrecy::SecretString,
    pub expiration: OffsetDateTime,
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

/// A page of [`MultipartApi::list_uploads`](super::MultipartApi::list_uploads) and where the
/// next starts.
pub struct InProgressPage {
    pub uploads: Vec<InProgress>,
    pub next: Option<(String, String)>,
}

/// What CompleteMultipartUpload answered once the object exists.
#[derive(Debug, Default)]
pub struct Completed {
    /// The app's callback answer, where the vendor relays it to the caller (OSS does; none
    /// when the callback failed or there was none).
    pub relayed_answer: Option<serde_json::Value>,
}

/// Storage's limits on multipart uploads.
#[derive(Debug, Clone, Copy)]
pub struct PartLimits {
    /// Parts other than the last must be at least this large.
    pub min_part: u64,
    pub max_part: u64,
    pub max_parts: u32,
}

/// A callback request as it arrived, before anything is parsed.
pub struct RawCallback<'a> {
    /// Path and query exactly as on the request line.
    pub request_target: &'a str,
    /// Header names in lower case.
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
}

impl RawCallback<'_> {
    /// The header's value; `name` in lower case. A repeated header is not accepted.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(k, _)| *k == name);
        match (found.next(), found.next()) {
            (Some((_, v)), None) => Some(v),
            _ => None,
        }
    }
}

/// Why a callback was not proven genuine. Verifiers say no more than this; the HTTP answer
/// is chosen in `error.rs`.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("{0}")]
    Malformed(&'static str),
    #[error("{0}")]
    BadBody(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the public key URL is not on the allow-list")]
    KeyUrlRejected,
    /// Detail for the log only.
    #[error("the public key could not be obtained: {0}")]
    KeyUnavailable(String),
    #[error("the signature does not match the request")]
    BadSignature,
}
