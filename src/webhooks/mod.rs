//! Signed webhooks: the upload events of the shard streams, delivered to the endpoints of
//! `[webhooks]` as Standard Webhooks requests, at least once each, across restarts and
//! replicas (see `worker.rs` for how, `dead_letter.rs` for what happens after the retry
//! period).
//!
//! Uses store, config, metrics and domain; nothing below imports it.

pub mod dead_letter;
pub mod deliver;
pub mod payload;
mod retry;
pub mod signature;
mod worker;

use crate::config::Settings;
use crate::metrics::{Metrics, WEBHOOK_OUTCOMES};
use crate::store::{SHARDS, Store};
pub use deliver::{Outcome, Sender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The consumer group (on each shard stream) and dead-letter list of one endpoint.
pub fn group_name(endpoint: &str) -> String {
    format!("webhook:{endpoint}")
}

/// Unique per process: a restarted replica must not resume a dead one's name, or the dead
/// one's pending entries would look alive and never be taken over.
fn consumer_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "gateway".into());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &tag[..8])
}

pub struct Webhooks {
    settings: Arc<Settings>,
    store: Store,
    sender: Sender,
}

impl Webhooks {
    /// `None` when no endpoint is configured.
    pub fn new(
        settings: Arc<Settings>,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> Result<Option<Webhooks>, String> {
        if settings.webhooks.endpoints.is_empty() {
            return Ok(None);
        }
        for e in &settings.webhooks.endpoints {
            // Exported at 0 from the start, so `increase()` sees the first failure.
            for outcome in WEBHOOK_OUTCOMES {
                metrics
                    .webhook_deliveries_total
                    .with_label_values(&[e.name.as_str(), outcome]);
            }
            metrics
                .webhook_dead_lettered_total
                .with_label_values(&[&e.name]);
        }
        let sender = Sender::new(&settings.webhooks, metrics)?;
        Ok(Some(Webhooks {
            settings,
            store,
            sender,
        }))
    }

    /// Delivers until dropped (which stops every worker; what they held stays pending).
    pub async fn run(self) {
        let mut tasks = tokio::task::JoinSet::new();
        let consumer = consumer_name();
        for endpoint in &self.settings.webhooks.endpoints {
            let permits = Arc::new(Semaphore::new(self.settings.webhooks.max_concurrency));
            for shard in 0..SHARDS {
                tasks.spawn(
                    worker::Worker {
                        shard,
                        group: group_name(&endpoint.name),
                        consumer: consumer.clone(),
                        endpoint: endpoint.clone(),
                        settings: self.settings.clone(),
                        store: self.store.clone(),
                        sender: self.sender.clone(),
                        permits: permits.clone(),
                    }
                    .run(),
                );
            }
            tasks.spawn(watch_backlog(
                self.store.clone(),
                self.sender.metrics_arc(),
                endpoint.name.clone(),
            ));
        }
        tracing::info!(
            endpoints = self.settings.webhooks.endpoints.len(),
            consumer,
            "webhook delivery started"
        );
        while tasks.join_next().await.is_some() {}
    }
}

/// Keeps the backlog and dead-letter gauges current (every replica reports the same
/// Redis-wide numbers).
async fn watch_backlog(store: Store, metrics: Arc<Metrics>, endpoint: String) {
    let group = group_name(&endpoint);
    loop {
        let mut backlog = 0u64;
        let mut ok = true;
        for shard in 0..SHARDS {
            match store.group_backlog(shard, &group).await {
                Ok(n) => backlog += n,
                Err(_) => ok = false,
            }
        }
        if ok {
            metrics
                .webhook_backlog_events
                .with_label_values(&[&endpoint])
                .set(backlog as i64);
        }
        if let Ok(n) = store.dead_letter_count(&group).await {
            metrics
                .webhook_dead_letters
                .with_label_values(&[&endpoint])
                .set(n as i64);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
