//! What an OSS signature covers, and how a check fails: shared by the V1 and V4 checks.

use subtle::ConstantTimeEq;

/// The parts of a request a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub bucket: &'a str,
    /// Decoded object key; empty for bucket-level requests.
    pub key: &'a str,
    /// Decoded query pairs, as sent.
    pub query: &'a [(String, String)],
    /// Lower-case names, as sent.
    pub headers: &'a [(String, String)],
}

impl SignedRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("the request carries no signature")]
    Anonymous,
    #[error("{0}")]
    Malformed(String),
    #[error("Request has expired.")]
    Expired,
    #[error("The difference between the request time and the current time is too large.")]
    Skewed,
    #[error("The request signature we calculated does not match the signature you provided.")]
    Mismatch {
        string_to_sign: String,
        canonical_request: Option<String>,
    },
}

pub(super) fn compare(
    expected: &str,
    provided: &str,
    string_to_sign: String,
    canonical_request: Option<String>,
) -> Result<(), SignError> {
    if bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
        Ok(())
    } else {
        Err(SignError::Mismatch {
            string_to_sign,
            canonical_request,
        })
    }
}
