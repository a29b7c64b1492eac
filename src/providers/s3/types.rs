//! Validated inputs of the S3 signers. Everything that reaches a canonical request passes
//! through one of these, so a bad region or bucket fails where it enters, not as a
//! SignatureDoesNotMatch from storage.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("region must be 1-64 characters of [a-z0-9-]")]
    Region,
    #[error("bucket name must be 3-63 characters of [a-z0-9.-], starting and ending alphanumeric")]
    Bucket,
    #[error("a virtual-host style bucket over https must not contain '.' (TLS wildcard)")]
    DottedVirtualBucket,
    #[error("expiry must be between 1 and 604800 seconds")]
    Expiry,
    #[error("endpoint must be http(s)://host[:port] without path, query or userinfo")]
    Endpoint,
    #[error("header name {0:?} is not a valid token")]
    HeaderName(String),
    #[error("header {0:?} given twice")]
    DuplicateHeader(String),
    #[error("header {0:?} is set by the signer")]
    ReservedHeader(String),
    #[error("{0:?}: checksums the client cannot know must not be presigned")]
    Checksum(String),
    #[error("access key id must be 1-128 characters of [A-Za-z0-9._-]")]
    AccessKeyId,
}

/// An AWS (or S3-compatible) region name, e.g. `eu-central-1` or Garage's `garage`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Region(String);

impl Region {
    pub fn parse(s: &str) -> Result<Self, InputError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Region(s.to_string())).ok_or(InputError::Region)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bucket name under the S3 naming rules (the strict ones, which every S3-compatible
/// store accepts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BucketName(String);

impl BucketName {
    pub fn parse(s: &str) -> Result<Self, InputError> {
        let b = s.as_bytes();
        let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let ok = (3..=63).contains(&b.len())
            && edge(b[0])
            && edge(b[b.len() - 1])
            && b.iter().all(|&c| edge(c) || c == b'.' || c == b'-')
            && !s.contains("..");
        ok.then(|| BucketName(s.to_string()))
            .ok_or(InputError::Bucket)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Seconds a presigned URL or form stays valid: SigV4 caps it at seven days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry(u32);

impl Expiry {
    pub const MAX_SECS: u64 = 604_800;
    pub fn from_secs(secs: u64) -> Result<Self, InputError> {
        if (1..=Self::MAX_SECS).contains(&secs) {
            Ok(Expiry(secs as u32))
        } else {
            Err(InputError::Expiry)
        }
    }
    pub fn secs(self) -> u64 {
        u64::from(self.0)
    }
}

/// The HTTP methods the gateway signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Put,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "POST" => Method::Post,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// The signing service of the credential scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    S3,
    Sts,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Sts => "sts",
        }
    }
}

/// A key pair, long-lived or temporary. Debug shows only the access key id.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
}

impl Credentials {
    pub fn new(
        access_key_id: &str,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
    ) -> Result<Self, InputError> {
        let ok = !access_key_id.is_empty()
            && access_key_id.len() <= 128
            && access_key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(InputError::AccessKeyId);
        }
        Ok(Credentials {
            access_key_id: access_key_id.to_string(),
            secret_access_key,
            session_token,
        })
    }
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
    pub(crate) fn secret(&self) -> &str {
        self.secret_access_key.expose_secret()
    }
    pub(crate) fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(|t| t.expose_secret())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        for ok in ["abc", "my-bucket.v2", "0bucket9"] {
            assert!(BucketName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "Bucket",
            "-abc",
            "abc-",
            "a..b",
            "a_b",
            &"a".repeat(64),
        ] {
            assert_eq!(BucketName::parse(bad), Err(InputError::Bucket), "{bad}");
        }
    }

    #[test]
    fn regions_expiries_and_key_ids_are_checked() {
        assert!(Region::parse("eu-central-1").is_ok());
        assert_eq!(Region::parse("EU"), Err(InputError::Region));
        assert_eq!(Region::parse(""), Err(InputError::Region));
        assert_eq!(Expiry::from_secs(0), Err(InputError::Expiry));
        assert_eq!(Expiry::from_secs(604_801), Err(InputError::Expiry));
        assert_eq!(Expiry::from_secs(604_800).unwrap().secs(), 604_800);
        let secret = SecretString::from("s".repeat(40));
        assert!(Credentials::new("AKIA/x", secret.clone(), None).is_err());
        let c = Credentials::new("AKIAEXAMPLE", secret, Some("tok-value-xyz".into())).unwrap();
        let shown = format!("{c:?}");
        assert!(
            shown.contains("AKIAEXAMPLE") && !shown.contains("sss") && !shown.contains("tok-value")
        );
    }
}
