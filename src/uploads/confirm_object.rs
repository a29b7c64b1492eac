//! Confirming one object written with an STS grant's temporary keys. COS sends no signed
//! callback, so the client names the key it wrote; the gateway asks storage (HeadObject) and
//! records that object under the grant exactly as a verified OSS callback would: one record
//! per stored object version, however often it is confirmed.

use super::Uploads;
use super::confirm::Outcome;
use crate::callbacks::binding::Binding;
use crate::domain::{ObjectKey, UploadId, UploadKind, UploadRecord, UserId};
use crate::error::ApiError;

impl Uploads {
    /// `POST /v1/uploads/{grant}/confirm` with `{"key"}`: the object at `key`, under the
    /// grant's prefix, becomes a `completed` upload record of kind `sts`.
    pub async fn confirm_object(
        &self,
        user: &UserId,
        grant_id: &str,
        key: &str,
    ) -> Result<UploadRecord, ApiError> {
        let grant = self.load_own(user, grant_id).await?;
        let result = self.check_object(&grant, key).await;
        self.count_check("confirm", &result);
        match result? {
            (Outcome::Missing, _) => Err(ApiError::ObjectMissing),
            (Outcome::Rejected, r) => Err(ApiError::UploadRejected(
                r.failure.unwrap_or_else(|| "rules broken".into()),
            )),
            (_, r) => Ok(r),
        }
    }

    async fn check_object(
        &self,
        grant: &UploadRecord,
        key: &str,
    ) -> Result<(Outcome, UploadRecord), ApiError> {
        // A grant's record holds its prefix; the objects that arrived under it name the grant.
        if grant.kind != UploadKind::Sts || grant.grant_id.is_some() {
            return Err(ApiError::InvalidArgument(
                "key names an object of an sts grant, and this upload is none; confirm it without a body".into(),
            ));
        }
        let key = ObjectKey::parse(key).map_err(|e| ApiError::InvalidObjectKey(e.to_string()))?;
        if !key.as_str().starts_with(&grant.key) || key.as_str().len() == grant.key.len() {
            return Err(ApiError::InvalidObjectKey(format!(
                "the key must lie under the grant's prefix {}",
                grant.key
            )));
        }
        let (profile, provider) = self.profile_of(grant)?;
        let head = provider.head_object(key.as_str());
        let Some(meta) = self.upstream(provider.as_ref(), "HeadObject", head).await? else {
            return Ok((Outcome::Missing, grant.clone()));
        };
        let binding = Binding::Grant {
            grant_id: grant.id.clone(),
            user: grant.user.clone(),
            profile: grant.profile.clone(),
            prefix: grant.key.clone(),
            upload_id: UploadId::new(),
        };
        // A grant's record binds no single object, so this asks storage for the object only.
        self.complete_checked(
            grant,
            &profile,
            provider.as_ref(),
            key.as_str(),
            meta,
            binding,
        )
        .await
    }
}
