//! Where a bucket's objects live on the wire: the URL a client uses for an object, for the
//! three addressing styles OSS and OSS-compatible stores accept.

use crate::config::{BucketSettings, UrlStyle};
use crate::providers::encoding::{PATH, UNRESERVED, push_encoded};

#[derive(Debug, Clone)]
pub struct BucketLocation {
    pub scheme: String,
    /// Host (and port) of the endpoint as configured.
    pub host: String,
    pub bucket: String,
    pub style: UrlStyle,
    /// The bucket's URL, with its trailing `/`: every signed URL starts with it, so it is
    /// written once here rather than formatted per request.
    base_url: String,
}

impl BucketLocation {
    pub fn new(scheme: &str, host: &str, bucket: &str, style: UrlStyle) -> Self {
        let base_url = match style {
            UrlStyle::VirtualHosted => format!("{scheme}://{bucket}.{host}/"),
            UrlStyle::Cname => format!("{scheme}://{host}/"),
            UrlStyle::Path => format!("{scheme}://{host}/{bucket}/"),
        };
        BucketLocation {
            scheme: scheme.to_string(),
            host: host.to_string(),
            bucket: bucket.to_string(),
            style,
            base_url,
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
        self.base_url.clone()
    }

    /// The URL of one object, without a query. With `slash_safe` unset every `/` of the key
    /// is escaped too, as oss2 does by default; OSS decodes the path either way.
    pub fn object_url(&self, key: &str, slash_safe: bool) -> String {
        let mut out = String::with_capacity(self.base_url.len() + key.len() + 8);
        self.push_object_url(&mut out, key, slash_safe);
        out
    }

    /// [`Self::object_url`], appended to `out`.
    pub fn push_object_url(&self, out: &mut String, key: &str, slash_safe: bool) {
        out.push_str(&self.base_url);
        push_encoded(out, key, if slash_safe { PATH } else { UNRESERVED });
    }
}
