//! An unsigned storage callback taken as a hint (COS's `x-cos-callback`): it names an upload
//! and the object, and the gateway asks storage itself. The record completes only when the
//! object is at the upload's key with the upload's binding and, where the callback claims
//! them, the same size and ETag; otherwise nothing is recorded. A forged hint can at most
//! make the gateway look early, and what it finds is what confirm would have found.

use super::Uploads;
use super::confirm::{Claimed, Outcome};
use crate::domain::{UploadId, UploadKind, UploadRecord};
use crate::error::ApiError;

/// What an unsigned callback says, already parsed by the vendor's module.
pub struct StorageHint<'a> {
    pub provider: &'a str,
    pub upload_id: &'a str,
    pub bucket: &'a str,
    pub object: &'a str,
    pub claimed: Claimed,
}

impl Uploads {
    pub async fn storage_hint(&self, hint: &StorageHint<'_>) -> Result<UploadRecord, ApiError> {
        let not_found = || ApiError::NotFound("upload not found".into());
        let id = UploadId::parse(hint.upload_id).map_err(|_| not_found())?;
        let rec = self.store.get_record(&id).await?.ok_or_else(not_found)?;
        if rec.provider != hint.provider || rec.kind == UploadKind::Sts {
            return Err(not_found());
        }
        if rec.bucket != hint.bucket || rec.key != hint.object {
            return Err(ApiError::CallbackBindingMismatch(
                "the callback names another bucket or object than its upload".into(),
            ));
        }
        let result = self.check_inner(&rec, &hint.claimed).await;
        self.count_check("callback_hint", &result);
        match result? {
            (Outcome::Missing, _) => Err(ApiError::ObjectMissing),
            (Outcome::Unbound, _) => Err(ApiError::ObjectBindingMismatch),
            (Outcome::Disagrees, _) => Err(ApiError::CallbackBindingMismatch(
                "storage holds another object version than the callback describes (size or ETag)"
                    .into(),
            )),
            (Outcome::Rejected, r) => Err(ApiError::UploadRejected(
                r.failure.unwrap_or_else(|| "rules broken".into()),
            )),
            (_, r) => Ok(r),
        }
    }
}
