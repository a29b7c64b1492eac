//! `POST /v1/uploads`: the one call a new app needs. The gateway decides from the declared
//! size and the profile's `multipart_threshold_bytes` (like the COS SDK's `SliceSize`)
//! whether the client does one presigned PUT or a multipart upload, and answers with
//! everything needed for the first step. Same records, callbacks and limits as the specific
//! routes.

use super::issue::IssuedUrl;
use super::multipart::SignedPart;
use super::{PutObject, Uploads};
use crate::config::Profile;
use crate::domain::{UploadKind, UploadRecord, UserId};
use crate::error::ApiError;

/// How the client uploads, and what it needs for the first step.
pub enum Created {
    /// One presigned PUT.
    Single(IssuedUrl),
    /// A multipart upload, with URLs for its first parts (more from `/v1/multipart/{id}/parts`).
    Multipart {
        record: UploadRecord,
        parts: Vec<SignedPart>,
    },
}

/// Simple or multipart for `size` bytes under `profile`: multipart from the threshold on (or
/// when the profile allows nothing else), a single PUT otherwise.
pub fn choose(profile: &Profile, size: u64) -> Result<UploadKind, ApiError> {
    let single = profile.allows(UploadKind::Presign);
    let multipart = profile.allows(UploadKind::Multipart);
    match (single, multipart) {
        (true, true) if size >= profile.multipart_threshold => Ok(UploadKind::Multipart),
        (true, _) => Ok(UploadKind::Presign),
        (false, true) => Ok(UploadKind::Multipart),
        (false, false) => Err(ApiError::KindNotAllowed {
            profile: profile.name.clone(),
            kind: "presign or multipart",
        }),
    }
}

impl Uploads {
    pub async fn create(&self, user: &UserId, ask: &PutObject) -> Result<Created, ApiError> {
        let profile = self.profile(&ask.profile)?.clone();
        let size = ask
            .size
            .ok_or_else(|| ApiError::InvalidArgument("size: required".into()))?;
        match choose(&profile, size)? {
            UploadKind::Multipart => {
                let record = self.start_multipart(user, ask, None).await?;
                let count = record.part_count.unwrap_or(1);
                let first = count.min(self.settings.multipart.max_parts_per_request as u32);
                let numbers: Vec<u32> = (1..=first).collect();
                let parts = self.sign_parts(&record, &numbers, true)?;
                Ok(Created::Multipart { record, parts })
            }
            _ => Ok(Created::Single(self.presign(user, ask).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;

    fn profile(extra: &str) -> std::sync::Arc<Profile> {
        let s = Settings::from_toml(&format!("{MINIMAL}{extra}")).unwrap();
        s.profile("avatars").unwrap().clone()
    }

    #[test]
    fn the_threshold_picks_single_or_multipart() {
        let p = profile("multipart_threshold_bytes = 1000\n");
        assert_eq!(choose(&p, 999).unwrap(), UploadKind::Presign);
        assert_eq!(choose(&p, 1000).unwrap(), UploadKind::Multipart);
        // A profile that allows only one of the two always gets that one.
        let only_multipart = profile("kinds = [\"multipart\"]\n");
        assert_eq!(choose(&only_multipart, 1).unwrap(), UploadKind::Multipart);
        let only_put = profile("kinds = [\"presign\"]\nmultipart_threshold_bytes = 10\n");
        assert_eq!(choose(&only_put, 1 << 20).unwrap(), UploadKind::Presign);
        let neither = profile("kinds = [\"form\"]\n");
        assert!(matches!(
            choose(&neither, 1),
            Err(ApiError::KindNotAllowed { .. })
        ));
    }
}
