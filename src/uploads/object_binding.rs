//! The binding a right stores with its object, for providers that keep one and show it on
//! HeadObject ([`Provider::binds_uploads`], COS's `x-cos-meta-*`): the upload's ticket for
//! exactly its key, so a storage check completes an upload only with the object its own
//! right wrote, not one an STS holder or another right put at the same key. It names its
//! upload too ([`ticket::object_binding`]), so a notification naming only the key finds it.

use super::Uploads;
use crate::domain::ticket::{self, TicketScope};
use crate::domain::{UploadKind, UploadRecord};
use crate::providers::{ObjectMeta, Provider};

impl Uploads {
    /// The value the right must carry, where the provider binds uploads.
    pub(super) fn object_binding(
        &self,
        provider: &dyn Provider,
        rec: &UploadRecord,
    ) -> Option<String> {
        let bound = matches!(
            rec.kind,
            UploadKind::Presign | UploadKind::Append | UploadKind::Form
        );
        (bound && provider.binds_uploads()).then(|| {
            ticket::object_binding(
                self.ticket_secret(),
                rec.user.as_str(),
                rec.id.as_str(),
                &rec.key,
            )
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
        };
        meta.binding.as_deref().is_some_and(|stored| {
            let (id, presented) = ticket::split_object_binding(stored);
            id.is_none_or(|id| id == rec.id.as_str())
                && ticket::verify(self.ticket_secret(), rec.user.as_str(), &scope, presented)
        })
    }
}
