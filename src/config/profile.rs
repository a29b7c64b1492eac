//! Upload profiles: which bucket, which keys, how large, which types, for how long.

use super::hook::{self, PreUploadHook, QuotaLimits};
use super::{BucketSettings, ConfigError, ProviderKind, raw::ProfileSection};
use crate::domain::{ContentType, ContentTypePattern, KeyTemplate, UploadKind};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Five GiB: the single-PUT limit of OSS and S3. Larger uploads must be multipart.
pub const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// 48.8 TiB: OSS's object size limit (10,000 parts of 5 GiB).
/// Where `POST /v1/uploads` switches to multipart unless a profile says otherwise: above it
/// a failed transfer costs too much to start over (the OSS SDKs advise multipart from 100 MB).
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
pub const MAX_OBJECT_BYTES: u64 = 10_000 * MAX_SINGLE_PUT_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackBodyType {
    Json,
    Form,
}

impl CallbackBodyType {
    pub fn mime(self) -> &'static str {
        match self {
            CallbackBodyType::Json => "application/json",
            CallbackBodyType::Form => "application/x-www-form-urlencoded",
        }
    }
}

#[derive(Debug)]
pub struct Profile {
    pub name: String,
    pub bucket: Arc<BucketSettings>,
    pub template: KeyTemplate,
    pub max_size: u64,
    pub min_size: u64,
    pub content_types: Vec<ContentTypePattern>,
    pub expires_in: Duration,
    pub callback: bool,
    pub callback_body_type: CallbackBodyType,
    pub kinds: BTreeSet<UploadKind>,
    /// STS credentials of this profile may share a key prefix with other rights.
    pub allow_sts_shared_prefix: bool,
    /// PostObject forms may let the client pick the name under its prefix (`starts-with`).
    pub client_chosen_name: bool,
    pub part_size: Option<u64>,
    /// `POST /v1/uploads` answers with a multipart upload from this size on.
    pub multipart_threshold: u64,
    /// Check each arrived object's first bytes (magic numbers) against its type.
    pub content_check: bool,
    /// Delete the object when its record ends `failed` for breaking the profile.
    pub delete_rejected: bool,
    /// Lifetime of the owner's download URLs.
    pub download_expires_in: Duration,
    /// The app backend's hook asked before each right is issued.
    pub pre_upload_hook: Option<Arc<PreUploadHook>>,
    /// Per-user limits under this profile.
    pub quota: Option<QuotaLimits>,
}

/// Default lifetime of an owner's download URL.
pub const DEFAULT_DOWNLOAD_EXPIRES_SECS: u64 = 300;

