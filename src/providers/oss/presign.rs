//! Inputs and outputs shared by the OSS V1 and V4 presigners.

pub use crate::providers::Credentials;
use time::OffsetDateTime;

/// One request to presign. Header names may be given in any case.
pub struct PresignInput<'a> {
    pub method: &'a str,
    pub key: &'a str,
    /// Headers the client must send with exactly these values; all of them are signed.
    pub headers: &'a [(String, String)],
    /// V4 only: lower-case names of further headers (from `headers`) to sign, such as
    /// `content-length`. V1 has no such mechanism and ignores this.
    pub additional_headers: &'a [String],
    /// Query parameters: sub-resources such as `partNumber`, `uploadId`, `callback`.
    pub params: &'a [(String, String)],
    pub now: OffsetDateTime,
    pub expires_in: u64,
}

/// A presigned URL and what it was computed from (for `sign --explain`). Not `Debug`: the
/// URL is a bearer credential and must not reach a log line by accident.
pub struct Presigned {
    pub url: String,
    pub expires_at: OffsetDateTime,
    pub string_to_sign: String,
    /// V4 only.
    pub canonical_request: Option<String>,
}

pub(crate) fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}
