//! [`S3Provider`]: one S3-compatible bucket behind the provider-neutral [`Provider`] trait.
//! Presigned PUTs sign `host`, the pinned Content-Type and Content-Length and the gateway's
//! binding header [`BINDING_HEADER`], which S3 stores as user metadata and HeadObject shows
//! back; POST policy forms require the same field. Never a checksum: a presigned URL cannot
//! know the bytes (the checksum trap in LOCAL_BACKENDS.md).

use super::location::{S3Location, UrlStyle as S3UrlStyle};
use super::post_policy::{Condition, PostPolicyRequest};
use super::presign::PutHeaders;
use super::types::{BucketName, Credentials as S3Credentials, Expiry, Region, Service};
use super::{Presigned, Signer};
use crate::config::{BucketSettings, ProviderKind, S3Bucket, UrlStyle};
use crate::providers::{
    CredentialIssuer, Credentials, FormContentType, FormRequest, FormSigner, MultipartApi,
    ObjectApi, ObjectMeta, ObjectOp, Provider, SignedForm, SignedUrl, UpstreamError, UrlRequest,
};
use futures_util::future::BoxFuture;
use secrecy::SecretString;
use std::borrow::Cow;
use std::sync::Arc;

/// The `x-amz-meta-*` header carrying the gateway's binding of an object to its upload.
pub const BINDING_HEADER: &str = "x-amz-meta-ugw-binding";

pub struct S3Provider {
    pub(super) bucket: Arc<BucketSettings>,
    pub(super) s3: S3Bucket,
    pub(super) location: S3Location,
    /// The bucket's own key pair, for rights and the gateway's control calls.
    pub(super) signer: Signer,
    /// AssumeRole's signer (service `sts`, the STS region), when the bucket has STS.
    pub(super) sts_signer: Option<Signer>,
    pub(super) http: reqwest::Client,
}

/// SigV4 caps a presigned URL at seven days (profiles are capped there too).
pub(super) fn expiry(secs: u64) -> Expiry {
    Expiry::from_secs(secs.clamp(1, Expiry::MAX_SECS)).expect("clamped into range")
}

impl S3Provider {
    pub fn new(
        bucket: Arc<BucketSettings>,
        s3: &S3Bucket,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let name = BucketName::parse(&bucket.bucket).map_err(|e| e.to_string())?;
        let style = match bucket.url_style {
            UrlStyle::Path => S3UrlStyle::Path,
            UrlStyle::VirtualHosted | UrlStyle::Cname => S3UrlStyle::Virtual,
        };
        let location =
            S3Location::new(&bucket.endpoint, name, style).map_err(|e| format!("endpoint: {e}"))?;
        let region = Region::parse(&bucket.region).map_err(|e| format!("region: {e}"))?;
        let creds = S3Credentials::new(
            &bucket.access_key_id,
            bucket.access_key_secret.clone(),
            None,
        )
        .map_err(|e| format!("access_key_id: {e}"))?;
        let signer = Signer::new(creds, region, Service::S3);
        let sts_signer = match &s3.sts {
            None => None,
            Some(sts) => {
                let region = Region::parse(&sts.region).map_err(|e| format!("sts.region: {e}"))?;
                let creds =
                    S3Credentials::new(&sts.access_key_id, sts.access_key_secret.clone(), None)
                        .map_err(|e| format!("sts.access_key_id: {e}"))?;
                Some(Signer::new(creds, region, Service::Sts))
            }
        };
        Ok(S3Provider {
            bucket,
            s3: s3.clone(),
            location,
            signer,
            sts_signer,
            http,
        })
    }

    /// Runs `f` with the bucket's own signer, or one for the temporary credentials a right
    /// is made with.
    fn with_signer<R>(&self, creds: Option<&Credentials<'_>>, f: impl FnOnce(&Signer) -> R) -> R {
        let Some(c) = creds else {
            return f(&self.signer);
        };
        let token = c.security_token.map(|t| SecretString::from(t.to_string()));
        match S3Credentials::new(
            c.access_key_id,
            SecretString::from(c.access_key_secret.to_string()),
            token,
        ) {
            Ok(creds) => f(&Signer::new(
                creds,
                self.signer.region().clone(),
                Service::S3,
            )),
            Err(e) => {
                tracing::warn!(error = %e, "temporary access key id unusable; signing with the bucket's");
                f(&self.signer)
            }
        }
    }
}

fn signed_url(p: Presigned) -> SignedUrl {
    SignedUrl {
        method: p.method.as_str(),
        url: p.url,
        headers: p.headers,
        expires_at: p.expires_at,
    }
}

