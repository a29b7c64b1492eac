//! `[callbacks.s3_sns]` and `[callbacks.s3_webhook]`: which S3 event notifications the
//! gateway listens to. Amazon SNS signs its messages, so the section says which topics are
//! trusted and where signing certificates may come from; MinIO signs nothing, so its webhook
//! carries a bearer token shared with the MinIO target.
//!
//! The topic ARNs' own syntax is checked by the S3 adapter (`Providers::from_settings`,
//! which `check-config` runs), which owns the ARN type.

use super::values::ms;
use super::{ConfigError, raw, secret};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::time::Duration;

/// A webhook token shorter than this is guessable.
pub const MIN_WEBHOOK_TOKEN_LEN: usize = 16;

pub struct SnsSettings {
    /// Exactly the `TopicArn`s whose messages are accepted.
    pub topic_arns: Vec<String>,
    /// Certificate hosts (`host[:port]`, exact) trusted besides the topic region's own
    /// `sns.<region>.amazonaws.com`: local SNS stand-ins such as LocalStack.
    pub extra_cert_hosts: Vec<String>,
    /// Confirm subscriptions by calling ConfirmSubscription on the topic's own SNS host with
    /// the message's TopicArn and Token (never by fetching its SubscribeURL); off:
    /// confirmations are refused and logged.
    pub confirm_subscriptions: bool,
    pub fetch_timeout: Duration,
    pub cert_max_bytes: usize,
    pub cert_cache_ttl: Duration,
    /// PEM roots that replace the system's for the gateway's calls to SNS (tests).
    pub ca_pem: Option<Vec<u8>>,
    /// Host → address overrides for those calls, like `curl --resolve` (tests).
    pub resolve: Vec<(String, SocketAddr)>,
}

pub struct WebhookTokenSettings {
    pub token: SecretString,
}

