//! Events an endpoint did not take within the retry period, kept in Redis (one hash per
//! endpoint, keyed by `webhook-id`) until an operator redelivers them with
//! `upload-gateway webhooks redeliver`. A dead letter holds the exact body, so a
//! redelivery sends the same bytes under the same id, newly signed.

use super::deliver::{Outcome, Sender};
use super::group_name;
use super::payload::Message;
use crate::config::WebhookEndpoint;
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeadLetter {
    pub webhook_id: String,
    pub endpoint: String,
    pub event_type: String,
    /// Empty when the stream dropped the entry (trimmed past its cap) before anyone could
    /// read it again: then only the id is known.
    pub body: String,
    pub appended_ms: u64,
    pub attempts: u32,
    pub last_error: String,
    pub dead_at: String,
}

impl DeadLetter {
    pub fn new(endpoint: &str, msg: &Message, attempts: u32, last_error: String) -> DeadLetter {
        DeadLetter {
            webhook_id: msg.id.clone(),
            endpoint: endpoint.to_string(),
            event_type: msg.event_type.clone(),
            body: msg.body.clone(),
            appended_ms: msg.appended_ms,
            attempts,
            last_error,
            dead_at: OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
        }
    }

    pub fn message(&self) -> Message {
        Message {
            id: self.webhook_id.clone(),
            event_type: self.event_type.clone(),
            body: self.body.clone(),
            appended_ms: self.appended_ms,
        }
    }

    /// The upload the event is about, for listings.
    pub fn upload_id(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v["data"]["upload_id"].as_str().map(String::from))
            .unwrap_or_default()
    }
}

pub async fn put(store: &Store, letter: &DeadLetter) -> Result<(), StoreError> {
    let json = serde_json::to_string(letter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store
        .put_dead_letter(&group_name(&letter.endpoint), &letter.webhook_id, &json)
        .await
}

pub async fn list(store: &Store, endpoint: &str) -> Result<Vec<DeadLetter>, StoreError> {
    let mut out = Vec::new();
    for (id, json) in store.dead_letters(&group_name(endpoint)).await? {
        let letter = serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("dead letter {id}: {e}")))?;
        out.push(letter);
    }
    Ok(out)
}

#[derive(Debug, Default)]
pub struct Redelivered {
    pub delivered: Vec<String>,
    /// `(webhook-id, why)`; these stay in the list.
    pub failed: Vec<(String, String)>,
}

/// Sends each dead letter of `endpoint` (all, or those whose id is in `only`) once; those
/// the endpoint takes leave the list, the others stay with their attempt counted.
pub async fn redeliver(
    store: &Store,
    sender: &Sender,
    endpoint: &WebhookEndpoint,
    only: Option<&[String]>,
) -> Result<Redelivered, StoreError> {
    let mut report = Redelivered::default();
    for mut letter in list(store, &endpoint.name).await? {
        if only.is_some_and(|ids| !ids.contains(&letter.webhook_id)) {
            continue;
        }
        if letter.body.is_empty() {
            report.failed.push((
                letter.webhook_id.clone(),
                "the event left the stream before it could be read again".into(),
            ));
            continue;
        }
        match sender.attempt(endpoint, &letter.message()).await {
            Outcome::Delivered => {
                store
                    .remove_dead_letter(&group_name(&endpoint.name), &letter.webhook_id)
                    .await?;
                report.delivered.push(letter.webhook_id);
            }
            other => {
                letter.attempts += 1;
                letter.last_error = other.describe();
                put(store, &letter).await?;
                report.failed.push((letter.webhook_id, other.describe()));
            }
        }
    }
    Ok(report)
}
