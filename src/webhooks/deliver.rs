//! One delivery attempt: sign, POST, judge the answer. Only configured endpoint URLs are
//! ever called; redirects are not followed (a 3xx counts as a refusal), the whole attempt
//! has a deadline and at most `max_response_bytes` of the answer are read.
//!
//! Neither the secret nor the signature is ever logged: logs name the endpoint, the
//! `webhook-id` and the status.

use super::payload::Message;
use super::signature;
use crate::config::{WebhookEndpoint, WebhookSettings};
use crate::metrics::Metrics;
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx.
    Delivered,
    /// Any other status.
    Rejected(u16),
    Timeout,
    /// No answer: connection refused, reset, TLS or protocol failure.
    Unreachable(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Rejected(_) => "rejected",
            Outcome::Timeout => "timeout",
            Outcome::Unreachable(_) => "unreachable",
        }
    }

    /// For the log and the dead letter: says what went wrong without any of the request.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Delivered => "delivered".into(),
            Outcome::Rejected(s) => format!("answered {s}"),
            Outcome::Timeout => "timed out".into(),
            Outcome::Unreachable(why) => format!("unreachable: {why}"),
        }
    }
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    max_response_bytes: usize,
    metrics: Arc<Metrics>,
}

impl Sender {
    pub fn new(settings: &WebhookSettings, metrics: Arc<Metrics>) -> Result<Sender, String> {
        let client = crate::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("upload-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("webhook http client: {e}"))?;
        Ok(Sender {
            client,
            max_response_bytes: settings.max_response_bytes,
            metrics,
        })
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn metrics_arc(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Sends `msg` once, signed now with every secret of the endpoint.
    pub async fn attempt(&self, endpoint: &WebhookEndpoint, msg: &Message) -> Outcome {
        let started = Instant::now();
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let sig = signature::header(&endpoint.secrets, &msg.id, timestamp, msg.body.as_bytes());
        let sent = self
            .client
            .post(endpoint.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &msg.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sig)
            .body(msg.body.clone())
            .send()
            .await;
        let outcome = match sent {
            Ok(resp) => {
                let status = resp.status();
                self.drain(resp).await;
                if status.is_success() {
                    Outcome::Delivered
                } else {
                    Outcome::Rejected(status.as_u16())
                }
            }
            Err(e) if e.is_timeout() => Outcome::Timeout,
            Err(e) => Outcome::Unreachable(classify(&e)),
        };
        self.metrics
            .webhook_deliveries_total
            .with_label_values(&[&endpoint.name, outcome.label()])
            .inc();
        self.metrics
            .webhook_delivery_duration_seconds
            .with_label_values(&[&endpoint.name])
            .observe(started.elapsed().as_secs_f64());
        outcome
    }

    /// Reads the answer up to the cap and drops the rest (the connection with it): the body
    /// is never used, but reading a small one lets the connection be reused.
    async fn drain(&self, mut resp: reqwest::Response) {
        let mut read = 0usize;
        while let Ok(Some(chunk)) = resp.chunk().await {
            read += chunk.len();
            if read >= self.max_response_bytes {
                break;
            }
        }
    }
}

/// A short cause without the URL (which reqwest's Display includes, query and all).
fn classify(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".into()
    } else if e.is_request() {
        "request failed".into()
    } else if e.is_body() || e.is_decode() {
        "bad response".into()
    } else {
        "transport error".into()
    }
}
