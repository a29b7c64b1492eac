//! The app backend's pre-upload hook: before a right is issued, the gateway POSTs what the
//! client asks for, signed the Standard Webhooks way, and honours the answer: allow, deny
//! (the client sees the backend's reason), or allow with overrides (a key suffix under the
//! user's prefix, a smaller size limit, metadata for the record).
//!
//! Only the URL configured for the profile is called (no redirects, a deadline, a cap on the
//! answer). A hook that is slow, down, or answers something unreadable refuses the right
//! (`hook-unavailable`), unless the hook says `fail_open = true`. An answer that asks for
//! something the gateway must not do (a key outside the prefix, a larger limit) is refused
//! either way: that is not an outage to ride out.

use super::Uploads;
use crate::config::{PreUploadHook, PreUploadSettings, Profile};
use crate::domain::{KeyPrefix, ObjectKey, UploadKind, UserId};
use crate::error::ApiError;
use crate::webhooks::signature;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// Metadata the hook may add: at most this many entries, names and values this long.
const MAX_METADATA: usize = 16;
const MAX_METADATA_NAME: usize = 64;
const MAX_METADATA_VALUE: usize = 512;

pub(super) struct HookClient {
    http: reqwest::Client,
    max_response_bytes: usize,
    max_message_chars: usize,
}

impl HookClient {
    pub(super) fn new(s: &PreUploadSettings) -> HookClient {
        let http = crate::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(s.timeout)
            .connect_timeout(s.connect_timeout)
            .user_agent(concat!("upload-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            // Only fails when the TLS backend cannot start, which nothing else survives.
            .expect("pre-upload hook http client");
        HookClient {
            http,
            max_response_bytes: s.max_response_bytes,
            max_message_chars: s.max_message_chars,
        }
    }
}

/// Exports every (profile, outcome) of the hook counter at 0 from start-up, so `increase()`
/// sees a hook's first failure.
pub(super) fn export_zeroes(settings: &crate::config::Settings, metrics: &crate::metrics::Metrics) {
    for p in settings
        .profiles
        .values()
        .filter(|p| p.pre_upload_hook.is_some())
    {
        for outcome in crate::metrics::HOOK_OUTCOMES {
            metrics
                .pre_upload_hook_total
                .with_label_values(&[p.name.as_str(), outcome]);
        }
    }
}

/// What the client asks for, as the hook sees it.
pub(super) struct HookAsk<'a> {
    pub kind: UploadKind,
    pub filename: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub size: Option<u64>,
    pub metadata: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct HookRequest<'a> {
    user: &'a str,
    profile: &'a str,
    kind: &'a str,
    filename: Option<&'a str>,
    content_type: Option<&'a str>,
    size: Option<u64>,
    metadata: &'a BTreeMap<String, String>,
}

/// The backend's answer. Unknown fields are ignored, so a backend may add its own.
#[derive(Deserialize)]
struct HookAnswer {
    allow: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    key_suffix: Option<String>,
    #[serde(default)]
    max_size_bytes: Option<u64>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// What the hook allowed, with its overrides (all empty without a hook).
#[derive(Debug, Default, Clone)]
pub struct Admission {
    pub key_suffix: Option<String>,
    pub max_size: Option<u64>,
    pub metadata: BTreeMap<String, String>,
}

impl Admission {
    /// The object key the suffix names under `prefix`, checked like every server-built key.
    pub fn key_under(&self, prefix: &KeyPrefix) -> Option<Result<ObjectKey, ApiError>> {
        let suffix = self.key_suffix.as_deref()?;
        let refuse = |why: String| {
            tracing::warn!(reason = %why, "pre-upload hook asked for a key it may not");
            ApiError::HookUnavailable(
                "asked for an object key outside the user's prefix (a fault of the app's hook, not of the request)",
            )
        };
        Some(
            ObjectKey::parse(format!("{}{suffix}", prefix.as_str()))
                .map_err(|e| refuse(e.to_string()))
                .and_then(|k| {
                    if k.is_under(prefix) {
                        Ok(k)
                    } else {
                        Err(refuse("not under the prefix".into()))
                    }
                }),
        )
    }

