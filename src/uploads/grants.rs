//! STS grants: temporary credentials for one (user, profile), cached until shortly before
//! they expire. A burst of requests for the same pair makes one STS call (moka's
//! single-flight), which matters because STS rate-limits AssumeRole.

use super::hook::{Admission, HookAsk};
use super::{Uploads, rules};
use crate::config::Profile;
use crate::domain::sdk_token::{self, SdkTokenError};
use crate::domain::{CallbackVars, RecordTarget, UploadId, UploadKind, UploadRecord, UserId};
use crate::error::ApiError;
use crate::providers::{CredentialScope, Provider, ScopedCredentials};
use moka::Expiry;
use moka::future::Cache;
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

pub type GrantCache = Cache<GrantKey, Arc<Grant>>;

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

pub fn cache() -> GrantCache {
    Cache::builder()
        .max_capacity(100_000)
        .expire_after(UntilShortlyBeforeExpiry)
        .build()
}

/// A stable, non-identifying STS session name (`[A-Za-z0-9.@_-]{2,64}`).
fn session_name(user: &UserId) -> String {
    let h = Sha256::digest(user.as_str().as_bytes());
    format!("ugw-{}", hex::encode(&h[..12]))
}

/// A grant and what the answer shows of its profile and provider.
pub struct IssuedGrant {
    pub grant: Arc<Grant>,
    pub profile: Arc<Profile>,
    pub provider: Arc<dyn Provider>,
}

impl Uploads {
    /// A URL a mobile SDK's stock credential provider can GET without any header: it carries
    /// a token for this user and profile, valid for `auth.sdk_url_ttl_secs`.
    pub fn sdk_credential_url(
        &self,
        user: &UserId,
        profile: &str,
    ) -> Result<(String, OffsetDateTime), ApiError> {
        let profile = self.profile(profile)?;
        rules::require_kind(profile, UploadKind::Sts)?;
        let expires = self.now() + self.settings.auth.sdk_url_ttl;
        let token = sdk_token::issue(
            self.ticket_secret(),
            user.as_str(),
            &profile.name,
            expires.unix_timestamp(),
        );
        let base = self.settings.public_url.as_str().trim_end_matches('/');
        let mut url = url::Url::parse(&format!("{base}/v1/credentials/oss-sdk"))
            .map_err(ApiError::internal)?;
        url.query_pairs_mut()
            .append_pair("profile", &profile.name)
            .append_pair("token", &token);
        Ok((url.to_string(), expires))
    }

    /// The user an SDK credential-URL token vouches for, for `profile`.
    pub fn sdk_token_user(&self, token: &str, profile: &str) -> Result<UserId, ApiError> {
        let now = self.now().unix_timestamp();
        match sdk_token::verify(self.ticket_secret(), token, profile, now) {
            Ok(user) => UserId::parse(user).map_err(|_| ApiError::InvalidToken("malformed".into())),
            Err(SdkTokenError::Expired) => Err(ApiError::TokenExpired),
            Err(e) => Err(ApiError::InvalidToken(e.to_string())),
        }
    }

    /// Temporary credentials for the caller's prefix under `profile` (cached).
    pub async fn credentials(&self, user: &UserId, profile: &str) -> Result<IssuedGrant, ApiError> {
        let profile = self.profile(profile)?.clone();
        rules::require_kind(&profile, UploadKind::Sts)?;
        self.check_rate_limit(user, "credentials").await?;
        // Asked on every request, cached grant or not: handing one out is issuing a right.
        let admission = self
            .admit(
                user,
                &profile,
                &HookAsk {
                    kind: UploadKind::Sts,
                    filename: None,
                    content_type: None,
                    size: None,
                    metadata: &Default::default(),
                },
            )
            .await?;
        let provider = self.provider_for(&profile)?;
        let grant = self
            .grant(user, &profile, provider.as_ref(), &admission)
            .await?;
        self.count_issued(provider.as_ref(), UploadKind::Sts, &profile);
        Ok(IssuedGrant {
            grant,
            profile,
            provider,
        })
    }

