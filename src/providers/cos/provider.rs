//! [`CosProvider`]: one COS bucket behind the provider-neutral [`Provider`] trait. Presigned
//! PUT / UploadPart / AppendObject URLs and PostObject forms sign `host`, the pinned
//! Content-Type and Content-Length, and the gateway's binding header
//! [`BINDING_HEADER`], which COS stores with the object and HeadObject shows back.

use super::bucket::{BucketName, CosLocation};
use super::post_policy::{self, ContentTypeCondition, KeyCondition, PolicyInput};
use super::presign::{self, ControlCall, UploadOp, UploadRequest};
use super::sign::{self, DEFAULT_SKEW_SECS, KeyTime};
use crate::config::{BucketSettings, CosBucket, ProviderKind};
use crate::providers::{
    CredentialIssuer, Credentials, FormContentType, FormRequest, FormSigner, MultipartApi,
    ObjectMeta, ObjectOp, Provider, SignedForm, SignedUrl, UpstreamError, UrlRequest,
};
use futures_util::future::BoxFuture;
use secrecy::ExposeSecret;
use std::sync::Arc;
use time::OffsetDateTime;

/// The `x-cos-meta-*` header carrying the gateway's binding of an object to its upload.
pub const BINDING_HEADER: &str = "x-cos-meta-ugw-binding";
pub(super) const SERVICE: &str = "storage";

pub struct CosProvider {
    pub(super) bucket: Arc<BucketSettings>,
    pub(super) cos: CosBucket,
    pub(super) location: CosLocation,
    pub(super) http: reqwest::Client,
}

pub(super) fn failed(class: &'static str, detail: String) -> UpstreamError {
    UpstreamError::Failed {
        service: SERVICE,
        class,
        detail,
    }
}

impl CosProvider {
    pub fn new(
        bucket: Arc<BucketSettings>,
        cos: &CosBucket,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let name = BucketName::parse(&bucket.bucket).map_err(|e| e.to_string())?;
        let location = CosLocation::with_endpoint(name, &bucket.region, &cos.endpoint_template)
            .map_err(|e| e.to_string())?;
        Ok(CosProvider {
            bucket,
            cos: cos.clone(),
            location,
            http,
        })
    }

    pub(super) fn own_credentials(&self) -> sign::Credentials<'_> {
        sign::Credentials {
            secret_id: &self.bucket.access_key_id,
            secret_key: self.bucket.access_key_secret.expose_secret(),
            security_token: None,
        }
    }

    pub(super) fn location(&self) -> &CosLocation {
        &self.location
    }

    pub(super) fn key_time(now: OffsetDateTime, expires_in: u64) -> KeyTime {
        KeyTime::around(now.unix_timestamp(), expires_in, DEFAULT_SKEW_SECS)
    }
}

fn cos_creds<'a>(c: &Credentials<'a>) -> sign::Credentials<'a> {
    sign::Credentials {
        secret_id: c.access_key_id,
        secret_key: c.access_key_secret,
        security_token: c.security_token,
    }
}

fn header(h: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_string())
}

