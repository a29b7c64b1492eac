//! Where a bucket's objects are on the wire, for the two addressing styles S3-compatible
//! stores use: `https://<bucket>.<endpoint>/<key>` and `<endpoint>/<bucket>/<key>`.

use super::types::{BucketName, InputError};
use crate::providers::encoding::encode_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlStyle {
    /// AWS's default; needs DNS for `<bucket>.<endpoint host>`.
    Virtual,
    /// What Garage, MinIO and most local stores expect.
    Path,
}

#[derive(Debug, Clone)]
pub struct S3Location {
    scheme: &'static str,
    /// The Host header every request to the bucket carries (with the port, if any).
    host: String,
    bucket: BucketName,
    style: UrlStyle,
    /// `/` or `/<bucket>/`: what precedes the encoded key in paths.
    path_prefix: String,
}

impl S3Location {
    /// `endpoint` is `http(s)://host[:port]` with nothing after the authority.
    pub fn new(
        endpoint: &url::Url,
        bucket: BucketName,
        style: UrlStyle,
    ) -> Result<Self, InputError> {
        let scheme = match endpoint.scheme() {
            "https" => "https",
            "http" => "http",
            _ => return Err(InputError::Endpoint),
        };
        let clean = endpoint.username().is_empty()
            && endpoint.password().is_none()
            && endpoint.path() == "/"
            && endpoint.query().is_none()
            && endpoint.fragment().is_none();
        let Some(host) = endpoint.host_str().filter(|_| clean) else {
            return Err(InputError::Endpoint);
        };
        // `Url` already drops the scheme's default port, as the SDKs do in the Host header.
        let authority = match endpoint.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let (host, path_prefix) = match style {
            UrlStyle::Virtual => {
                if scheme == "https" && bucket.as_str().contains('.') {
                    return Err(InputError::DottedVirtualBucket);
                }
                (format!("{}.{authority}", bucket.as_str()), "/".to_string())
            }
            UrlStyle::Path => (authority, format!("/{}/", bucket.as_str())),
        };
        Ok(S3Location {
            scheme,
            host,
            bucket,
            style,
            path_prefix,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }
    pub fn bucket(&self) -> &BucketName {
        &self.bucket
    }
    pub fn style(&self) -> UrlStyle {
        self.style
    }

    /// The encoded path of an object: S3 encodes the key once, keeping `/` (unlike the
    /// other AWS services it does not double-encode).
    pub fn object_path(&self, key: &str) -> String {
        let mut p = String::with_capacity(self.path_prefix.len() + key.len() + 8);
        p.push_str(&self.path_prefix);
        p.push_str(&encode_path(key));
        p
    }

    /// The path of the bucket itself (list calls).
    pub fn bucket_path(&self) -> &str {
        &self.path_prefix
    }

    pub fn url_for_path(&self, path: &str) -> String {
        let mut u = String::with_capacity(self.scheme.len() + 3 + self.host.len() + path.len());
        u.push_str(self.scheme);
        u.push_str("://");
        u.push_str(&self.host);
        u.push_str(path);
        u
    }

    /// Where a POST policy form is sent (botocore's shape: no trailing slash in path style).
    pub fn form_url(&self) -> String {
        match self.style {
            UrlStyle::Virtual => self.url_for_path("/"),
            UrlStyle::Path => self.url_for_path(&format!("/{}", self.bucket.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(endpoint: &str, bucket: &str, style: UrlStyle) -> Result<S3Location, InputError> {
        S3Location::new(
            &url::Url::parse(endpoint).unwrap(),
            BucketName::parse(bucket).unwrap(),
            style,
        )
    }

    #[test]
    fn both_styles_put_the_bucket_where_s3_expects_it() {
        let v = loc(
            "https://s3.eu-central-1.amazonaws.com",
            "b-1",
            UrlStyle::Virtual,
        )
        .unwrap();
        assert_eq!(v.host(), "b-1.s3.eu-central-1.amazonaws.com");
        assert_eq!(v.object_path("a b/ü.txt"), "/a%20b/%C3%BC.txt");
        assert_eq!(v.form_url(), "https://b-1.s3.eu-central-1.amazonaws.com/");
        let p = loc("http://127.0.0.1:3900", "b-1", UrlStyle::Path).unwrap();
        assert_eq!(p.host(), "127.0.0.1:3900");
        assert_eq!(p.object_path("k"), "/b-1/k");
        assert_eq!(p.form_url(), "http://127.0.0.1:3900/b-1");
        assert_eq!(
            loc("https://h:443", "b-1", UrlStyle::Path).unwrap().host(),
            "h"
        );
    }

    #[test]
    fn endpoints_with_more_than_an_authority_are_refused() {
        for bad in [
            "https://u:p@h",
            "https://h/base",
            "https://h/?x=1",
            "ftp://h",
        ] {
            assert_eq!(
                loc(bad, "bkt", UrlStyle::Path).unwrap_err(),
                InputError::Endpoint,
                "{bad}"
            );
        }
        assert_eq!(
            loc("https://h", "a.b.c", UrlStyle::Virtual).unwrap_err(),
            InputError::DottedVirtualBucket
        );
    }
}