    /// As [`Uploads::credentials`], for an SDK's answer shape that only one vendor's keys fit
    /// (the AWS SDKs' container credentials: `kind = "s3"`).
    pub async fn credentials_for_kind(
        &self,
        user: &UserId,
        profile: &str,
        kind: &str,
    ) -> Result<IssuedGrant, ApiError> {
        let p = self.profile(profile)?.clone();
        let provider = self.provider_for(&p)?;
        if provider.kind() != kind {
            return Err(ApiError::InvalidArgument(format!(
                "profile '{profile}' is on a {} bucket; this route answers for {kind} buckets only (POST /v1/credentials answers for every bucket)",
                provider.kind()
            )));
        }
        self.credentials(user, profile).await
    }

    async fn grant(
        &self,
        user: &UserId,
        profile: &Arc<Profile>,
        provider: &dyn Provider,
        admission: &Admission,
    ) -> Result<Arc<Grant>, ApiError> {
        if provider.credentials().is_none() {
            return Err(rules::kind_not_allowed(profile, "sts"));
        }
        let missed = AtomicBool::new(false);
        let key = (user.as_str().to_string(), profile.name.clone());
        // Timed here, not only around the STS call: requests that wait for another's call to
        // the same grant wait on STS as long as it does.
        let result = crate::upstream_wait::timed(self.grants.try_get_with(key, async {
            missed.store(true, Ordering::Relaxed);
            self.issue_grant(user, profile, provider, admission)
                .await
                .map(Arc::new)
        }))
        .await;
        let label = if missed.load(Ordering::Relaxed) {
            "miss"
        } else {
            "hit"
        };
        self.metrics
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
                ApiError::QuotaExceeded(q) => ApiError::QuotaExceeded(q.clone()),
                other => ApiError::internal(other.to_string()),
            })
        })
    }

    async fn issue_grant(
        &self,
        user: &UserId,
        profile: &Arc<Profile>,
        provider: &dyn Provider,
        admission: &Admission,
    ) -> Result<Grant, ApiError> {
        let issuer = provider
            .credentials()
            .ok_or_else(|| rules::kind_not_allowed(profile, "sts"))?;
        let prefix = profile.template.prefix_for(user);
        let id = UploadId::new();
        let now = self.now();

        let started = Instant::now();
        let content_types: Vec<String> = profile
            .content_types
            .iter()
            .map(|c| c.to_string())
            .collect();
        let scope = CredentialScope {
            prefix: prefix.as_str(),
            allow_append: profile.kinds.contains(&UploadKind::Append),
            content_types: &content_types,
            max_size: Some(profile.max_size),
        };
        let outcome = issuer.issue_scoped(&scope, &session_name(user), now).await;
        self.metrics
            .sts_request_duration_seconds
            .with_label_values(&[provider.kind()])
            .observe(started.elapsed().as_secs_f64());
        let credentials = outcome.inspect_err(|e| {
            self.metrics
                .sts_errors_total
                .with_label_values(&[provider.kind(), e.class()])
                .inc();
        })?;

        let callback_params = if profile.callback {
            let vars = CallbackVars::for_grant(self.ticket_secret(), user, &id, prefix.as_str());
            let cb = self.callback_request(profile, vars);
            provider
                .check_callback(&cb)
                .map_err(ApiError::InvalidArgument)?;
            provider.callback_params(&cb).unwrap_or_default()
        } else {
            Vec::new()
        };

        let record = UploadRecord::issued(
            id.clone(),
            user.clone(),
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
        let mut record = record;
        record.hook_metadata = admission.metadata.clone();
        self.record_issued(&mut record, profile, admission).await?;
        Ok(Grant {
            id,
            prefix: prefix.as_str().to_string(),
            credentials,
            callback_params,
        })
    }
}
