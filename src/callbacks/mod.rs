//! Recording what storage proved: a [`VerifiedCallback`](crate::providers::VerifiedCallback)
//! (made by a provider's verifier, or by a storage check) is bound to what the gateway
//! issued ([`binding`]: the ticket), recorded exactly once ([`record`]) or, while Redis
//! cannot take it, held in the fsync'd [`journal`] and replayed. [`receiver`] runs one
//! callback from arrival to answer. Nothing here knows a vendor.

pub mod binding;
pub mod inspect;
pub mod journal;
pub mod receiver;
pub mod record;
pub mod trust;

use crate::providers::VerifiedCallback;
use serde::{Deserialize, Serialize};

pub use receiver::Receiver;

/// A verified arrival and the issued right it is bound to: what the journal holds and what
/// [`record::apply`] records. Flattened so the journal keeps its line format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    #[serde(flatten)]
    pub callback: VerifiedCallback,
    pub binding: binding::Binding,
}
