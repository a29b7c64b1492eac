//! Alibaba Cloud OSS (and OSS-compatible stores).

pub mod app_server;
pub mod callback;
pub mod callback_cache;
pub mod callback_params;
pub mod location;
pub mod multipart;
pub mod objects;
pub mod post_policy;
pub mod presign;
pub mod sign_v1;
pub mod sign_v4;
pub mod sts;
#[cfg(test)]
mod vector_tests;

use super::{
    CallbackRequest, CredentialIssuer, Credentials, FormContentType, FormRequest, FormSigner,
    ObjectMeta, ObjectOp, Provider, ScopedCredentials, SignedForm, SignedUrl, UpstreamError,
    UrlRequest,
};
use crate::config::{
    BucketSettings, CallbackBodyType, CallbackSettings, OssBucket, ProviderKind, SignatureVersion,
};
use crate::domain::CallbackVars;
use callback_params::{CallbackSpec, MAX_PARAM_BYTES};
use futures_util::future::BoxFuture;
use location::BucketLocation;
use presign::PresignInput;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

pub struct OssProvider {
    bucket: Arc<BucketSettings>,
    /// The OSS part of `bucket.vendor`, unwrapped once here.
    oss: OssBucket,
    location: BucketLocation,
    callback_url: String,
    callback_host: Option<String>,
    callback_sni: bool,
    http: reqwest::Client,
    /// V4 signing keys of the bucket's own secret, one derivation a day.
    own_v4_keys: sign_v4::SigningKeyCache,
    callbacks: callback_cache::CallbackCache,
}

impl OssProvider {
    pub fn new(
        bucket: Arc<BucketSettings>,
        oss: &OssBucket,
        callbacks: &CallbackSettings,
        http: reqwest::Client,
    ) -> Self {
        OssProvider {
            location: BucketLocation::from_settings(&bucket),
            own_v4_keys: sign_v4::SigningKeyCache::new(
                bucket.access_key_secret.expose_secret(),
                &bucket.region,
            ),
            bucket,
            oss: oss.clone(),
            callback_url: callbacks.url.to_string(),
            callback_host: callbacks.callback_host.clone(),
            callback_sni: callbacks.callback_sni,
            http,
            callbacks: callback_cache::CallbackCache::default(),
        }
    }

    fn spec<'a>(&'a self, cb: &'a CallbackRequest, names: &'a [String]) -> CallbackSpec<'a> {
        CallbackSpec {
            url: &self.callback_url,
            host: self.callback_host.as_deref(),
            sni: self.callback_sni,
            body_type: cb.body_type,
            image_info: cb.may_be_image,
            var_names: names,
        }
    }

    /// `callback` and `callback-var`, base64 as OSS takes them.
    fn encoded_callback(&self, cb: &CallbackRequest) -> (String, String) {
        let names = var_names(cb);
        (
            self.callbacks.encoded(&self.spec(cb, &names)).to_string(),
            callback_params::encode_vars(cb.vars.pairs()),
        )
    }

    /// The V4 key source for `creds`: the daily cache for the bucket's own, else derived.
    fn v4_key<'a>(&'a self, creds: Option<&Credentials<'a>>) -> sign_v4::KeySource<'a> {
        match creds {
            Some(c) => sign_v4::KeySource::Secret(c.access_key_secret),
            None => sign_v4::KeySource::Cached(&self.own_v4_keys),
        }
    }

    fn own_credentials(&self) -> Credentials<'_> {
        Credentials {
            access_key_id: &self.bucket.access_key_id,
            access_key_secret: self.bucket.access_key_secret.expose_secret(),
            security_token: None,
        }
    }
}

fn var_names(cb: &CallbackRequest) -> Vec<String> {
    cb.vars.pairs().iter().map(|(k, _)| k.clone()).collect()
}

