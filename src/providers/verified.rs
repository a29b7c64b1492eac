//! What a provider proved about a stored object: a [`VerifiedCallback`]. Its fields are
//! private and only two things make one: a provider's callback verifier (signature checked
//! over the raw request), and [`VerifiedCallback::from_storage_check`] (what the gateway's
//! own signed HeadObject answered). Recording takes nothing else.

use crate::domain::ImageInfo;
use crate::domain::content_check::ContentFacts;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What the callback says about the stored object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackFields {
    pub bucket: String,
    pub object: String,
    /// Normalised by the vendor's adapter the same way for callbacks and HeadObject (no
    /// quotes; OSS: upper case), so records compare ETags as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_info: Option<ImageInfo>,
    /// `x:` variables, without the `x:`.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
}

/// A callback proven genuine, or a storage check. Deserialisable only so that the journal
/// (the gateway's own fsync'd file) can hold it across a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifiedCallback {
    provider: String,
    #[serde(with = "time::serde::rfc3339")]
    received_at: OffsetDateTime,
    fields: CallbackFields,
    /// What the gateway read from the object's first bytes (profiles with content checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<ContentFacts>,
}

impl VerifiedCallback {
    /// Only verifiers in `providers` call this, after the signature held.
    pub(in crate::providers) fn verified(
        provider: &str,
        received_at: OffsetDateTime,
        fields: CallbackFields,
    ) -> VerifiedCallback {
        VerifiedCallback {
            provider: provider.to_string(),
            received_at,
            fields,
            content: None,
        }
    }

    /// What the gateway's own signed HeadObject said about `key`, for an upload it issued
    /// (confirm, the reconciler, a multipart completion without a callback).
    pub fn from_storage_check(
        provider: &str,
        received_at: OffsetDateTime,
        bucket: &str,
        key: &str,
        meta: super::ObjectMeta,
    ) -> VerifiedCallback {
        VerifiedCallback {
            provider: provider.to_string(),
            received_at,
            fields: CallbackFields {
                bucket: bucket.to_string(),
                object: key.to_string(),
                etag: meta.etag,
                size: Some(meta.size),
                mime_type: meta.content_type,
                crc64: meta.crc64,
                content_md5: None,
                image_info: None,
                vars: BTreeMap::new(),
            },
            content: None,
        }
    }

    /// The same arrival with the object's facts replaced by what the gateway's own signed
    /// HeadObject answered: for callbacks whose template the client may have written (STS),
    /// where only the variables (bound by the ticket) and the key are the callback's own.
    pub fn corroborated(mut self, meta: super::ObjectMeta) -> VerifiedCallback {
        let f = &mut self.fields;
        f.size = Some(meta.size);
        f.etag = meta.etag;
        f.mime_type = meta.content_type;
        f.crc64 = meta.crc64;
        f.content_md5 = None;
        f.image_info = None;
        self
    }

    /// The same arrival with what the gateway's own read of the object's first bytes showed.
    pub fn with_content(mut self, facts: ContentFacts) -> VerifiedCallback {
        self.content = Some(facts);
        self
    }

    pub fn content(&self) -> Option<&ContentFacts> {
        self.content.as_ref()
    }

    pub fn provider(&self) -> &str {
        &self.provider
    }

    pub fn received_at(&self) -> OffsetDateTime {
        self.received_at
    }

    pub fn fields(&self) -> &CallbackFields {
        &self.fields
    }
}
