//! Per-user quotas as the service applies them: which scopes a profile counts against, how
//! much a right reserves, what a refusal tells the client, and the caller's own usage.
//!
//! A right reserves its declared size, or the size limit in force (the profile's, or the
//! hook's smaller one) when none is declared (forms, Uppy, append, STS grants), and one
//! object. Completion settles the reservation with the size storage reports; expiry, abort,
//! failure and delete release it (see `store::quotas`).

use super::Uploads;
use super::hook::Admission;
use crate::config::{Profile, QuotaLimits};
use crate::domain::{UploadRecord, UserId};
use crate::error::{ApiError, QuotaRefusal};
use crate::store::{Reservation, ScopeLimit};
use serde::Serialize;
use std::collections::BTreeMap;

/// The scope counting every profile together.
pub const ALL: &str = "all";

fn profile_scope(profile: &str) -> String {
    format!("profile:{profile}")
}

/// How long past its right's expiry a reservation is left alone before a repair looks at its
/// record (a callback may arrive a little late).
const REPAIR_GRACE_SECS: i64 = 600;

/// One scope of the caller's usage.
#[derive(Debug, Serialize)]
pub struct ScopeUsage {
    pub scope: String,
    pub used_bytes: u64,
    pub used_objects: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_remaining: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_remaining: Option<u64>,
}

/// `GET /v1/quota`.
#[derive(Debug, Serialize)]
pub struct QuotaView {
    pub scopes: Vec<ScopeUsage>,
    /// Uploads whose reservation is held (issued, not yet completed or ended).
    pub pending_uploads: u64,
}

impl Uploads {
    /// The scopes `profile` counts against, with their limits.
    fn quota_scopes(&self, profile: &Profile) -> Vec<(String, QuotaLimits)> {
        let mut out = Vec::new();
        if let Some(q) = self.settings.quota {
            out.push((ALL.to_string(), q));
        }
        if let Some(q) = profile.quota {
            out.push((profile_scope(&profile.name), q));
        }
        out
    }

    fn limits_of(&self, scope: &str) -> Option<QuotaLimits> {
        if scope == ALL {
            return self.settings.quota;
        }
        let name = scope.strip_prefix("profile:")?;
        self.settings.profile(name)?.quota
    }

    /// Reserves room for `rec` under every scope of its profile and marks the record with
    /// them; refuses (`quota-exceeded`) when one has none. Call before the record is stored;
    /// when storing or signing fails afterwards, [`Uploads::give_back_quota`].
    pub(super) async fn reserve_quota(
        &self,
        rec: &mut UploadRecord,
        profile: &Profile,
        admission: &Admission,
    ) -> Result<(), ApiError> {
        let scopes = self.quota_scopes(profile);
        if scopes.is_empty() {
            return Ok(());
        }
        let bytes = rec
            .declared_size
            .unwrap_or_else(|| admission.max_size(profile));
        let limits: Vec<ScopeLimit<'_>> = scopes
            .iter()
            .map(|(scope, q)| ScopeLimit {
                scope,
                bytes: q.bytes,
                objects: q.objects,
            })
            .collect();
        let deadline = rec.expires_at + time::Duration::seconds(REPAIR_GRACE_SECS);
        let mut answer = self
            .store
            .reserve_quota(&rec.user, &rec.id, bytes, deadline, &limits)
            .await?;
        if matches!(answer, Reservation::Refused { .. })
            && self.store.repair_quota(&rec.user, self.now()).await? > 0
        {
            // Reservations left behind by a crash were settled: ask once more.
            answer = self
                .store
                .reserve_quota(&rec.user, &rec.id, bytes, deadline, &limits)
                .await?;
        }
        match answer {
            Reservation::Held => {
                rec.quota = scopes.into_iter().map(|(s, _)| s).collect();
                Ok(())
            }
            Reservation::Refused {
                scope,
                used_bytes,
                used_objects,
            } => {
                self.metrics
                    .quota_refused_total
                    .with_label_values(&[&profile.name])
                    .inc();
                let q = self.limits_of(&scope).unwrap_or(QuotaLimits {
                    bytes: None,
                    objects: None,
                });
                Err(ApiError::QuotaExceeded(Box::new(QuotaRefusal {
                    scope,
                    requested_bytes: bytes,
                    bytes_limit: q.bytes,
                    bytes_remaining: q.bytes.map(|b| b.saturating_sub(used_bytes)),
                    objects_limit: q.objects,
                    objects_remaining: q.objects.map(|o| o.saturating_sub(used_objects)),
                })))
            }
        }
    }

    /// Releases the reservation of a right that was never handed out (best effort: the
    /// repair releases it later if this fails too, since its record does not exist).
    pub(super) async fn give_back_quota(&self, rec: &UploadRecord) {
        if rec.quota.is_empty() {
            return;
        }
        if let Err(e) = self.store.release_quota(&rec.user, &rec.id).await {
            tracing::warn!(upload_id = %rec.id, error = %e, "quota reservation not released yet");
        }
    }

    /// The caller's usage under every scope that limits it (reservations included). Settles
    /// reservations a crash left behind first.
    pub async fn quota(&self, user: &UserId) -> Result<QuotaView, ApiError> {
        self.store.repair_quota(user, self.now()).await?;
        let (used, pending_uploads) = self.store.quota_usage(user).await?;
        let mut limited: BTreeMap<String, QuotaLimits> = BTreeMap::new();
        if let Some(q) = self.settings.quota {
            limited.insert(ALL.to_string(), q);
        }
        for p in self.settings.profiles.values() {
            if let Some(q) = p.quota {
                limited.insert(profile_scope(&p.name), q);
            }
        }
        let scopes = limited
            .into_iter()
            .map(|(scope, q)| {
                let (b, o) = used.get(&scope).copied().unwrap_or_default();
                ScopeUsage {
                    bytes_limit: q.bytes,
                    bytes_remaining: q.bytes.map(|l| l.saturating_sub(b)),
                    objects_limit: q.objects,
                    objects_remaining: q.objects.map(|l| l.saturating_sub(o)),
                    scope,
                    used_bytes: b,
                    used_objects: o,
                }
            })
            .collect();
        Ok(QuotaView {
            scopes,
            pending_uploads,
        })
    }
}
