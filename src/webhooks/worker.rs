//! Delivery of one shard stream to one endpoint, by one replica.
//!
//! Each endpoint has a consumer group on every shard stream; each replica runs one worker per
//! (endpoint, shard), reading new entries with XREADGROUP. An entry stays pending in the
//! group until it is delivered (XACK) or moved to the dead letters (stored, then XACK), so
//! nothing is lost when a replica dies: its pending entries go idle and another replica's
//! worker takes them over with XAUTOCLAIM. While a worker holds an entry (in flight or
//! waiting for its next attempt) it touches it, so a live replica's entries never look idle.
//! The `webhook-id` comes from the entry, so a delivery repeated by the replica that took
//! over carries the same id.

use super::dead_letter::{self, DeadLetter};
use super::deliver::{Outcome, Sender};
use super::payload::{self, Message};
use super::retry;
use crate::config::{WebhookEndpoint, WebhookSettings, WebhookStart};
use crate::store::{GroupStart, StreamEntry, is_missing_group};
use crate::store::{Store, StoreError};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

pub struct Worker {
    pub shard: usize,
    pub group: String,
    pub consumer: String,
    pub endpoint: Arc<WebhookEndpoint>,
    pub settings: Arc<crate::config::Settings>,
    pub store: Store,
    pub sender: Sender,
    /// Shared by the endpoint's workers: caps the requests in flight to it.
    pub permits: Arc<Semaphore>,
}

struct Held {
    msg: Message,
    entry_id: String,
    failures: u32,
    due: Instant,
}

type Attempt = BoxFuture<'static, (Held, Outcome)>;

impl Worker {
    fn w(&self) -> &WebhookSettings {
        &self.settings.webhooks
    }

    pub async fn run(self) {
        self.ensure_group().await;
        // Entries held per worker: enough to keep every permit busy from one shard.
        let cap = self.w().max_concurrency;
        let claim_every = self.w().claim_idle / 2;
        let touch_every = self.w().claim_idle / 3;
        let poll = self.w().poll_interval;
        let mut waiting: Vec<Held> = Vec::new();
        let mut held_ids: HashSet<String> = HashSet::new();
        let mut inflight: FuturesUnordered<Attempt> = FuturesUnordered::new();
        let start = Instant::now();
        let (mut next_claim, mut next_touch, mut next_read) = (start, start + touch_every, start);
        loop {
            let now = Instant::now();
            let room = cap.saturating_sub(held_ids.len());
            if now >= next_claim {
                if room > 0 {
                    self.claim(room, &mut waiting, &mut held_ids).await;
                }
                next_claim = now + claim_every;
            }
            if now >= next_touch {
                let ids: Vec<&str> = held_ids.iter().map(String::as_str).collect();
                if let Err(e) = self
                    .store
                    .touch_pending(self.shard, &self.group, &self.consumer, &ids)
                    .await
                {
                    tracing::warn!(endpoint = %self.endpoint.name, shard = self.shard, error = %e, "webhook: could not refresh held entries");
                }
                next_touch = now + touch_every;
            }
            let room = cap.saturating_sub(held_ids.len());
            if room > 0 && now >= next_read {
                let got = self.read(room, &mut waiting, &mut held_ids).await;
                // A full batch means more may be waiting: read again at once.
                next_read = if got == room { now } else { now + poll };
            }
            let now = Instant::now();
            let (due, later): (Vec<Held>, Vec<Held>) =
                waiting.drain(..).partition(|h| h.due <= now);
            waiting = later;
            for h in due {
                inflight.push(self.attempt(h));
            }
            let mut wake = next_claim.min(next_touch);
            if held_ids.len() < cap {
                wake = wake.min(next_read);
            }
            if let Some(first) = waiting.iter().map(|h| h.due).min() {
                wake = wake.min(first);
            }
            tokio::select! {
                Some((h, outcome)) = inflight.next(), if !inflight.is_empty() => {
                    self.settle(h, outcome, &mut waiting, &mut held_ids).await;
                }
                _ = tokio::time::sleep_until(wake.max(now + Duration::from_millis(5)).into()) => {}
            }
        }
    }

