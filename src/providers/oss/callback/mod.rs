//! OSS's upload callback, verified: the `x-oss-pub-key-url` checked against the allow-list
//! ([`key_url`]) and resolved to a key ([`keys`]: pinned, or fetched with bounds), the
//! RSA/MD5 signature over the raw request target and body ([`signature`]), then the body
//! parsed ([`body`]).

pub mod body;
pub mod key_url;
pub mod keys;
pub mod signature;

use crate::config::CallbackSettings;
use crate::metrics::Metrics;
use crate::providers::{CallbackError, CallbackVerifier, RawCallback, VerifiedCallback};
use body::BodyError;
use futures_util::future::BoxFuture;
use key_url::KeyUrlError;
use keys::{KeyError, PublicKeys};
use signature::SignatureError;
use std::sync::Arc;
use time::OffsetDateTime;

pub struct OssCallbackVerifier {
    keys: PublicKeys,
}

impl OssCallbackVerifier {
    pub fn new(
        settings: &CallbackSettings,
        metrics: Arc<Metrics>,
    ) -> Result<OssCallbackVerifier, String> {
        Ok(OssCallbackVerifier {
            keys: PublicKeys::new(settings, metrics)?,
        })
    }
}

impl CallbackVerifier for OssCallbackVerifier {
    fn provider(&self) -> &'static str {
        "oss"
    }

    fn verify<'a>(
        &'a self,
        raw: &'a RawCallback<'a>,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<VerifiedCallback, CallbackError>> {
        Box::pin(async move {
            let authorization = raw.header("authorization").ok_or(CallbackError::Malformed(
                "the Authorization header (the signature) is missing",
            ))?;
            let key_url = raw
                .header("x-oss-pub-key-url")
                .ok_or(CallbackError::Malformed(
                    "the x-oss-pub-key-url header is missing",
                ))?;
            let key = self.keys.get(key_url).await.map_err(|e| match e {
                KeyError::Url(KeyUrlError::NotBase64) => {
                    CallbackError::Malformed("the x-oss-pub-key-url header is not base64")
                }
                KeyError::Url(KeyUrlError::NotAllowed) => CallbackError::KeyUrlRejected,
                KeyError::Fetch(detail) => CallbackError::KeyUnavailable(detail),
            })?;
            signature::verify(&key, raw.request_target, raw.body, authorization).map_err(|e| {
                match e {
                    SignatureError::AuthorizationNotBase64 => {
                        CallbackError::Malformed("the Authorization header is not base64")
                    }
                    SignatureError::Mismatch => CallbackError::BadSignature,
                }
            })?;
            let fields =
                body::parse(raw.header("content-type"), raw.body).map_err(|e| match e {
                    BodyError::ContentType => CallbackError::UnsupportedMediaType(e.to_string()),
                    BodyError::Malformed(m) => CallbackError::BadBody(m),
                })?;
            Ok(VerifiedCallback::verified("oss", now, fields))
        })
    }
}
