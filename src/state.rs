//! What every handler can reach, built once at start-up.

use crate::auth::AuthUser;
use crate::config::{Profile, Settings};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::providers::Providers;
use crate::store::{RateDecision, Store};
use std::sync::Arc;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub providers: Providers,
    pub grants: moka::future::Cache<(String, String), Arc<crate::grants::Grant>>,
    pub callbacks: Arc<crate::callbacks::Receiver>,
}

impl AppState {
    pub fn profile(&self, name: &str) -> Result<&Arc<Profile>, ApiError> {
        self.settings
            .profile(name)
            .ok_or_else(|| ApiError::UnknownProfile(name.chars().take(64).collect()))
    }

    /// Counts one credential-issuing request against the caller's rate limit.
    pub async fn check_rate_limit(&self, who: &AuthUser, route: &str) -> Result<(), ApiError> {
        let rl = &self.settings.rate_limit;
        if !rl.enabled {
            return Ok(());
        }
        match self
            .store
            .rate_limit(&who.user, "issue", rl.per_minute, rl.burst)
            .await?
        {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited { retry_after } => {
                self.metrics
                    .rate_limited_total
                    .with_label_values(&[route])
                    .inc();
                Err(ApiError::RateLimited {
                    retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64,
                })
            }
        }
    }
}
