//! Where a bucket's objects live on the wire: the URL a client uses for an object, for the
//! three addressing styles OSS and OSS-compatible stores accept.

use crate::config::{BucketSettings, UrlStyle};
use crate::providers::encoding::encode_path;

#[derive(Debug, Clone)]
pub struct BucketLocation {
    pub scheme: String,
    /// Host (and port) of the endpoint as configured.
    pub host: String,
    pub bucket: String,
    pub style: UrlStyle,
}

impl BucketLocation {
    pub fn new(scheme: &str, host: &str, bucket: &str, style: UrlStyle) -> Self {
        BucketLocation {
            scheme: scheme.to_string(),
            host: host.to_string(),
            bucket: bucket.to_string(),
            style,
        }
    }

    pub fn from_settings(b: &BucketSettings) -> Self {
        let host = match b.endpoint.port() {
            Some(p) => format!("{}:{p}", b.endpoint.host_str().unwrap_or_default()),
            None => b.endpoint.host_str().unwrap_or_default().to_string(),
        };
        BucketLocation::new(b.endpoint.scheme(), &host, &b.bucket, b.url_style)
    }

    /// The URL of the bucket itself, with a trailing `/` (PostObject forms go here).
    pub fn bucket_url(&self) -> String {
        match self.style {
            UrlStyle::VirtualHosted => format!("{}://{}.{}/", self.scheme, self.bucket, self.host),
            UrlStyle::Cname => format!("{}://{}/", self.scheme, self.host),
            UrlStyle::Path => format!("{}://{}/{}/", self.scheme, self.host, self.bucket),
        }
    }

    /// The URL of one object, without a query. With `slash_safe` unset every `/` of the key
    /// is escaped too, as oss2 does by default; OSS decodes the path either way.
    pub fn object_url(&self, key: &str, slash_safe: bool) -> String {
        let encoded = if slash_safe {
            encode_path(key)
        } else {
            crate::providers::encoding::encode(key)
        };
        format!("{}{encoded}", self.bucket_url())
    }
}
