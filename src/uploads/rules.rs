//! The profile rules every right is checked against before anything is signed.

use crate::config::Profile;
use crate::domain::{ContentType, UploadKind};
use crate::error::ApiError;

pub fn require_kind(profile: &Profile, kind: UploadKind) -> Result<(), ApiError> {
    if profile.kinds.contains(&kind) {
        Ok(())
    } else {
        Err(kind_not_allowed(profile, kind.as_str()))
    }
}

pub fn kind_not_allowed(profile: &Profile, kind: &'static str) -> ApiError {
    ApiError::KindNotAllowed {
        profile: profile.name.clone(),
        kind,
    }
}

pub fn check_content_type(profile: &Profile, raw: &str) -> Result<ContentType, ApiError> {
    let ct = ContentType::parse(raw)
        .map_err(|e| ApiError::InvalidArgument(format!("content_type: {e}")))?;
    if profile.allows_content_type(&ct) {
        Ok(ct)
    } else {
        Err(ApiError::ContentTypeNotAllowed {
            content_type: ct.as_str().chars().take(100).collect(),
            profile: profile.name.clone(),
            allowed: profile.allowed_types_text(),
        })
    }
}

pub fn check_size(profile: &Profile, size: u64) -> Result<(), ApiError> {
    if size > profile.max_size {
        return Err(ApiError::SizeTooLarge {
            size,
            max: profile.max_size,
            profile: profile.name.clone(),
        });
    }
    if size < profile.min_size {
        return Err(ApiError::SizeTooSmall {
            size,
            min: profile.min_size,
            profile: profile.name.clone(),
        });
    }
    Ok(())
}

/// `content_md5`: base64 of 16 bytes, as the Content-MD5 header carries it.
pub fn check_md5(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    use base64::Engine;
    match raw {
        None => Ok(None),
        Some(s) => match base64::engine::general_purpose::STANDARD.decode(s) {
            Ok(b) if b.len() == 16 => Ok(Some(s.to_string())),
            _ => Err(ApiError::InvalidArgument(
                "content_md5: must be the base64 of the 16-byte MD5 digest (as in the Content-MD5 header)".into(),
            )),
        },
    }
}

/// Whether images may be uploaded under the profile (then image facts are worth asking
/// storage for).
pub fn may_be_image(profile: &Profile) -> bool {
    profile.content_types.iter().any(|p| {
        let p = p.to_string();
        p.starts_with("image/") || p == "*/*"
    })
}

/// Lifetime of a right, in seconds, as the signers take it.
pub fn expires_in(profile: &Profile) -> u64 {
    profile.expires_in.as_secs().max(1)
}