    async fn ensure_group(&self) {
        let start = match self.w().start {
            WebhookStart::Oldest => GroupStart::Oldest,
            WebhookStart::New => GroupStart::New,
        };
        loop {
            match self
                .store
                .ensure_group(self.shard, &self.group, start)
                .await
            {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(endpoint = %self.endpoint.name, shard = self.shard, error = %e, "webhook: cannot create the consumer group yet; will retry");
                    tokio::time::sleep(self.w().poll_interval.max(Duration::from_secs(1))).await;
                }
            }
        }
    }

    fn take(&self, entry: StreamEntry, waiting: &mut Vec<Held>, held: &mut HashSet<String>) {
        if !held.insert(entry.id.clone()) {
            return;
        }
        waiting.push(Held {
            msg: payload::message(self.shard, &entry),
            entry_id: entry.id,
            failures: 0,
            due: Instant::now(),
        });
    }

    /// New entries; those of types the endpoint does not want are acknowledged unsent.
    async fn read(
        &self,
        room: usize,
        waiting: &mut Vec<Held>,
        held: &mut HashSet<String>,
    ) -> usize {
        let entries = match self
            .store
            .read_group(self.shard, &self.group, &self.consumer, room)
            .await
        {
            Ok(e) => e,
            Err(e) => {
                self.on_error(&e, "read").await;
                return 0;
            }
        };
        let n = entries.len();
        let mut skipped = Vec::new();
        for entry in entries {
            let wanted = entry
                .fields
                .get("type")
                .is_some_and(|t| self.endpoint.wants(t));
            if wanted {
                self.take(entry, waiting, held);
            } else {
                skipped.push(entry.id);
            }
        }
        let ids: Vec<&str> = skipped.iter().map(String::as_str).collect();
        if let Err(e) = self.store.ack(self.shard, &self.group, &ids).await {
            // They stay pending and come back through a claim, to be skipped again.
            self.on_error(&e, "ack").await;
        }
        n
    }

    /// Entries a dead (or cut-off) consumer left pending.
    async fn claim(&self, room: usize, waiting: &mut Vec<Held>, held: &mut HashSet<String>) {
        let claimed = match self
            .store
            .claim_stuck(
                self.shard,
                &self.group,
                &self.consumer,
                self.w().claim_idle,
                room,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => return self.on_error(&e, "claim").await,
        };
        if !claimed.entries.is_empty() {
            tracing::info!(endpoint = %self.endpoint.name, shard = self.shard, entries = claimed.entries.len(), "webhook: took over entries another consumer left pending");
        }
        for entry in claimed.entries {
            if entry
                .fields
                .get("type")
                .is_some_and(|t| self.endpoint.wants(t))
            {
                self.take(entry, waiting, held);
            } else if let Err(e) = self.store.ack(self.shard, &self.group, &[&entry.id]).await {
                self.on_error(&e, "ack").await;
            }
        }
        for id in claimed.deleted {
            // The stream was trimmed past an undelivered entry: only its id is left. Say so
            // where the operator looks, rather than dropping it silently.
            let msg = Message {
                id: payload::webhook_id(self.shard, &id),
                event_type: String::new(),
                body: String::new(),
                appended_ms: 0,
            };
            tracing::error!(endpoint = %self.endpoint.name, webhook_id = %msg.id, "webhook: event trimmed from the stream before delivery; raise redis.events_maxlen");
            let letter = DeadLetter::new(
                &self.endpoint.name,
                &msg,
                0,
                "trimmed from the stream".into(),
            );
            if self.bury(&letter, &id).await.is_err() {
                // Still pending: the next claim reports it again.
            }
        }
    }

    fn attempt(&self, h: Held) -> Attempt {
        let (sender, endpoint, permits) = (
            self.sender.clone(),
            self.endpoint.clone(),
            self.permits.clone(),
        );
        Box::pin(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = sender.attempt(&endpoint, &h.msg).await;
            (h, outcome)
        })
    }

    async fn settle(
        &self,
        mut h: Held,
        outcome: Outcome,
        waiting: &mut Vec<Held>,
        held: &mut HashSet<String>,
    ) {
        if outcome == Outcome::Delivered {
            for _ in 0..3 {
                match self
                    .store
                    .ack(self.shard, &self.group, &[&h.entry_id])
                    .await
                {
                    Ok(()) => break,
                    // Unacknowledged, it is claimed and sent again later: a duplicate under
                    // the same id, never a loss.
                    Err(e) => self.on_error(&e, "ack").await,
                }
            }
            held.remove(&h.entry_id);
            return;
        }
        h.failures += 1;
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64 / 1_000_000;
        match retry::next_wait(
            self.w(),
            h.failures,
            h.msg.appended_ms,
            now_ms,
            retry::random(),
        ) {
            Some(wait) => {
                tracing::warn!(endpoint = %self.endpoint.name, webhook_id = %h.msg.id, attempt = h.failures, outcome = %outcome.describe(), retry_in_ms = wait.as_millis() as u64, "webhook delivery failed; will retry");
                h.due = Instant::now() + wait;
                waiting.push(h);
            }
            None => {
                tracing::error!(endpoint = %self.endpoint.name, webhook_id = %h.msg.id, attempts = h.failures, outcome = %outcome.describe(), "webhook delivery given up after the retry period; moved to the dead letters");
                let letter =
                    DeadLetter::new(&self.endpoint.name, &h.msg, h.failures, outcome.describe());
                if self.bury(&letter, &h.entry_id).await.is_ok() {
                    held.remove(&h.entry_id);
                } else {
                    h.due = Instant::now() + self.w().poll_interval;
                    waiting.push(h);
                }
            }
        }
    }

    /// Stores the dead letter, then acknowledges the entry: a crash in between leaves it
    /// pending, to be buried again under the same id (which replaces, never doubles, it).
    async fn bury(&self, letter: &DeadLetter, entry_id: &str) -> Result<(), StoreError> {
        let done = async {
            dead_letter::put(&self.store, letter).await?;
            self.store.ack(self.shard, &self.group, &[entry_id]).await
        }
        .await;
        match &done {
            Ok(()) => self
                .settings_metrics()
                .webhook_dead_lettered_total
                .with_label_values(&[&self.endpoint.name])
                .inc(),
            Err(e) => self.on_error(e, "dead-letter").await,
        }
        done
    }

    fn settings_metrics(&self) -> &crate::metrics::Metrics {
        self.sender.metrics()
    }

    async fn on_error(&self, e: &StoreError, what: &str) {
        tracing::warn!(endpoint = %self.endpoint.name, shard = self.shard, error = %e, "webhook: redis {what} failed; will retry");
        if is_missing_group(e) {
            // Redis lost the group (restarted without persistence, or the stream was
            // deleted): make it again rather than stop delivering.
            self.ensure_group().await;
        }
    }
}
