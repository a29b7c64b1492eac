//! Redis: upload records, per-user indexes, rate limits, the completion event stream.
//!
//! One connection (multiplexed, reconnecting) per process, standalone or Cluster. Every key
//! starts with the configured prefix, and keys one operation touches together share a hash
//! tag (see `keys.rs`), so the same code runs on Redis Cluster.

mod conn;
mod deadlines;
mod events;
mod keys;
mod locks;
mod quotas;
mod ratelimit;
mod scripts;
mod streams;
mod uploads;

pub use conn::StoreConn;
pub use deadlines::DueKind;
pub use events::event_fields;
pub use keys::{Keys, SHARDS};
pub use locks::JobLock;
pub use quotas::{Reservation, ScopeLimit, Settled};
pub use ratelimit::RateDecision;
pub use streams::{Claimed, GroupStart, StreamEntry, is_missing_group};
pub use uploads::{EventFields, ListPage, ListQuery, TransitionOutcome};

use crate::config::RedisSettings;
use crate::metrics::Metrics;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// A record with this id exists already (creation is never an overwrite).
    #[error("record {0} already exists")]
    AlreadyExists(String),
}

#[derive(Clone)]
pub struct Store {
    conn: StoreConn,
    keys: Keys,
    timeout: Duration,
    record_ttl: Duration,
    events_maxlen: u64,
    metrics: Arc<Metrics>,
}

impl Store {
    /// Builds the store without touching the network: the connection is made on first use,
    /// so the gateway starts (and reports not-ready) while Redis is down.
    pub fn new(settings: &RedisSettings, metrics: Arc<Metrics>) -> Result<Store, StoreError> {
        Ok(Store {
            conn: StoreConn::new(settings)?,
            keys: Keys::new(&settings.key_prefix),
            timeout: settings.command_timeout,
            record_ttl: settings.record_ttl,
            events_maxlen: settings.events_maxlen,
            metrics,
        })
    }

    /// Approximate cap on the upload-event streams together (`XADD MAXLEN ~`, split evenly
    /// over the shards).
    pub fn events_maxlen(&self) -> u64 {
        self.events_maxlen
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn record_ttl(&self) -> Duration {
        self.record_ttl
    }

    /// A copy whose operations give up after `timeout` (the callback path has a tighter
    /// budget than the rest).
    pub fn with_timeout(&self, timeout: Duration) -> Store {
        Store {
            timeout,
            ..self.clone()
        }
    }

    /// Runs one Redis operation with the store's timeout, timing it and counting failures.
    async fn run<T, F>(&self, operation: &'static str, f: F) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, StoreError>>,
    {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        };
        self.metrics
            .redis_command_duration_seconds
            .with_label_values(&[operation])
            .observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.metrics
                .redis_errors_total
                .with_label_values(&[operation])
                .inc();
        }
        result
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run("ping", async {
            let mut c = self.conn.get().await?;
            let pong: String = redis::cmd("PING").query_async(&mut c).await?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(StoreError::Corrupt(format!("PING answered {pong}")))
            }
        })
        .await
    }
}