impl Provider for CosProvider {
    fn kind(&self) -> &'static str {
        ProviderKind::Cos.as_str()
    }

    fn endpoint(&self) -> String {
        self.location.bucket_url().trim_end_matches('/').to_string()
    }

    fn object_url(&self, key: &str) -> String {
        self.location.object_url(key)
    }

    fn presign(&self, req: &UrlRequest<'_>, creds: Option<&Credentials<'_>>) -> SignedUrl {
        let creds = creds
            .map(cos_creds)
            .unwrap_or_else(|| self.own_credentials());
        let key_time = Self::key_time(req.now, req.expires_in);
        let expires_at = OffsetDateTime::from_unix_timestamp(key_time.end).unwrap_or(req.now);
        let op = match &req.op {
            ObjectOp::Put => UploadOp::Put,
            ObjectOp::Append { position } => UploadOp::Append {
                position: *position,
            },
            ObjectOp::UploadPart {
                upload_id,
                part_number,
            } => UploadOp::UploadPart {
                upload_id,
                part_number: *part_number,
            },
            ObjectOp::Head => {
                let signed = presign::authorize(
                    &self.location,
                    creds,
                    ControlCall::Head { key: req.key },
                    &[],
                    key_time,
                );
                return SignedUrl {
                    method: "HEAD",
                    url: signed.url,
                    headers: signed.headers,
                    expires_at,
                };
            }
        };
        let extra: Vec<(&str, &str)> = req
            .binding
            .map(|b| (BINDING_HEADER, b))
            .into_iter()
            .collect();
        let signed = presign::presign_upload(
            &self.location,
            creds,
            &UploadRequest {
                op,
                key: req.key,
                content_type: req.content_type,
                content_md5: req.content_md5,
                content_length: req.content_length,
                extra_headers: &extra,
                key_time,
            },
        );
        SignedUrl {
            method: signed.method,
            url: signed.url,
            headers: signed.headers,
            expires_at,
        }
    }

    fn head_object<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObjectMeta>, UpstreamError>> {
        Box::pin(async move {
            let Some(h) = self.head(key).await? else {
                return Ok(None);
            };
            let size = header(&h, "content-length")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| failed("protocol", "HeadObject without Content-Length".into()))?;
            Ok(Some(ObjectMeta {
                size,
                // COS ETags are lower-case hex; quotes dropped.
                etag: header(&h, "etag").map(|e| e.trim().trim_matches('"').to_ascii_lowercase()),
                content_type: header(&h, "content-type"),
                crc64: header(&h, "x-cos-hash-crc64ecma"),
                binding: header(&h, BINDING_HEADER),
            }))
        })
    }

    fn supports_append(&self) -> bool {
        true
    }

    fn binds_uploads(&self) -> bool {
        true
    }

    /// HEADs the object: an append must start at its length and it must be appendable.
    fn check_append<'a>(
        &'a self,
        key: &'a str,
        position: u64,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let Some(h) = self.head(key).await? else {
                return match position {
                    0 => Ok(()),
                    _ => Err(UpstreamError::AppendPosition { next: Some(0) }),
                };
            };
            if header(&h, "x-cos-object-type").as_deref() != Some("appendable") {
                return Err(UpstreamError::NotAppendable);
            }
            let len = header(&h, "content-length").and_then(|v| v.parse::<u64>().ok());
            if len != Some(position) {
                return Err(UpstreamError::AppendPosition { next: len });
            }
            Ok(())
        })
    }

    fn forms(&self) -> Option<&dyn FormSigner> {
        Some(self)
    }

    fn credentials(&self) -> Option<&dyn CredentialIssuer> {
        self.cos.sts.as_ref().map(|_| self as &dyn CredentialIssuer)
    }

    fn multipart(&self) -> Option<&dyn MultipartApi> {
        Some(self)
    }
}

impl FormSigner for CosProvider {
    fn sign_form(&self, req: &FormRequest<'_>) -> SignedForm {
        let creds = req
            .credentials
            .as_ref()
            .map(cos_creds)
            .unwrap_or_else(|| self.own_credentials());
        let key_time = Self::key_time(req.now, req.expires_in);
        let fields: Vec<(&str, &str)> = req
            .binding
            .map(|b| (BINDING_HEADER, b))
            .into_iter()
            .collect();
        let signed = post_policy::sign(
            &self.location,
            creds,
            &PolicyInput {
                key: if req.key_is_prefix {
                    KeyCondition::StartsWith(req.key)
                } else {
                    KeyCondition::Exact(req.key)
                },
                content_type: match req.content_type {
                    FormContentType::Exact(ct) => ContentTypeCondition::Exact(ct),
                    FormContentType::StartsWith(p) => ContentTypeCondition::StartsWith(p),
                    FormContentType::Any => ContentTypeCondition::Any,
                },
                min_size: req.min_size,
                max_size: req.max_size,
                success_action_status: Some(200),
                fields: &fields,
                key_time,
            },
        );
        SignedForm {
            url: signed.url,
            fields: signed.fields,
            expires_at: OffsetDateTime::from_unix_timestamp(key_time.end).unwrap_or(req.now),
        }
    }
}