impl std::fmt::Debug for BucketSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketSettings")
            .field("name", &self.name)
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Profile {
    pub fn allows_content_type(&self, ct: &ContentType) -> bool {
        self.content_types.iter().any(|p| p.matches(ct))
    }

    pub fn allowed_types_text(&self) -> String {
        self.content_types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn allows(&self, kind: UploadKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Whether the profile issues any right whose callback the gateway writes itself.
    fn issues_fixed_callbacks(&self) -> bool {
        self.kinds.iter().any(|k| *k != UploadKind::Sts)
    }

    /// Whether `key` may lie under some user's prefix of this profile's template (by the
    /// literal text before the first placeholder: conservative, never misses).
    pub fn may_hold_key(&self, key: &str) -> bool {
        key.starts_with(&self.template.shared_prefix())
    }

    fn same_bucket(&self, other: &Profile) -> bool {
        self.bucket.bucket == other.bucket.bucket && self.bucket.endpoint == other.bucket.endpoint
    }
}

/// Refuses profiles whose STS credentials could write keys that presigned URLs, forms or
/// multipart uploads are issued for (the same profile or another in the same bucket), unless
/// the STS profile says `allow_sts_shared_prefix = true`.
pub(super) fn check_sts_prefixes(
    profiles: &BTreeMap<String, Arc<Profile>>,
) -> Result<(), ConfigError> {
    for sts in profiles.values().filter(|p| p.allows(UploadKind::Sts)) {
        if sts.allow_sts_shared_prefix {
            continue;
        }
        let (a, sa) = (&sts.name, sts.template.shared_prefix());
        for other in profiles.values().filter(|o| o.issues_fixed_callbacks()) {
            let sb = other.template.shared_prefix();
            if sts.same_bucket(other) && (sa.starts_with(&sb) || sb.starts_with(&sa)) {
                return Err(ConfigError::new(
                    &format!("profiles.{a}.kinds"),
                    format!(
                        "STS credentials of '{a}' could overwrite uploads of profile '{}' (key prefixes '{sa}' and '{sb}' overlap in one bucket): give them separate prefixes, or set profiles.{a}.allow_sts_shared_prefix = true to have such uploads checked against storage before they are recorded",
                        other.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn validate(
    name: &str,
    p: ProfileSection,
    buckets: &BTreeMap<String, Arc<BucketSettings>>,
    hooks: &BTreeMap<String, Arc<PreUploadHook>>,
) -> Result<Profile, ConfigError> {
    let key = |k: &str| format!("profiles.{name}.{k}");
    let bucket = buckets
        .get(&p.bucket)
        .ok_or_else(|| {
            ConfigError::new(&key("bucket"), format!("no [buckets.{}] section", p.bucket))
        })?
        .clone();
    let template = KeyTemplate::parse(&p.key_template)
        .map_err(|e| ConfigError::new(&key("key_template"), e.to_string()))?;
    if p.max_size_bytes == 0 || p.max_size_bytes > MAX_OBJECT_BYTES {
        return Err(ConfigError::new(
            &key("max_size_bytes"),
            format!("must be between 1 and {MAX_OBJECT_BYTES}"),
        ));
    }
    if p.min_size_bytes > p.max_size_bytes {
        return Err(ConfigError::new(
            &key("min_size_bytes"),
            "must not exceed max_size_bytes",
        ));
    }
    if p.content_types.is_empty() {
        return Err(ConfigError::new(
            &key("content_types"),
            "list at least one type (\"*/*\" allows all)",
        ));
    }
    let content_types = p
        .content_types
        .iter()
        .map(|s| ContentTypePattern::parse(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::new(&key("content_types"), e.to_string()))?;
    if !(60..=7 * 24 * 3600).contains(&p.expires_in_secs) {
        return Err(ConfigError::new(
            &key("expires_in_secs"),
            "must be between 60 and 604800",
        ));
    }
    let callback_body_type = match p.callback_body_type.as_deref().unwrap_or("json") {
        "json" => CallbackBodyType::Json,
        "form" => CallbackBodyType::Form,
        other => {
            return Err(ConfigError::new(
                &key("callback_body_type"),
                format!("'{other}' is not json or form"),
            ));
        }
    };
    let kinds = match p.kinds {
        // STS is opt-in: its holder writes its own callback template, so the gateway can
        // trust nothing in that callback but what it asks storage itself.
        // Append is not an S3 operation either.
        None => UploadKind::ALL
            .iter()
            .copied()
            .filter(|k| *k != UploadKind::Sts)
            .filter(|k| *k != UploadKind::Append || bucket.kind() != ProviderKind::S3)
            .collect(),
        Some(list) => {
            let mut set = BTreeSet::new();
            for k in list {
                set.insert(
                    k.parse::<UploadKind>()
                        .map_err(|e| ConfigError::new(&key("kinds"), e))?,
                );
            }
            if set.is_empty() {
                return Err(ConfigError::new(&key("kinds"), "list at least one kind"));
            }
            if set.contains(&UploadKind::Append) && bucket.kind() == ProviderKind::S3 {
                return Err(ConfigError::new(
                    &key("kinds"),
                    format!(
                        "append is not an S3 operation (bucket '{}' is S3): remove it, or use multipart for large files",
                        p.bucket
                    ),
                ));
            }
            set
        }
    };
    if let Some(ps) = p.part_size_bytes
        && ps > MAX_SINGLE_PUT_BYTES
    {
        return Err(ConfigError::new(
            &key("part_size_bytes"),
            "must not exceed 5 GiB",
        ));
    }
    let multipart_threshold = p
        .multipart_threshold_bytes
        .unwrap_or(DEFAULT_MULTIPART_THRESHOLD);
    if multipart_threshold == 0 || multipart_threshold > MAX_SINGLE_PUT_BYTES {
        return Err(ConfigError::new(
            &key("multipart_threshold_bytes"),
            "must be between 1 and 5 GiB (a single PUT takes at most 5 GiB)",
        ));
    }
    let download_expires = p
        .download_expires_secs
        .unwrap_or(DEFAULT_DOWNLOAD_EXPIRES_SECS);
    if !(1..=24 * 3600).contains(&download_expires) {
        return Err(ConfigError::new(
            &key("download_expires_secs"),
            "must be between 1 and 86400",
        ));
    }
    Ok(Profile {
        name: name.to_string(),
        bucket,
        template,
        max_size: p.max_size_bytes,
        min_size: p.min_size_bytes,
        content_types,
        expires_in: Duration::from_secs(p.expires_in_secs),
        callback: p.callback,
        callback_body_type,
        kinds,
        allow_sts_shared_prefix: p.allow_sts_shared_prefix,
        client_chosen_name: p.client_chosen_name,
        part_size: p.part_size_bytes,
        multipart_threshold,
        content_check: p.content_check,
        delete_rejected: p.delete_rejected,
        download_expires_in: Duration::from_secs(download_expires),
        pre_upload_hook: hook::hook_for(name, p.pre_upload_hook.as_deref(), hooks)?,
        quota: hook::quota(&key("quota"), p.quota)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;
    use crate::domain::UploadKind;

    const STS_DOCS: &str = r#"
[profiles.docs]
bucket = "main"
key_template = "docs/{user}/{uuid}"
max_size_bytes = 1048576
kinds = ["sts"]
"#;

    fn err(text: &str) -> String {
        match Settings::from_toml(text) {
            Ok(_) => panic!("config unexpectedly valid"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn sts_is_opt_in_per_profile() {
        let s = Settings::from_toml(MINIMAL).unwrap();
        let p = s.profile("avatars").unwrap();
        assert!(!p.allows(UploadKind::Sts));
        assert!(p.allows(UploadKind::Presign) && p.allows(UploadKind::Multipart));
        let s = Settings::from_toml(&format!("{MINIMAL}{STS_DOCS}")).unwrap();
        assert!(s.profile("docs").unwrap().allows(UploadKind::Sts));
    }

    #[test]
    fn sts_sharing_a_prefix_with_presigned_uploads_is_refused_unless_allowed() {
        let text = format!("{MINIMAL}kinds = [\"presign\", \"sts\"]\n");
        let e = err(&text);
        assert!(
            e.starts_with("config error: profiles.avatars.kinds:") && e.contains("overlap"),
            "{e}"
        );
        // Another profile whose prefix contains the presign profile's.
        let wide = STS_DOCS
            .replace("docs/{user}", "{user}")
            .replace("[profiles.docs]", "[profiles.all]");
        let e = err(&format!("{MINIMAL}{wide}"));
        assert!(
            e.contains("profiles.all.kinds") && e.contains("'avatars'"),
            "{e}"
        );
        let allowed = format!("{text}allow_sts_shared_prefix = true\n");
        assert!(Settings::from_toml(&allowed).is_ok());
        // Apart in the same bucket: fine.
        assert!(Settings::from_toml(&format!("{MINIMAL}{STS_DOCS}")).is_ok());
    }
}
