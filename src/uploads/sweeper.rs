//! The stale-upload sweeper: multipart uploads past their deadline are aborted upstream and
//! marked `expired`; uploads storage still holds under the gateway's prefixes that are older
//! than `multipart.orphan_age_secs` (left by a crash between initiate and record, or by a
//! record that expired away) are aborted too. One replica sweeps at a time (a Redis lock).
//!
//! Before a due upload is aborted, storage is asked whether it already holds the object:
//! CompleteMultipartUpload may have succeeded while its answer to the gateway was lost, and
//! aborting then would be a no-op while the record said `expired` for an object that exists.

use super::Uploads;
use super::confirm::Outcome;
use super::multipart::api;
use crate::domain::{UploadKind, UploadRecord, UploadStatus};
use crate::error::ApiError;
use crate::store::{DueKind, TransitionOutcome};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const BATCH: usize = 100;
/// Pages of ListMultipartUploads one sweep follows per prefix.
const MAX_PAGES: usize = 10;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// False when another replica holds the lock.
    pub ran: bool,
    pub expired: usize,
    /// Due uploads storage had finished after all (completed from its HeadObject).
    pub completed: usize,
    pub orphans: usize,
    pub errors: usize,
}

impl Uploads {
    /// One sweep, if this replica takes the lock.
    pub async fn sweep_once(&self) -> Result<Sweep, ApiError> {
        let state = self;
        let interval = Duration::from_secs(state.settings.multipart.sweep_interval_secs.max(1));
        if !state.store.try_lock("multipart-sweep", interval).await? {
            return Ok(Sweep::default());
        }
        let started = Instant::now();
        let mut sweep = Sweep {
            ran: true,
            ..Sweep::default()
        };
        self.expire_due(&mut sweep).await?;
        self.abort_orphans(&mut sweep).await;
        let m = &state.metrics;
        m.sweep_duration_seconds
            .with_label_values(&["multipart"])
            .observe(started.elapsed().as_secs_f64());
        if sweep.errors > 0 {
            m.sweep_errors_total
                .with_label_values(&["multipart"])
                .inc_by(sweep.errors as u64);
        }
        Ok(sweep)
    }

    async fn expire_due(&self, sweep: &mut Sweep) -> Result<(), ApiError> {
        let state = self;
        let due = state
            .store
            .due_uploads_of(state.now(), BATCH, DueKind::Multipart)
            .await?;
        for id in due {
            let Some(rec) = state.store.get_record(&id).await? else {
                continue;
            };
            if rec.kind != UploadKind::Multipart || rec.status.is_final() {
                continue;
            }
            let Some(storage_id) = rec.storage_upload_id.as_deref() else {
                continue;
            };
            match self.landed_after_all(&rec).await {
                Ok(true) => {
                    sweep.completed += 1;
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    sweep.errors += 1;
                    tracing::warn!(upload_id = %rec.id, error = %e, "sweeper: storage check failed; will retry");
                    continue;
                }
            }
            let result = async {
                let (profile, provider) = state.profile_of(&rec)?;
                let mp = api(provider.as_ref(), &profile.name)?;
                state
                    .abort_upstream(provider.as_ref(), mp, &rec.key, storage_id)
                    .await?;
                Ok::<_, ApiError>(())
            }
            .await;
            if let Err(e) = result {
                sweep.errors += 1;
                tracing::warn!(upload_id = %rec.id, error = %e, "sweeper: abort failed; will retry");
                continue;
            }
            let outcome = state
                .store
                .finish_record(&rec.id, UploadStatus::Expired)
                .await?;
            if let TransitionOutcome::Applied(..) = outcome {
                sweep.expired += 1;
                state
                    .metrics
                    .sweeper_aborted_total
                    .with_label_values(&["expired"])
                    .inc();
            }
        }
        Ok(())
    }

    /// Whether storage holds this due upload's object, which then settles the record (as
    /// `completed`, or `failed` when it breaks the profile) instead of an abort. Only where
    /// the object at the key can only be this upload's: it carries the upload's binding
    /// (providers that bind multipart uploads) or the key template is unique per upload.
    async fn landed_after_all(&self, rec: &UploadRecord) -> Result<bool, ApiError> {
        let (profile, provider) = self.profile_of(rec)?;
        if !provider.binds_multipart() && !profile.template.is_unique_per_upload() {
            return Ok(false);
        }
        let (outcome, _) = self.check_storage(rec, "sweeper").await?;
        Ok(matches!(
            outcome,
            Outcome::Completed | Outcome::AlreadyFinal | Outcome::Rejected
        ))
    }

    async fn abort_orphans(&self, sweep: &mut Sweep) {
        let state = self;
        let max_age = time::Duration::seconds(state.settings.multipart.orphan_age_secs as i64);
        let cutoff = state.now() - max_age;
        // One scan per (bucket, shared prefix) of the profiles that allow multipart.
        let mut scans = BTreeSet::new();
        for p in state.settings.profiles.values() {
            if p.kinds.contains(&UploadKind::Multipart) {
                scans.insert((p.bucket.name.clone(), p.template.shared_prefix()));
            }
        }
        for (bucket, prefix) in scans {
            let Some(provider) = state.providers.get(&bucket) else {
                continue;
            };
            let Some(mp) = provider.multipart() else {
                continue;
            };
            let mut after: Option<(String, String)> = None;
            for _ in 0..MAX_PAGES {
                let page = state
                    .upstream_idempotent(provider.as_ref(), "ListMultipartUploads", || {
                        mp.list_uploads(
                            &prefix,
                            after.as_ref().map(|(k, u)| (k.as_str(), u.as_str())),
                        )
                    })
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        sweep.errors += 1;
                        tracing::warn!(bucket, error = %e, "sweeper: listing uploads failed");
                        break;
                    }
                };
                for u in &page.uploads {
                    // An upload without a readable start time is left alone: better an orphan
                    // than an abort of something in use.
                    if u.initiated.is_none_or(|t| t >= cutoff) {
                        continue;
                    }
                    match state
                        .abort_upstream(provider.as_ref(), mp, &u.key, &u.storage_upload_id)
                        .await
                    {
                        Ok(()) => {
                            sweep.orphans += 1;
                            state
                                .metrics
                                .sweeper_aborted_total
                                .with_label_values(&["orphan"])
                                .inc();
                        }
                        Err(e) => {
                            sweep.errors += 1;
                            tracing::warn!(bucket, error = %e, "sweeper: aborting an orphan failed");
                        }
                    }
                }
                match page.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
    }
}
