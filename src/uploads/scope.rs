//! The COS SDKs' `ScopeLimit`: with it the JS and mini-program SDKs send the scope they are
//! about to sign for (`[{action, bucket, region, prefix}]`, `prefix` being the object key),
//! and the credential server refuses anything outside what it grants. Here that is the
//! caller's prefix in the profile's bucket and region, and only upload actions.

use super::Uploads;
use super::grants::IssuedGrant;
use crate::domain::{UploadKind, UserId};
use crate::error::ApiError;
use serde::Deserialize;

/// What the COS SDKs may ask to do with the gateway's temporary keys.
const ACTIONS: &[&str] = &[
    "PutObject",
    "PostObject",
    "AppendObject",
    "InitiateMultipartUpload",
    "ListMultipartUploads",
    "ListParts",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
];

/// One entry of the SDK's `Scope`.
#[derive(Debug, Clone, Deserialize)]
pub struct ScopeItem {
    pub action: String,
    pub bucket: String,
    pub region: String,
    #[serde(default)]
    pub prefix: String,
}

/// The bucket and region a credential request names outside its `Scope` (the stock
/// snippet's query), each optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct AskedBucket<'a> {
    pub bucket: Option<&'a str>,
    pub region: Option<&'a str>,
}

fn refused(why: &str) -> ApiError {
    ApiError::ScopeNotAllowed(format!(
        "ScopeNotAllowed: the scope's {why} is outside what this profile grants"
    ))
}

impl Uploads {
    /// Credentials for `profile`, refused (`scope-not-allowed`) when `asked` names another
    /// bucket or region, or an entry of `scope` asks for another action, bucket, region or
    /// key outside the caller's prefix.
    pub async fn credentials_in_scope(
        &self,
        user: &UserId,
        profile: &str,
        asked: AskedBucket<'_>,
        scope: &[ScopeItem],
    ) -> Result<IssuedGrant, ApiError> {
        let b = &self.profile(profile)?.bucket;
        if asked.bucket.is_some_and(|x| x != b.bucket) {
            return Err(refused("bucket"));
        }
        if asked.region.is_some_and(|x| x != b.region) {
            return Err(refused("region"));
        }
        let issued = self.credentials(user, profile).await?;
        let b = &issued.profile.bucket;
        for item in scope {
            let action = item
                .action
                .strip_prefix("name/cos:")
                .unwrap_or(&item.action);
            // The keys carry AppendObject only where the profile allows appends.
            let append_refused =
                action == "AppendObject" && !issued.profile.kinds.contains(&UploadKind::Append);
            let why = if !ACTIONS.contains(&action) || append_refused {
                "action"
            } else if item.bucket != b.bucket {
                "bucket"
            } else if item.region != b.region {
                "region"
            } else if !item.prefix.starts_with(&issued.grant.prefix) || item.prefix.contains("..") {
                "prefix"
            } else {
                continue;
            };
            return Err(refused(why));
        }
        Ok(issued)
    }
}