    /// The size limit in force: the profile's, or the hook's when smaller.
    pub fn max_size(&self, profile: &Profile) -> u64 {
        self.max_size
            .map_or(profile.max_size, |m| m.min(profile.max_size))
    }
}

/// Why a call did not produce an answer to honour (the `outcome` label, and the text the
/// client sees).
enum Failure {
    Timeout,
    Unreachable,
    BadStatus(u16),
    Invalid(&'static str),
}

impl Failure {
    fn label(&self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Unreachable => "unreachable",
            Failure::BadStatus(_) => "bad_status",
            Failure::Invalid(_) => "invalid_answer",
        }
    }

    fn public(&self) -> &'static str {
        match self {
            Failure::Timeout => "did not answer in time; retry shortly",
            Failure::Unreachable => "could not be reached; retry shortly",
            Failure::BadStatus(_) => "failed; retry shortly",
            Failure::Invalid(_) => "gave an answer the gateway cannot use; retry shortly",
        }
    }
}

/// Printable text of at most `max` characters: controls become spaces, runs of space one.
fn sanitise(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    let mut cut: String = joined.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn check_metadata(m: &BTreeMap<String, String>) -> Result<(), Failure> {
    if m.len() > MAX_METADATA {
        return Err(Failure::Invalid("too many metadata entries"));
    }
    for (k, v) in m {
        let name_ok = !k.is_empty()
            && k.len() <= MAX_METADATA_NAME
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !name_ok {
            return Err(Failure::Invalid(
                "a metadata name is not [A-Za-z0-9_.-]{1,64}",
            ));
        }
        if v.chars().count() > MAX_METADATA_VALUE || v.chars().any(char::is_control) {
            return Err(Failure::Invalid(
                "a metadata value is too long or has controls",
            ));
        }
    }
    Ok(())
}

impl Uploads {
    /// The gate every issuing path passes before anything is signed: the hook's decision,
    /// then the size limit it may have lowered.
    pub(super) async fn admit(
        &self,
        user: &UserId,
        profile: &Profile,
        ask: &HookAsk<'_>,
    ) -> Result<Admission, ApiError> {
        let admission = self.ask_hook(user, profile, ask).await?;
        if ask.kind == UploadKind::Sts
            && (admission.key_suffix.is_some() || admission.max_size.is_some())
        {
            // A grant covers any object under the prefix: it names no key and signs no size.
            // Refused even when failing open: it is an instruction, not an outage.
            return Err(ApiError::HookUnavailable(
                "set a key suffix or size limit, which STS credentials cannot carry (a fault of the app's hook, not of the request)",
            ));
        }
        let max = admission.max_size(profile);
        if let Some(size) = ask.size.filter(|s| *s > max) {
            return Err(ApiError::SizeTooLarge {
                size,
                max,
                profile: profile.name.clone(),
            });
        }
        Ok(admission)
    }

    /// Stores the record of a right about to be handed out, after reserving its quota (the
    /// reservation is given back when the record cannot be stored).
    pub(super) async fn record_issued(
        &self,
        rec: &mut crate::domain::UploadRecord,
        profile: &Profile,
        admission: &Admission,
    ) -> Result<(), ApiError> {
        self.reserve_quota(rec, profile, admission).await?;
        if let Err(e) = self.store.create_record(rec).await {
            self.give_back_quota(rec).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Asks the profile's hook (if any) whether `user` may have this right. Without a hook
    /// everything is admitted as asked.
    pub(super) async fn ask_hook(
        &self,
        user: &UserId,
        profile: &Profile,
        ask: &HookAsk<'_>,
    ) -> Result<Admission, ApiError> {
        let Some(hook) = profile.pre_upload_hook.as_deref() else {
            return Ok(Admission::default());
        };
        let started = Instant::now();
        let result = self.call_hook(hook, user, profile, ask).await;
        let took = started.elapsed();
        crate::upstream_wait::add(took);
        self.metrics
            .pre_upload_hook_duration_seconds
            .with_label_values(&[&profile.name])
            .observe(took.as_secs_f64());
        let outcome = match &result {
            Ok(Ok(_)) => "allowed",
            Ok(Err(_)) => "denied",
            Err(f) => f.label(),
        };
        self.metrics
            .pre_upload_hook_total
            .with_label_values(&[&profile.name, outcome])
            .inc();
        match result {
            Ok(Ok(admission)) => Ok(admission),
            Ok(Err(message)) => Err(ApiError::HookDenied(message)),
            Err(f) => {
                tracing::warn!(
                    hook = %hook.name,
                    profile = %profile.name,
                    outcome = f.label(),
                    status = match f { Failure::BadStatus(s) => s, _ => 0 },
                    detail = match f { Failure::Invalid(why) => why, _ => "" },
                    fail_open = hook.fail_open,
                    "pre-upload hook gave no usable answer"
                );
                if hook.fail_open {
                    Ok(Admission::default())
                } else {
                    Err(ApiError::HookUnavailable(f.public()))
                }
            }
        }
    }

    /// One signed POST: `Ok(Ok(admission))` allowed, `Ok(Err(message))` denied.
    async fn call_hook(
        &self,
        hook: &PreUploadHook,
        user: &UserId,
        profile: &Profile,
        ask: &HookAsk<'_>,
    ) -> Result<Result<Admission, String>, Failure> {
        let body = serde_json::to_vec(&HookRequest {
            user: user.as_str(),
            profile: &profile.name,
            kind: ask.kind.as_str(),
            filename: ask.filename,
            content_type: ask.content_type,
            size: ask.size,
            metadata: ask.metadata,
        })
        .map_err(|_| Failure::Invalid("request not encodable"))?;
        let id = format!("hook_{}", uuid::Uuid::new_v4().simple());
        let timestamp = self.now().unix_timestamp();
        let sig = signature::header(&hook.secrets, &id, timestamp, &body);
        let client = &self.hook_client;
        let sent = client
            .http
            .post(hook.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", sig)
            .body(body)
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Err(Failure::Timeout),
            Err(_) => return Err(Failure::Unreachable),
        };
        if !resp.status().is_success() {
            return Err(Failure::BadStatus(resp.status().as_u16()));
        }
        let mut answer = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    answer.extend_from_slice(&chunk);
                    if answer.len() > client.max_response_bytes {
                        return Err(Failure::Invalid("answer larger than max_response_bytes"));
                    }
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(Failure::Timeout),
                Err(_) => return Err(Failure::Unreachable),
            }
        }
        let a: HookAnswer = serde_json::from_slice(&answer)
            .map_err(|_| Failure::Invalid("answer is not the JSON expected"))?;
        if !a.allow {
            let message = a
                .message
                .as_deref()
                .map(|m| sanitise(m, client.max_message_chars))
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "no reason given".into());
            return Ok(Err(message));
        }
        check_metadata(&a.metadata)?;
        if a.max_size_bytes == Some(0) {
            return Err(Failure::Invalid("max_size_bytes must be > 0"));
        }
        Ok(Ok(Admission {
            key_suffix: a.key_suffix,
            max_size: a.max_size_bytes,
            metadata: a.metadata,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_printable_and_capped() {
        assert_eq!(
            sanitise("  no\n\u{7}more\tuploads ", 100),
            "no more uploads"
        );
        let long = "x".repeat(500);
        let cut = sanitise(&long, 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn suffixes_stay_under_the_prefix_and_pass_key_validation() {
        let prefix = KeyPrefix::parse("avatars/alice/".to_string()).unwrap();
        let with = |s: &str| Admission {
            key_suffix: Some(s.into()),
            ..Admission::default()
        };
        let ok = with("2026/pic.png").key_under(&prefix).unwrap().unwrap();
        assert_eq!(ok.as_str(), "avatars/alice/2026/pic.png");
        for bad in [
            "../bob/x.png",
            "a/../../x",
            "",
            "/x",
            "a//b",
            "a\\b",
            "x\n",
            ".",
        ] {
            assert!(
                matches!(
                    with(bad).key_under(&prefix),
                    Some(Err(ApiError::HookUnavailable(_)))
                ),
                "{bad:?}"
            );
        }
        assert!(Admission::default().key_under(&prefix).is_none());
    }

    #[test]
    fn metadata_is_bounded() {
        let mut m = BTreeMap::new();
        m.insert("plan".to_string(), "pro".to_string());
        assert!(check_metadata(&m).is_ok());
        m.insert("bad name".to_string(), "x".to_string());
        assert!(check_metadata(&m).is_err());
        let many: BTreeMap<String, String> = (0..17)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(check_metadata(&many).is_err());
    }
}
