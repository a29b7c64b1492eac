//! Locks that let one replica at a time run a background job: each holder has its own
//! token, renews while its round runs and releases when done, and nobody can release or
//! renew a lock that another holder took after theirs lapsed.

use super::scripts::{RELEASE, RENEW};
use super::{Store, StoreError};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// A held lock. Dropping it without [`Store::release`] lets it lapse after its TTL.
#[derive(Debug)]
#[must_use = "release the lock when the job is done"]
pub struct JobLock {
    key: String,
    token: String,
    ttl: Duration,
}

impl Store {
    /// Takes the named lock for `ttl` if nobody holds it.
    pub async fn try_lock_token(
        &self,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<JobLock>, StoreError> {
        let lock = JobLock {
            key: self.keys.lock(name),
            token: uuid::Uuid::new_v4().simple().to_string(),
            ttl: ttl.max(Duration::from_millis(1)),
        };
        let taken = self
            .run("try_lock", async {
                let mut c = self.conn.get().await?;
                let set: Option<String> = redis::cmd("SET")
                    .arg(&lock.key)
                    .arg(&lock.token)
                    .arg("NX")
                    .arg("PX")
                    .arg(lock.ttl.as_millis() as u64)
                    .query_async(&mut c)
                    .await?;
                Ok(set.is_some())
            })
            .await?;
        Ok(taken.then_some(lock))
    }

    /// Takes the named lock for `ttl` and lets it lapse (no release): kept for callers that
    /// use the TTL as the interval between runs. Prefer [`Store::with_lock`].
    pub async fn try_lock(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        Ok(self.try_lock_token(name, ttl).await?.is_some())
    }

    /// Extends the lock by its TTL from now. False when it is no longer ours (it lapsed, and
    /// perhaps another replica holds it now).
    pub async fn renew(&self, lock: &JobLock) -> Result<bool, StoreError> {
        self.run("renew_lock", async {
            let mut c = self.conn.get().await?;
            let n: i64 = RENEW
                .key(&lock.key)
                .arg(&lock.token)
                .arg(lock.ttl.as_millis() as u64)
                .invoke_async(&mut c)
                .await?;
            Ok(n == 1)
        })
        .await
    }

    /// Gives the lock up. False when it was no longer ours.
    pub async fn release(&self, lock: JobLock) -> Result<bool, StoreError> {
        self.run("release_lock", async {
            let mut c = self.conn.get().await?;
            let n: i64 = RELEASE
                .key(&lock.key)
                .arg(&lock.token)
                .invoke_async(&mut c)
                .await?;
            Ok(n == 1)
        })
        .await
    }

    /// Runs `job` if this replica takes the named lock (`None` otherwise), renewing it every
    /// third of `ttl` while the job runs and releasing it after. A job whose lock cannot be
    /// kept (another holder took it, or Redis did not confirm a renewal within `ttl`) is
    /// stopped and yields `None`, so two replicas never run it at once for long.
    pub async fn with_lock<T>(
        &self,
        name: &str,
        ttl: Duration,
        job: impl Future<Output = T>,
    ) -> Result<Option<T>, StoreError> {
        let Some(lock) = self.try_lock_token(name, ttl).await? else {
            return Ok(None);
        };
        let every = (lock.ttl / 3).max(Duration::from_millis(10));
        let mut tick = tokio::time::interval_at(Instant::now() + every, every);
        let mut held_until = Instant::now() + lock.ttl;
        tokio::pin!(job);
        let out = loop {
            tokio::select! {
                out = &mut job => break Some(out),
                _ = tick.tick() => {
                    let asked = Instant::now();
                    match self.renew(&lock).await {
                        Ok(true) => held_until = asked + lock.ttl,
                        Ok(false) => {
                            tracing::warn!(lock = name, "lock lost; job stopped");
                            break None;
                        }
                        Err(e) if Instant::now() >= held_until => {
                            tracing::warn!(lock = name, error = %e, "lock lapsed; job stopped");
                            break None;
                        }
                        Err(e) => tracing::warn!(lock = name, error = %e, "lock renewal failed"),
                    }
                }
            }
        };
        if let Err(e) = self.release(lock).await {
            // It lapses on its own.
            tracing::warn!(lock = name, error = %e, "lock release failed");
        }
        Ok(out)
    }
}
