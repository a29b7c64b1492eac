//! Tencent Cloud COS: `q-sign-algorithm=sha1` request signatures (presigned PUT, UploadPart,
//! AppendObject, control calls), PostObject policies, and Tencent STS (TC3-HMAC-SHA256
//! request signing, the policy-2.0 grant, the `qcloud-cos-sts` answer shape).
//!
//! Everything here is pure, with the clock passed in as a [`sign::KeyTime`] or a unix
//! timestamp; the HTTP calls and the provider wiring live elsewhere.

pub mod bucket;
pub mod post_policy;
pub mod presign;
pub mod sign;
pub mod sts;
pub mod tc3;

#[cfg(test)]
mod vector_tests;

pub use bucket::{BucketName, CosLocation};
pub use sign::{Credentials, DEFAULT_SKEW_SECS, KeyTime};
