//! The uploads service: everything the routes ask for, decided here. Routes parse and answer;
//! this layer applies the profile rules, plans keys and callbacks, and drives the providers
//! (signing, storage calls) and the store. Built once at start-up with exactly what it needs.
//!
//! - [`rules`]: profile checks (kind, content type, size, MD5).
//! - [`plan`]: one object upload planned from a [`PutObject`]: key, record, callback.
//! - [`issue`]: presigned PUT and append URLs, PostObject forms.
//! - [`create`]: `POST /v1/uploads`, which picks simple or multipart by size.
//! - [`grants`]: STS credentials, cached per (user, profile), single-flight.
//! - [`multipart`]: the multipart relay; [`sweeper`] aborts what is stale.
//! - [`confirm`]: asking storage when a callback never came, and the reconciler;
//!   `landed`: the same check for an object a storage notification names by key;
//!   `confirm_object`: the same for one object written with an STS grant's keys.
//! - [`hint`]: an unsigned storage callback (COS) taken as a hint to ask storage.
//! - [`notified`]: storage event notifications (SNS, MinIO), each object checked in storage.
//! - [`objects`]: the owner's downloads and deletes of completed uploads.
//! - [`app_server`]: PostObject forms in the JSON of Alibaba's app-server samples.
//! - [`hook`]: the app backend's pre-upload hook, the gate every right passes first.
//! - [`quota`]: per-user quotas reserved with each right, settled on completion.

pub mod app_server;
pub mod confirm;
mod confirm_object;
pub mod create;
pub mod grants;
pub mod hint;
pub mod hook;
pub mod issue;
mod landed;
pub mod multipart;
mod notified;
mod object_binding;
pub mod objects;
mod plan;
pub mod quota;
pub mod rules;
pub mod scope;
pub mod sweeper;
mod upstream;

pub use plan::PutObject;

use crate::config::{Profile, Settings};
use crate::domain::{UploadId, UploadRecord, UserId};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::providers::{Provider, Providers};
use crate::store::{ListPage, ListQuery, RateDecision, Store};
use std::sync::Arc;
use time::OffsetDateTime;

/// Where the service reads the time (tests can pin it).
pub type Clock = fn() -> OffsetDateTime;

pub struct Uploads {
    settings: Arc<Settings>,
    store: Store,
    providers: Providers,
    metrics: Arc<Metrics>,
    grants: grants::GrantCache,
    /// Storage event notification routes (SNS, MinIO webhooks), by route name.
    notifiers: notified::Notifiers,
    hook_client: hook::HookClient,
    clock: Clock,
}

impl Uploads {
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        providers: Providers,
        metrics: Arc<Metrics>,
    ) -> Uploads {
        let hook_client = hook::HookClient::new(&settings.pre_upload);
        hook::export_zeroes(&settings, &metrics);
        Uploads {
            settings,
            store,
            providers,
            metrics,
            grants: grants::cache(),
            notifiers: Default::default(),
            hook_client,
            clock: OffsetDateTime::now_utc,
        }
    }

    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    fn ticket_secret(&self) -> &[u8] {
        use secrecy::ExposeSecret;
        self.settings.ticket_secret.expose_secret().as_bytes()
    }

    fn profile(&self, name: &str) -> Result<&Arc<Profile>, ApiError> {
        self.settings
            .profile(name)
            .ok_or_else(|| ApiError::UnknownProfile(name.chars().take(64).collect()))
    }

    fn provider_for(&self, profile: &Profile) -> Result<Arc<dyn Provider>, ApiError> {
        self.providers
            .get(&profile.bucket.name)
            .cloned()
            .ok_or_else(|| {
                ApiError::internal(format!("no provider for bucket {}", profile.bucket.name))
            })
    }

    /// Profile and provider of an existing record.
    fn profile_of(
        &self,
        rec: &UploadRecord,
    ) -> Result<(Arc<Profile>, Arc<dyn Provider>), ApiError> {
        let profile = self.profile(&rec.profile)?.clone();
        let provider = self.provider_for(&profile)?;
        Ok((profile, provider))
    }

    /// Counts one credential-issuing request against the caller's rate limit.
    async fn check_rate_limit(&self, user: &UserId, route: &str) -> Result<(), ApiError> {
        let rl = &self.settings.rate_limit;
        if !rl.enabled {
            return Ok(());
        }
        match self
            .store
            .rate_limit(user, "issue", rl.per_minute, rl.burst)
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

    fn count_issued(&self, provider: &dyn Provider, kind: crate::domain::UploadKind, p: &Profile) {
        self.metrics
            .credentials_issued_total
            .with_label_values(&[provider.kind(), kind.as_str(), &p.name])
            .inc();
    }

    /// Loads a record the caller owns. Malformed ids, missing records and other users'
    /// records all answer the same 404, so ids cannot be probed.
    pub async fn load_own(&self, user: &UserId, id: &str) -> Result<UploadRecord, ApiError> {
        let not_found = || ApiError::NotFound("upload not found".into());
        let id = UploadId::parse(id).map_err(|_| not_found())?;
        match self.store.get_record(&id).await? {
            Some(rec) if rec.user == *user => Ok(rec),
            _ => Err(not_found()),
        }
    }

    /// Where a record's object lives (unsigned).
    pub fn object_url(&self, rec: &UploadRecord) -> Result<String, ApiError> {
        let (_, provider) = self.profile_of(rec)?;
        Ok(provider.object_url(&rec.key))
    }

    /// The caller's uploads, newest first.
    pub async fn list(&self, user: &UserId, q: &ListQuery) -> Result<ListPage, ApiError> {
        Ok(self.store.list_records(user, q).await?)
    }
}
