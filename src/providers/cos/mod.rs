//! Tencent Cloud COS: `q-sign-algorithm=sha1` request signatures (presigned PUT, UploadPart,
//! AppendObject, control calls), PostObject policies, and Tencent STS (TC3-HMAC-SHA256
//! request signing, the policy-2.0 grant, the `qcloud-cos-sts` answer shape).
//!
//! The signers are pure, with the clock passed in as a [`sign::KeyTime`] or a unix
//! timestamp; [`provider`], [`control`] and [`sts_client`] wire them to HTTP behind the
//! provider trait.

pub mod bucket;
pub mod callback_hint;
pub mod control;
pub mod post_policy;
pub mod presign;
pub mod provider;
pub mod sign;
pub mod sts;
pub mod sts_client;
pub mod tc3;

#[cfg(test)]
mod vector_tests;

pub use bucket::{BucketName, CosLocation};
pub use provider::{BINDING_HEADER, CosProvider};
pub use sign::{Credentials, DEFAULT_SKEW_SECS, KeyTime};
