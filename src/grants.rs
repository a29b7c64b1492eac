//! STS grants: temporary credentials for one (user, profile), cached until shortly before
//! they expire. A burst of requests for the same pair makes one STS call (moka's
//! single-flight), which matters because STS rate-limits AssumeRole.

use crate::auth::AuthUser;
use crate::callbacks::ticket::{self, TicketScope};
use crate::config::Profile;
use crate::domain::{RecordTarget, UploadId, UploadKind, UploadRecord};
use crate::error::ApiError;
use crate::providers::{CallbackRequest, ScopedCredentials};
use crate::rights;
use crate::state::AppState;
use moka::Expiry;
use moka::future::Cache;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub struct Grant {
    pub id: UploadId,
    pub prefix: String,
    pub credentials: ScopedCredentials,
    /// `callback` / `callback-var` the client attaches to each PutObject.
    pub callback_params: Vec<(String, String)>,
}

type GrantKey = (String, String);

struct UntilShortlyBeforeExpiry;

impl Expiry<GrantKey, Arc<Grant>> for UntilShortlyBeforeExpiry {
    fn expire_after_create(&self, _k: &GrantKey, g: &Arc<Grant>, _at: Instant) -> Option<Duration> {
        let left = (g.credentials.expiration - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
        let left = Duration::try_from(left).unwrap_or_default();
        // Hand out credentials with at least a quarter of their life (and 5 min) left: the
        // iOS SDK refetches below 5 min anyway.
        let margin = (left / 4).max(Duration::from_secs(300)).min(left);
        Some(left - margin)
    }
}

pub fn cache() -> Cache<GrantKey, Arc<Grant>> {
    Cache::builder()
        .max_capacity(100_000)
        .expire_after(UntilShortlyBeforeExpiry)
        .build()
}

/// A stable, non-identifying STS session name (`[A-Za-z0-9.@_-]{2,64}`).
fn session_name(who: &AuthUser) -> String {
    let h = Sha256::digest(who.user.as_str().as_bytes());
    format!("ugw-{}", hex::encode(&h[..12]))
}

pub async fn get(
    state: &AppState,
    who: &AuthUser,
    profile: &Arc<Profile>,
) -> Result<Arc<Grant>, ApiError> {
    let provider = rights::provider_for(state, profile)?;
    if provider.credentials().is_none() {
        return Err(ApiError::KindNotAllowed {
            profile: profile.name.clone(),
            kind: "sts",
        });
    }
    let missed = AtomicBool::new(false);
    let key = (who.user.as_str().to_string(), profile.name.clone());
    let result = state
        .grants
        .try_get_with(key, async {
            missed.store(true, Ordering::Relaxed);
            issue(state, who, profile).await.map(Arc::new)
        })
        .await;
    let label = if missed.load(Ordering::Relaxed) {
        "miss"
    } else {
        "hit"
    };
    state
        .metrics
        .sts_cache_total
        .with_label_values(&[label])
        .inc();
    result.map_err(|e: Arc<ApiError>| {
        Arc::try_unwrap(e).unwrap_or_else(|shared| match &*shared {
            // Waiters that shared a failed call get the same answer.
            ApiError::UpstreamTimeout(s) => ApiError::UpstreamTimeout(s),
            ApiError::UpstreamFailed { service, detail } => ApiError::UpstreamFailed {
                service,
                detail: detail.clone(),
            },
            ApiError::StoreUnavailable => ApiError::StoreUnavailable,
            other => ApiError::internal(other.to_string()),
        })
    })
}

async fn issue(
    state: &AppState,
    who: &AuthUser,
    profile: &Arc<Profile>,
) -> Result<Grant, ApiError> {
    let provider = rights::provider_for(state, profile)?;
    let issuer = provider.credentials().expect("checked by the caller");
    let prefix = profile.template.prefix_for(&who.user);
    let id = UploadId::new();
    let now = OffsetDateTime::now_utc();

    let started = Instant::now();
    let outcome = issuer.issue(prefix.as_str(), &session_name(who), now).await;
    state
        .metrics
        .sts_request_duration_seconds
        .with_label_values(&[provider.kind()])
        .observe(started.elapsed().as_secs_f64());
    let credentials = outcome.inspect_err(|e| {
        state
            .metrics
            .sts_errors_total
            .with_label_values(&[provider.kind(), e.class()])
            .inc();
    })?;

    let callback_params = if profile.callback {
        let t = ticket::issue(
            state.settings.ticket_secret.expose_secret().as_bytes(),
            who.user.as_str(),
            &TicketScope::Prefix {
                grant_id: id.as_str(),
                prefix: prefix.as_str(),
            },
        );
        let cb = CallbackRequest {
            body_type: profile.callback_body_type,
            image_info: rights::image_info(profile),
            vars: vec![
                ("grant_id".into(), id.as_str().to_string()),
                ("ticket".into(), t),
            ],
        };
        rights::check_callback_size(provider.as_ref(), &cb)?;
        provider.callback_params(&cb).unwrap_or_default()
    } else {
        Vec::new()
    };

    let record = UploadRecord::issued(
        id.clone(),
        who.user.clone(),
        UploadKind::Sts,
        RecordTarget {
            profile: &profile.name,
            provider: provider.kind(),
            bucket: &profile.bucket.bucket,
            key: prefix.as_str(),
        },
        now,
        credentials.expiration,
    );
    state.store.create_record(&record).await?;
    Ok(Grant {
        id,
        prefix: prefix.as_str().to_string(),
        credentials,
        callback_params,
    })
}