// Every input of a presigned URL is checked before it gets here (header names are ours,
// values are validated types, the expiry is clamped), so the signer cannot refuse it.
const SIGNABLE: &str = "presign inputs are validated (fixed header names, clamped expiry)";

impl Provider for S3Provider {
    fn kind(&self) -> &'static str {
        ProviderKind::S3.as_str()
    }

    fn endpoint(&self) -> String {
        self.bucket
            .endpoint
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    fn object_url(&self, key: &str) -> String {
        self.location.url_for_path(&self.location.object_path(key))
    }

    fn presign(&self, req: &UrlRequest<'_>, creds: Option<&Credentials<'_>>) -> SignedUrl {
        let expires = expiry(req.expires_in);
        let loc = &self.location;
        let signed = self.with_signer(creds, |signer| match &req.op {
            ObjectOp::Put | ObjectOp::Append { .. } => {
                // Append never gets here for S3 (`supports_append` is false); a plain PUT is
                // the safe reading of it if it ever did.
                let mut extra: Vec<(&str, &str)> = Vec::with_capacity(2);
                if let Some(md5) = req.content_md5 {
                    extra.push(("Content-MD5", md5));
                }
                if let Some(b) = req.binding {
                    extra.push((BINDING_HEADER, b));
                }
                let h = PutHeaders {
                    content_type: req.content_type,
                    content_length: req.content_length,
                    extra: &extra,
                };
                signer.presign_put(loc, req.key, &h, req.now, expires)
            }
            ObjectOp::UploadPart {
                upload_id,
                part_number,
            } => signer.presign_upload_part(
                loc,
                req.key,
                upload_id,
                *part_number,
                req.content_length,
                req.now,
                expires,
            ),
            ObjectOp::Head => signer.presign(
                loc,
                &super::PresignRequest {
                    method: super::Method::Head,
                    key: req.key,
                    headers: &[],
                    params: &[],
                    now: req.now,
                    expires,
                },
            ),
        });
        signed_url(signed.expect(SIGNABLE))
    }

    fn head_object<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObjectMeta>, UpstreamError>> {
        Box::pin(self.head_meta(key))
    }

    fn binds_uploads(&self) -> bool {
        true
    }

    /// CreateMultipartUpload stores the binding with the upload; S3 gives it to the object.
    fn binds_multipart(&self) -> bool {
        true
    }

    fn forms(&self) -> Option<&dyn FormSigner> {
        Some(self)
    }

    fn credentials(&self) -> Option<&dyn CredentialIssuer> {
        self.s3.sts.as_ref().map(|_| self as &dyn CredentialIssuer)
    }

    fn multipart(&self) -> Option<&dyn MultipartApi> {
        Some(self)
    }

    fn objects(&self) -> Option<&dyn ObjectApi> {
        Some(self)
    }
}

impl FormSigner for S3Provider {
    fn sign_form(&self, req: &FormRequest<'_>) -> SignedForm {
        let key = if req.key_is_prefix {
            Cow::Owned(format!("{}${{filename}}", req.key))
        } else {
            Cow::Borrowed(req.key)
        };
        let mut fields: Vec<(&str, &str)> = Vec::with_capacity(3);
        let mut conditions: Vec<Condition<'_>> = Vec::with_capacity(4);
        match req.content_type {
            FormContentType::Exact(ct) => {
                fields.push(("Content-Type", ct));
                conditions.push(Condition::Eq("Content-Type", ct));
            }
            FormContentType::StartsWith(p) => {
                conditions.push(Condition::StartsWith("Content-Type", p));
            }
            FormContentType::Any => {}
        }
        if let Some(b) = req.binding {
            fields.push((BINDING_HEADER, b));
            conditions.push(Condition::Eq(BINDING_HEADER, b));
        }
        // S3 answers 204 by default; 200 is what the browser harnesses and OSS/COS answer.
        fields.push(("success_action_status", "200"));
        conditions.push(Condition::Eq("success_action_status", "200"));
        conditions.push(Condition::ContentLengthRange(req.min_size, req.max_size));
        let policy = PostPolicyRequest {
            key: &key,
            fields: &fields,
            conditions: &conditions,
            now: req.now,
            expires: expiry(req.expires_in),
        };
        let form = self.with_signer(req.credentials.as_ref(), |signer| {
            signer.post_policy(&self.location, &policy)
        });
        SignedForm {
            url: form.url,
            fields: form.fields,
            expires_at: form.expires_at,
        }
    }
}
