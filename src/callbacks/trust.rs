//! What a verified callback can be believed about. Its signature proves only that *storage*
//! sent it; its values are storage's words only when the gateway fixed the template (signed
//! into the presigned URL, the PostObject policy or the CompleteMultipartUpload call). A
//! holder of STS credentials attaches any template it likes, so for an object an STS holder
//! could have written, size, type and ETag come from the gateway's own HeadObject instead.

use super::binding::Binding;
use crate::config::{Profile, Settings};
use crate::domain::content_check::{self, ContentFacts};
use crate::domain::{ContentType, UploadKind};
use crate::providers::CallbackFields;
use std::sync::Arc;

/// The bucket (config name) to ask about the object, when the client could have authored
/// this callback's template; `None` when the gateway wrote it.
pub fn storage_check<'a>(
    settings: &'a Settings,
    binding: &Binding,
    fields: &CallbackFields,
) -> Option<&'a str> {
    let in_bucket = |p: &&std::sync::Arc<crate::config::Profile>| p.bucket.bucket == fields.bucket;
    if let Binding::Grant { profile, .. } = binding {
        return settings.profile(profile).map(|p| p.bucket.name.as_str());
    }
    settings
        .profiles
        .values()
        .filter(in_bucket)
        .find(|p| p.allows(UploadKind::Sts) && p.may_hold_key(&fields.object))
        .map(|p| p.bucket.name.as_str())
}

/// What the profile's rules (size bounds, the declared size the ticket binds, content types)
/// say about the arrival, known without Redis: a callback Redis cannot take is refused on
/// these before it is journaled, with the answer it would get with Redis up.
pub fn profile_violation(
    settings: &Settings,
    binding: &Binding,
    fields: &CallbackFields,
    content: Option<&ContentFacts>,
) -> Option<String> {
    let profile = profile_for(settings, binding, fields)?;
    if let Some(size) = fields.size {
        if size > profile.max_size {
            return Some(format!(
                "size {size} exceeds the limit of {} bytes",
                profile.max_size
            ));
        }
        if size < profile.min_size {
            return Some(format!(
                "size {size} is below the minimum of {} bytes",
                profile.min_size
            ));
        }
        if let Binding::Upload {
            declared_size: Some(declared),
            ..
        } = binding
            && *declared != size
        {
            return Some(format!("size {size} differs from the declared {declared}"));
        }
    }
    if let Some(ct) = fields.mime_type.as_deref() {
        let allowed =
            crate::domain::ContentType::parse(ct).is_ok_and(|c| profile.allows_content_type(&c));
        if !allowed {
            return Some(format!(
                "content type '{}' is not allowed (allowed: {})",
                ct.chars().take(100).collect::<String>(),
                profile.allowed_types_text()
            ));
        }
    }
    content_violation(profile, fields.mime_type.as_deref(), content?)
}

/// The profile a callback's object falls under, as far as it can be known without Redis:
/// the grant's, or the callback profile whose user prefix holds the object.
pub fn profile_for<'a>(
    settings: &'a Settings,
    binding: &Binding,
    fields: &CallbackFields,
) -> Option<&'a Arc<Profile>> {
    match binding {
        Binding::Grant { profile, .. } => settings.profile(profile),
        other => settings.profiles.values().find(|p| {
            p.callback
                && p.bucket.bucket == fields.bucket
                && fields
                    .object
                    .starts_with(p.template.prefix_for(other.user()).as_str())
        }),
    }
}

/// What the object's own first bytes say against the profile (content checks): the type they
/// show must be one the profile allows, and agree with the declared type.
pub fn content_violation(
    profile: &Profile,
    declared: Option<&str>,
    facts: &ContentFacts,
) -> Option<String> {
    if let Some(d) = &facts.detected {
        let allowed = ContentType::parse(d).is_ok_and(|c| profile.allows_content_type(&c));
        if !allowed {
            return Some(format!(
                "content is {d}, which is not allowed (allowed: {})",
                profile.allowed_types_text()
            ));
        }
    }
    content_check::mismatch(declared, facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::MINIMAL;
    use crate::domain::{UploadId, UserId};
    use crate::providers::{ObjectMeta, VerifiedCallback};

    fn fields(object: &str) -> CallbackFields {
        VerifiedCallback::from_storage_check(
            "oss",
            time::OffsetDateTime::now_utc(),
            "examplebucket",
            object,
            ObjectMeta {
                size: 1,
                etag: None,
                content_type: None,
                crc64: None,
                binding: None,
            },
        )
        .fields()
        .clone()
    }

    #[test]
    fn grants_and_keys_an_sts_holder_could_write_are_checked_against_storage() {
        let text = format!(
            "{MINIMAL}kinds = [\"presign\", \"sts\"]\nallow_sts_shared_prefix = true\n\
             [profiles.docs]\nbucket = \"main\"\nkey_template = \"docs/{{user}}/{{uuid}}\"\n\
             max_size_bytes = 10\n"
        );
        let s = Settings::from_toml(&text).unwrap();
        let user = UserId::parse("alice").unwrap();
        let upload = Binding::Upload {
            upload_id: UploadId::new(),
            user: user.clone(),
            declared_size: None,
        };
        assert_eq!(
            storage_check(&s, &upload, &fields("avatars/alice/x.png")),
            Some("main")
        );
        // Under no STS profile's prefix: the gateway wrote the template.
        assert_eq!(storage_check(&s, &upload, &fields("docs/alice/x")), None);
        let grant = Binding::Grant {
            grant_id: UploadId::new(),
            user,
            profile: "avatars".into(),
            prefix: "avatars/alice/".into(),
            upload_id: UploadId::new(),
        };
        assert_eq!(
            storage_check(&s, &grant, &fields("avatars/alice/x.png")),
            Some("main")
        );
    }
}