impl Provider for OssProvider {
    fn kind(&self) -> &'static str {
        ProviderKind::Oss.as_str()
    }

    fn endpoint(&self) -> String {
        self.bucket
            .endpoint
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    fn object_url(&self, key: &str) -> String {
        self.location.object_url(key, true)
    }

    fn presign(&self, req: &UrlRequest<'_>, creds: Option<&Credentials<'_>>) -> SignedUrl {
        let (method, mut params): (&'static str, Vec<(String, String)>) = match &req.op {
            ObjectOp::Put => ("PUT", vec![]),
            ObjectOp::Head => ("HEAD", vec![]),
            ObjectOp::Append { position } => (
                "POST",
                vec![
                    ("append".into(), String::new()),
                    ("position".into(), position.to_string()),
                ],
            ),
            ObjectOp::UploadPart {
                upload_id,
                part_number,
            } => (
                "PUT",
                vec![
                    ("partNumber".into(), part_number.to_string()),
                    ("uploadId".into(), upload_id.clone()),
                ],
            ),
        };
        if let Some(cb) = req.callback {
            let (callback, vars) = self.encoded_callback(cb);
            params.push(("callback".into(), callback));
            params.push(("callback-var".into(), vars));
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(ct) = req.content_type {
            headers.push(("Content-Type".into(), ct.into()));
        }
        if let Some(md5) = req.content_md5 {
            headers.push(("Content-MD5".into(), md5.into()));
        }
        let mut additional = Vec::new();
        if let (Some(len), SignatureVersion::V4) = (req.content_length, self.oss.signature_version)
        {
            headers.push(("Content-Length".into(), len.to_string()));
            additional.push("content-length".to_string());
        }
        let input = PresignInput {
            method,
            key: req.key,
            headers: &headers,
            additional_headers: &additional,
            params: &params,
            now: req.now,
            expires_in: req.expires_in,
        };
        let key = self.v4_key(creds);
        let creds = creds.copied().unwrap_or_else(|| self.own_credentials());
        let signed = match self.oss.signature_version {
            SignatureVersion::V1 => sign_v1::presign(&self.location, creds, &input, true),
            SignatureVersion::V4 => {
                sign_v4::presign_with(&self.location, &self.bucket.region, creds, key, &input)
            }
        };
        SignedUrl {
            method,
            url: signed.url,
            headers,
            expires_at: signed.expires_at,
        }
    }

    fn head_object<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObjectMeta>, UpstreamError>> {
        Box::pin(async move {
            let signed = self.presign(
                &UrlRequest {
                    op: ObjectOp::Head,
                    key,
                    content_type: None,
                    content_md5: None,
                    content_length: None,
                    callback: None,
                    binding: None,
                    now: OffsetDateTime::now_utc(),
                    expires_in: 60,
                },
                None,
            );
            let failed = |class, detail: String| UpstreamError::Failed {
                service: "storage",
                class,
                detail,
            };
            let resp = self
                .http
                .head(&signed.url)
                .timeout(self.bucket.upstream_timeout)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        UpstreamError::Timeout { service: "storage" }
                    } else {
                        // Without the URL: it carries a signature.
                        failed("connect", format!("HeadObject: {}", e.without_url()))
                    }
                })?;
            let status = resp.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !status.is_success() {
                let class = match status.as_u16() {
                    401 | 403 => "denied",
                    500..=599 => "server",
                    _ => "rejected",
                };
                return Err(failed(class, format!("HeadObject answered HTTP {status}")));
            }
            let h = resp.headers();
            let text = |name: &str| {
                h.get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.to_string())
            };
            let size = text("content-length")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| failed("protocol", "HeadObject without Content-Length".into()))?;
            Ok(Some(ObjectMeta {
                size,
                etag: text("etag").map(|e| e.trim_matches('"').to_ascii_uppercase()),
                content_type: text("content-type"),
                crc64: text("x-oss-hash-crc64ecma"),
                binding: None,
            }))
        })
    }

    fn callback_params(&self, cb: &CallbackRequest) -> Option<Vec<(String, String)>> {
        let (callback, vars) = self.encoded_callback(cb);
        Some(vec![
            ("callback".into(), callback),
            ("callback-var".into(), vars),
        ])
    }

    /// OSS rejects a `callback` or `callback-var` over 5 KB; say so before signing.
    fn check_callback(&self, cb: &CallbackRequest) -> Result<(), String> {
        // The cached parameter (built once per variable set) and the vars measured before
        // base64, whose length follows from it: this runs for every right.
        let names = var_names(cb);
        let callback = self.callbacks.encoded(&self.spec(cb, &names)).len();
        let vars = callback_params::encoded_len(callback_params::vars_json(cb.vars.pairs()).len());
        for (name, len) in [("callback", callback), ("callback-var", vars)] {
            if len > MAX_PARAM_BYTES {
                return Err(format!(
                    "the {name} parameter would exceed storage's limit of {MAX_PARAM_BYTES} bytes; send fewer or shorter vars"
                ));
            }
        }
        Ok(())
    }

    /// The callback parameter depends only on config (plus at most 8 client variables):
    /// refuse at start a setup whose worst case exceeds what OSS accepts.
    fn check_callback_setup(&self, body_type: CallbackBodyType) -> Result<(), String> {
        let names = CallbackVars::worst_case_names();
        let spec = CallbackSpec {
            url: &self.callback_url,
            host: self.callback_host.as_deref(),
            sni: self.callback_sni,
            body_type,
            image_info: true,
            var_names: &names,
        };
        let len = callback_params::encode_callback(&spec).len();
        if len > MAX_PARAM_BYTES {
            return Err(format!(
                "the callback parameter could reach {len} bytes, over storage's {MAX_PARAM_BYTES}; shorten callbacks.public_url or callback_host"
            ));
        }
        Ok(())
    }

    fn supports_append(&self) -> bool {
        true
    }

    fn multipart(&self) -> Option<&dyn crate::providers::MultipartApi> {
        Some(self)
    }

    fn objects(&self) -> Option<&dyn crate::providers::ObjectApi> {
        Some(self)
    }

    fn forms(&self) -> Option<&dyn FormSigner> {
        Some(self)
    }

    fn credentials(&self) -> Option<&dyn CredentialIssuer> {
        self.oss.sts.as_ref().map(|_| self as &dyn CredentialIssuer)
    }
}

