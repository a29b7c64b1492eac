//! What every handler can reach, built once at start-up.

use crate::callbacks::Receiver;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::uploads::Uploads;
use std::sync::Arc;

pub struct AppState {
    pub settings: Arc<Settings>,
    /// For readiness checks; the services hold their own handles.
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub uploads: Arc<Uploads>,
    pub callbacks: Arc<Receiver>,
}
