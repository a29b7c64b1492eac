//! The binding a right stores with its object, for providers that keep one and show it on
//! HeadObject ([`Provider::binds_uploads`], COS's `x-cos-meta-*`): the upload's ticket for
//! exactly its key, so a storage check completes an upload only with the object its own
//! right wrote, not one an STS holder or another right put at the same key.

use super::Uploads;
use crate::domain::ticket::{self, TicketScope};
use crate::domain::{UploadId, UploadKind, UploadRecord};
use crate::providers::{ObjectMeta, Provider};
use subtle::ConstantTimeEq;

impl Uploads {
    /// The value the right must carry, where the provider binds uploads: the upload id,
    /// `.`, and the ticket for exactly this upload and key. The id lets a notice that names
    /// only the object find its record ([`Uploads::complete_from_storage`]); the ticket is
    /// what makes it worth anything.
    pub(super) fn object_binding(
        &self,
        provider: &dyn Provider,
        rec: &UploadRecord,
    ) -> Option<String> {
        let bound = match rec.kind {
            UploadKind::Presign | UploadKind::Append | UploadKind::Form => provider.binds_uploads(),
            UploadKind::Multipart => provider.binds_multipart(),
            UploadKind::Sts => false,
        };
        bound.then(|| {
            let scope = TicketScope::Object {
                upload_id: rec.id.as_str(),
                key: &rec.key,
                declared_size: None,
            };
            let t = ticket::issue(self.ticket_secret(), rec.user.as_str(), &scope);
            format!("{}.{t}", rec.id.as_str())
        })
    }

    /// Whether storage's object carries this upload's binding (always, where there is none).
    pub(super) fn binding_holds(
        &self,
        provider: &dyn Provider,
        rec: &UploadRecord,
        meta: &ObjectMeta,
    ) -> bool {
        if self.object_binding(provider, rec).is_none() {
            return true;
        }
        let scope = TicketScope::Object {
            upload_id: rec.id.as_str(),
            key: &rec.key,
            declared_size: None,
        };
        let Some((id, presented)) = meta.binding.as_deref().and_then(|b| b.split_once('.')) else {
            return false;
        };
        // Both checks always run: no early exit that times which part differed.
        let same_id = id.as_bytes().ct_eq(rec.id.as_str().as_bytes());
        let ticket_ok = ticket::verify(self.ticket_secret(), rec.user.as_str(), &scope, presented);
        bool::from(same_id) & ticket_ok
    }
}

/// The upload a stored object's binding names, unverified: load the record, then check
/// [`Uploads::binding_holds`].
pub(super) fn claimed_upload(meta: &ObjectMeta) -> Option<UploadId> {
    let (id, _) = meta.binding.as_deref()?.split_once('.')?;
    UploadId::parse(id).ok()
}