impl FormSigner for OssProvider {
    fn app_server_form(
        &self,
        req: &crate::providers::AppServerFormRequest<'_>,
    ) -> Option<crate::providers::AppServerForm> {
        Some(self.sign_app_server_form(req))
    }

    fn sign_form(&self, req: &FormRequest<'_>) -> SignedForm {
        let mut fields: Vec<(String, String)> =
            vec![("success_action_status".into(), "200".into())];
        if let FormContentType::Exact(ct) = req.content_type {
            fields.push(("Content-Type".into(), ct.into()));
        }
        if let Some(cb) = req.callback {
            let names = var_names(cb);
            fields.push((
                "callback".into(),
                self.callbacks.encoded(&self.spec(cb, &names)).to_string(),
            ));
            for (k, v) in cb.vars.pairs() {
                fields.push((format!("x:{k}"), v.clone()));
            }
        }
        let expiration = req.now + Duration::from_secs(req.expires_in);
        let input = post_policy::PolicyInput {
            bucket: &self.bucket.bucket,
            key: if req.key_is_prefix {
                post_policy::KeyCondition::StartsWith(req.key)
            } else {
                post_policy::KeyCondition::Exact(req.key)
            },
            content_type: match req.content_type {
                FormContentType::Exact(ct) => post_policy::ContentTypeCondition::Exact(ct),
                FormContentType::StartsWith(p) => post_policy::ContentTypeCondition::StartsWith(p),
                FormContentType::Any => post_policy::ContentTypeCondition::Any,
            },
            min_size: req.min_size,
            max_size: req.max_size,
            fields: &fields,
            expiration,
        };
        let key = self.v4_key(req.credentials.as_ref());
        let creds = req.credentials.unwrap_or_else(|| self.own_credentials());
        let signed = post_policy::sign_with(
            self.oss.signature_version,
            &self.bucket.region,
            creds,
            key,
            &input,
            req.now,
        );
        let mut out = Vec::with_capacity(signed.fields.len() + 1);
        if !req.key_is_prefix {
            out.push(("key".to_string(), req.key.to_string()));
        }
        out.extend(signed.fields);
        SignedForm {
            url: self.location.bucket_url(),
            fields: out,
            expires_at: expiration,
        }
    }
}

impl CredentialIssuer for OssProvider {
    fn issue<'a>(
        &'a self,
        prefix: &'a str,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>> {
        Box::pin(async move {
            let sts_settings = self.oss.sts.as_ref().ok_or(UpstreamError::Failed {
                service: "STS",
                class: "not_configured",
                detail: "no [buckets.*.sts] section".into(),
            })?;
            let policy = sts::inline_policy(&self.bucket.bucket, prefix);
            let nonce = uuid::Uuid::new_v4().to_string();
            let params = sts::signed_params(
                &sts::AssumeRoleInput {
                    access_key_id: &sts_settings.access_key_id,
                    role_arn: &sts_settings.role_arn,
                    session_name: session,
                    duration_secs: sts_settings.duration.as_secs(),
                    policy: &policy,
                    now,
                    nonce: &nonce,
                },
                sts_settings.access_key_secret.expose_secret(),
            );
            let creds = sts::assume_role(
                &self.http,
                &sts_settings.endpoint,
                sts_settings.timeout,
                &params,
            )
            .await
            .map_err(|e| match e {
                sts::StsError::Timeout(_) => UpstreamError::Timeout { service: "STS" },
                other => UpstreamError::Failed {
                    service: "STS",
                    class: other.class(),
                    detail: other.to_string(),
                },
            })?;
            Ok(ScopedCredentials {
                access_key_id: creds.access_key_id,
                access_key_secret: creds.access_key_secret,
                security_token: creds.security_token,
                expiration: creds.expiration,
            })
        })
    }
}
