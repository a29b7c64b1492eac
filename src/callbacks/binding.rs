//! What a genuine callback is about, proven from its `x:` variables and the ticket alone (no
//! Redis read), so that the same proof holds whether the callback is recorded at once or
//! journaled and replayed later.

use crate::config::Settings;
use crate::domain::ticket::{self, TicketScope};
use crate::domain::{UploadId, UploadKind, UserId};
use crate::providers::CallbackFields;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Binding {
    /// One upload the gateway issued for exactly this object key, and the size its client
    /// declared (bound by the ticket), so the size rule holds without the record.
    Upload {
        upload_id: UploadId,
        user: UserId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        declared_size: Option<u64>,
    },
    /// One upload whose client named the object under `prefix` (a PostObject form); the
    /// record takes the object's key when it arrives.
    FormUpload {
        upload_id: UploadId,
        user: UserId,
        prefix: String,
    },
    /// An object under the prefix of an STS grant; `upload_id` is the record the object gets
    /// (chosen on arrival, kept through journal and replay so that both name one record).
    Grant {
        grant_id: UploadId,
        user: UserId,
        profile: String,
        prefix: String,
        upload_id: UploadId,
    },
}

impl Binding {
    pub fn upload_id(&self) -> &UploadId {
        match self {
            Binding::Upload { upload_id, .. }
            | Binding::FormUpload { upload_id, .. }
            | Binding::Grant { upload_id, .. } => upload_id,
        }
    }

    pub fn user(&self) -> &UserId {
        match self {
            Binding::Upload { user, .. }
            | Binding::FormUpload { user, .. }
            | Binding::Grant { user, .. } => user,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    #[error("the callback carries neither x:upload_id nor x:grant_id, or no x:ticket")]
    Missing,
    #[error("the callback's ticket does not vouch for this {0}")]
    Mismatch(&'static str),
}

/// A key strictly below `prefix`, and one the gateway would accept as an object key.
fn under(key: &str, prefix: &str) -> bool {
    key.len() > prefix.len()
        && key.starts_with(prefix)
        && crate::domain::ObjectKey::parse(key).is_ok()
}

pub fn bind(settings: &Settings, fields: &CallbackFields) -> Result<Binding, BindingError> {
    let secret = {
        use secrecy::ExposeSecret;
        settings.ticket_secret.expose_secret().as_bytes()
    };
    let presented = fields.vars.get("ticket").ok_or(BindingError::Missing)?;
    let user = ticket::claimed_user(presented)
        .and_then(|u| UserId::parse(u).ok())
        .ok_or(BindingError::Mismatch("user"))?;
    // The object must sit in a bucket some profile uploads to.
    let profiles = settings
        .profiles
        .values()
        .filter(|p| p.callback && p.bucket.bucket == fields.bucket);

    if let Some(id) = fields.vars.get("upload_id") {
        let upload_id = UploadId::parse(id).map_err(|_| BindingError::Mismatch("upload id"))?;
        let declared_size = match fields.vars.get("declared_size") {
            None => None,
            Some(n) => Some(
                n.parse::<u64>()
                    .map_err(|_| BindingError::Mismatch("declared size"))?,
            ),
        };
        let profiles: Vec<_> = profiles.collect();
        let scope = TicketScope::Object {
            upload_id: upload_id.as_str(),
            key: &fields.object,
            declared_size,
        };
        if !profiles.is_empty() && ticket::verify(secret, user.as_str(), &scope, presented) {
            return Ok(Binding::Upload {
                upload_id,
                user,
                declared_size,
            });
        }
        // A form whose client picked the name: the ticket names the user's prefix.
        for p in profiles.iter().filter(|p| p.client_chosen_name) {
            let prefix = p.template.prefix_for(&user);
            let scope = TicketScope::Prefix {
                grant_id: upload_id.as_str(),
                prefix: prefix.as_str(),
            };
            if under(&fields.object, prefix.as_str())
                && ticket::verify(secret, user.as_str(), &scope, presented)
            {
                return Ok(Binding::FormUpload {
                    upload_id,
                    user,
                    prefix: prefix.as_str().to_string(),
                });
            }
        }
        return Err(BindingError::Mismatch("upload and object"));
    }

    let grant = fields.vars.get("grant_id").ok_or(BindingError::Missing)?;
    let grant_id = UploadId::parse(grant).map_err(|_| BindingError::Mismatch("grant id"))?;
    for p in profiles.filter(|p| p.kinds.contains(&UploadKind::Sts)) {
        let prefix = p.template.prefix_for(&user);
        let scope = TicketScope::Prefix {
            grant_id: grant_id.as_str(),
            prefix: prefix.as_str(),
        };
        if under(&fields.object, prefix.as_str())
            && ticket::verify(secret, user.as_str(), &scope, presented)
        {
            return Ok(Binding::Grant {
                grant_id,
                user,
                profile: p.name.clone(),
                prefix: prefix.as_str().to_string(),
                upload_id: UploadId::new(),
            });
        }
    }
    Err(BindingError::Mismatch("grant and object prefix"))
}