pub(super) fn validate_sns(s: raw::S3SnsSection) -> Result<SnsSettings, ConfigError> {
    const K: &str = "callbacks.s3_sns";
    let key = |k: &str| format!("{K}.{k}");
    if s.topic_arns.is_empty() {
        return Err(ConfigError::new(
            &key("topic_arns"),
            "list the SNS topics whose notifications are accepted (arn:aws:sns:<region>:<account>:<topic>)",
        ));
    }
    for h in &s.extra_cert_hosts {
        let bare = !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !bare {
            return Err(ConfigError::new(
                &key("extra_cert_hosts"),
                format!(
                    "'{h}' must be a bare host[:port] such as 127.0.0.1:8443 (no scheme, no path)"
                ),
            ));
        }
    }
    let mut resolve = Vec::new();
    for (host, addr) in s.resolve {
        let addr: SocketAddr = addr.parse().map_err(|_| {
            ConfigError::new(
                &key(&format!("resolve.{host}")),
                format!("'{addr}' is not an ip:port address"),
            )
        })?;
        resolve.push((host, addr));
    }
    let ca_pem = match s.ca_file {
        None => None,
        Some(path) => {
            let pem = std::fs::read(&path).map_err(|e| {
                ConfigError::new(
                    &key("ca_file"),
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                return Err(ConfigError::new(
                    &key("ca_file"),
                    format!("{} holds no PEM certificate", path.display()),
                ));
            }
            Some(pem)
        }
    };
    if s.cert_max_bytes < 1024 {
        return Err(ConfigError::new(
            &key("cert_max_bytes"),
            "must be at least 1024 (SNS certificates are about 2 KB)",
        ));
    }
    Ok(SnsSettings {
        topic_arns: s.topic_arns,
        extra_cert_hosts: s.extra_cert_hosts,
        confirm_subscriptions: s.confirm_subscriptions,
        fetch_timeout: ms(&key("fetch_timeout_ms"), s.fetch_timeout_ms)?,
        cert_max_bytes: s.cert_max_bytes,
        cert_cache_ttl: Duration::from_secs(s.cert_cache_ttl_secs.max(60)),
        ca_pem,
        resolve,
    })
}

pub(super) fn validate_webhook(
    s: raw::S3WebhookSection,
    world_readable_ok: bool,
) -> Result<WebhookTokenSettings, ConfigError> {
    const K: &str = "callbacks.s3_webhook.token";
    let token = secret::require(K, s.token, s.token_file.as_deref(), world_readable_ok)?;
    let t = token.expose_secret();
    if t.len() < MIN_WEBHOOK_TOKEN_LEN || t.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            K,
            format!(
                "must be at least {MIN_WEBHOOK_TOKEN_LEN} printable characters without spaces (it is MinIO's auth_token; e.g. `openssl rand -hex 32`)"
            ),
        ));
    }
    Ok(WebhookTokenSettings { token })
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;

    fn err(extra: &str) -> String {
        match Settings::from_toml(&format!("{MINIMAL}{extra}")) {
            Ok(_) => panic!("config unexpectedly valid: {extra}"),
            Err(e) => e.to_string(),
        }
    }

    /// The commented block of the example, uncommented, loads as it is.
    #[test]
    fn the_examples_notification_block_is_valid_when_uncommented() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let (_, rest) = text
            .split_once("# --- s3 notifications example ---\n")
            .unwrap();
        let (block, _) = rest
            .split_once("# --- end of s3 notifications example ---")
            .unwrap();
        let block: String = block
            .lines()
            .filter(|l| !l.starts_with("# #"))
            .map(|l| l.strip_prefix('#').unwrap_or(l).trim_start().to_string() + "\n")
            .collect();
        let block = block.replace(
            "token_file = \"/run/secrets/minio-webhook-token\"",
            "token = \"0123456789abcdef0123\"",
        );
        let s = Settings::from_toml(&format!("{MINIMAL}\n{block}")).unwrap();
        let sns = s.callbacks.s3_sns.as_ref().unwrap();
        assert_eq!(sns.topic_arns.len(), 1);
        assert!(sns.confirm_subscriptions && sns.ca_pem.is_none());
        assert!(s.callbacks.s3_webhook.is_some());
    }

    #[test]
    fn notification_sections_load_with_defaults_and_bad_values_name_their_key() {
        let s = Settings::from_toml(&format!(
            "{MINIMAL}[callbacks.s3_sns]\ntopic_arns = [\"arn:aws:sns:eu-central-1:123456789012:t\"]\n\
             [callbacks.s3_webhook]\ntoken = \"0123456789abcdef0123\"\n"
        ))
        .unwrap();
        let sns = s.callbacks.s3_sns.as_ref().unwrap();
        assert!(sns.confirm_subscriptions && sns.extra_cert_hosts.is_empty());
        assert_eq!(sns.cert_max_bytes, 16 * 1024);
        assert!(s.callbacks.s3_webhook.is_some());

        let cases = [
            (
                "[callbacks.s3_sns]\n",
                "callbacks.s3_sns.topic_arns: list the SNS topics",
            ),
            (
                "[callbacks.s3_sns]\ntopic_arns = [\"x\"]\nextra_cert_hosts = [\"https://h/\"]\n",
                "callbacks.s3_sns.extra_cert_hosts: 'https://h/' must be a bare host",
            ),
            (
                "[callbacks.s3_sns]\ntopic_arns = [\"x\"]\n[callbacks.s3_sns.resolve]\n\"sns.eu-central-1.amazonaws.com\" = \"nowhere\"\n",
                "callbacks.s3_sns.resolve.sns.eu-central-1.amazonaws.com: 'nowhere' is not",
            ),
            (
                "[callbacks.s3_sns]\ntopic_arns = [\"x\"]\nca_file = \"/nonexistent/ca.pem\"\n",
                "callbacks.s3_sns.ca_file: cannot read /nonexistent/ca.pem",
            ),
            (
                "[callbacks.s3_sns]\ntopic_arns = [\"x\"]\nsurprise = 1\n",
                "callbacks.s3_sns.surprise: unknown key",
            ),
            (
                "[callbacks.s3_webhook]\n",
                "callbacks.s3_webhook.token: missing secret",
            ),
            (
                "[callbacks.s3_webhook]\ntoken = \"short\"\n",
                "callbacks.s3_webhook.token: must be at least 16",
            ),
        ];
        for (extra, want) in cases {
            let e = err(extra);
            assert!(e.contains(want), "{want}: {e}");
        }
    }
}
