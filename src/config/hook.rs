//! `[pre_upload]`: the app backend's pre-upload hooks, and `[quota]` limits.
//!
//! Hooks are named here and picked by profiles (`pre_upload_hook = "<name>"`): this list is
//! the allow-list, so no URL a request carries is ever called. Each hook is signed like the
//! webhooks (Standard Webhooks, `whsec_` secrets, several during a rotation).

use super::ConfigError;
use super::values::{check_name, ms, parse_http_url};
use super::webhooks::{WebhookSecret, is_loopback, secrets};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// `[pre_upload]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreUploadSection {
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    pub max_response_bytes: usize,
    /// Longest backend message a client is shown (characters).
    pub max_message_chars: usize,
    pub hooks: BTreeMap<String, HookSection>,
}

impl Default for PreUploadSection {
    fn default() -> Self {
        PreUploadSection {
            timeout_ms: 2_000,
            connect_timeout_ms: 1_000,
            max_response_bytes: 16 * 1024,
            max_message_chars: 200,
            hooks: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSection {
    pub url: String,
    #[serde(default)]
    pub secrets: Vec<SecretString>,
    pub secrets_file: Option<PathBuf>,
    /// Issue rights anyway when the hook is slow, down or answers garbage.
    #[serde(default)]
    pub fail_open: bool,
    #[serde(default)]
    pub allow_http: bool,
}

/// `[quota]` and `[profiles.<name>.quota]` as written.
#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct QuotaSection {
    pub bytes: Option<u64>,
    pub objects: Option<u64>,
}

pub struct PreUploadSettings {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_response_bytes: usize,
    pub max_message_chars: usize,
    pub hooks: BTreeMap<String, Arc<PreUploadHook>>,
}

pub struct PreUploadHook {
    pub name: String,
    pub url: Url,
    pub secrets: Vec<WebhookSecret>,
    pub fail_open: bool,
}

impl std::fmt::Debug for PreUploadHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreUploadHook")
            .field("name", &self.name)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

/// Per-user limits of one scope (a profile, or all profiles together); `None`: unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    pub bytes: Option<u64>,
    pub objects: Option<u64>,
}

pub(super) fn validate(p: PreUploadSection, world: bool) -> Result<PreUploadSettings, ConfigError> {
    if p.max_response_bytes == 0 {
        return Err(ConfigError::new(
            "pre_upload.max_response_bytes",
            "must be > 0",
        ));
    }
    if !(1..=2000).contains(&p.max_message_chars) {
        return Err(ConfigError::new(
            "pre_upload.max_message_chars",
            "must be 1 to 2000",
        ));
    }
    let mut hooks = BTreeMap::new();
    for (name, h) in p.hooks {
        check_name("pre_upload.hooks", &name)?;
        let key = format!("pre_upload.hooks.{name}");
        let url_key = format!("{key}.url");
        let url = parse_http_url(&url_key, &h.url)?;
        if url.fragment().is_some() {
            return Err(ConfigError::new(&url_key, "must not have a #fragment"));
        }
        if url.scheme() != "https" && !h.allow_http && !is_loopback(&url) {
            return Err(ConfigError::new(
                &url_key,
                "must be https:// (plain http only to loopback, or with allow_http = true)",
            ));
        }
        let secrets = secrets(&key, &h.secrets, h.secrets_file.as_deref(), world)?;
        hooks.insert(
            name.clone(),
            Arc::new(PreUploadHook {
                name,
                url,
                secrets,
                fail_open: h.fail_open,
            }),
        );
    }
    Ok(PreUploadSettings {
        timeout: ms("pre_upload.timeout_ms", p.timeout_ms)?,
        connect_timeout: ms("pre_upload.connect_timeout_ms", p.connect_timeout_ms)?,
        max_response_bytes: p.max_response_bytes,
        max_message_chars: p.max_message_chars,
        hooks,
    })
}

/// A quota section with at least one limit, each > 0; an empty one is a typo.
pub(super) fn quota(
    key: &str,
    q: Option<QuotaSection>,
) -> Result<Option<QuotaLimits>, ConfigError> {
    let Some(q) = q else { return Ok(None) };
    if q.bytes.is_none() && q.objects.is_none() {
        return Err(ConfigError::new(key, "set bytes, objects or both"));
    }
    if q.bytes == Some(0) || q.objects == Some(0) {
        return Err(ConfigError::new(key, "limits must be > 0"));
    }
    Ok(Some(QuotaLimits {
        bytes: q.bytes,
        objects: q.objects,
    }))
}

/// The hook a profile names, which must be one of `[pre_upload.hooks]`.
pub(super) fn hook_for(
    profile: &str,
    name: Option<&str>,
    hooks: &BTreeMap<String, Arc<PreUploadHook>>,
) -> Result<Option<Arc<PreUploadHook>>, ConfigError> {
    let Some(name) = name else { return Ok(None) };
    hooks.get(name).cloned().map(Some).ok_or_else(|| {
        ConfigError::new(
            &format!("profiles.{profile}.pre_upload_hook"),
            format!("no [pre_upload.hooks.{name}] section"),
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn load(extra_profile: &str, sections: &str) -> Result<Settings, String> {
        Settings::from_toml(&format!("{sections}\n{MINIMAL}{extra_profile}"))
            .map_err(|e| e.to_string())
    }

    fn refused(extra_profile: &str, sections: &str) -> String {
        match load(extra_profile, sections) {
            Ok(_) => panic!("accepted: {sections} {extra_profile}"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_profile_names_a_configured_hook_and_quota() {
        let s = load(
            "pre_upload_hook = \"app\"\nquota = { bytes = 1000, objects = 3 }\n",
            &format!(
                "[quota]\nobjects = 10\n[pre_upload.hooks.app]\nurl = \"http://127.0.0.1:9/hook\"\nsecrets = [\"{SECRET}\"]\nfail_open = true\n"
            ),
        )
        .unwrap();
        let p = s.profile("avatars").unwrap();
        let hook = p.pre_upload_hook.as_ref().unwrap();
        assert!(hook.fail_open && hook.url.as_str().ends_with("/hook"));
        assert_eq!(p.quota.unwrap().bytes, Some(1000));
        assert_eq!(s.quota.unwrap().objects, Some(10));
        assert!(!format!("{hook:?}").contains("MfKQ"));
    }

    #[test]
    fn unknown_hooks_plain_http_and_empty_quotas_are_refused() {
        let e = refused("pre_upload_hook = \"nope\"\n", "");
        assert!(
            e.contains("pre_upload_hook") && e.contains("no [pre_upload.hooks.nope]"),
            "{e}"
        );
        let e = refused(
            "",
            &format!(
                "[pre_upload.hooks.app]\nurl = \"http://api.example.com/h\"\nsecrets = [\"{SECRET}\"]\n"
            ),
        );
        assert!(e.contains("must be https://"), "{e}");
        let e = refused(
            "",
            "[pre_upload.hooks.app]\nurl = \"https://api.example.com/h\"\n",
        );
        assert!(e.contains("missing secret"), "{e}");
        let e = refused("quota = {}\n", "");
        assert!(e.contains("profiles.avatars.quota"), "{e}");
        let e = refused("", "[quota]\nbytes = 0\n");
        assert!(e.contains("quota"), "{e}");
    }
}
