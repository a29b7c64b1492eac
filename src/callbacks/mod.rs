//! The upload callback: storage calls the gateway once an object lands. Proven genuine
//! ([`signature`], with keys from [`keys`]), bound to what the gateway issued ([`ticket`],
//! [`binding`]), recorded exactly once ([`record`]) or, while Redis cannot take it, held in
//! the fsync'd [`journal`] and replayed. (Uploads whose callback never came are completed
//! by [`crate::uploads::confirm`].)

pub mod binding;
pub mod body;
pub mod journal;
pub mod keys;
pub mod receiver;
pub mod record;
pub mod signature;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use receiver::Receiver;

/// A callback that passed every check that needs no Redis: genuine signature, parsed body,
/// ticket binding. This is what the journal holds and what [`record::apply`] records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub provider: String,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub binding: binding::Binding,
    pub fields: body::CallbackFields,
}
