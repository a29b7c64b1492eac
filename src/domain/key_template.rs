//! Object-key templates such as `avatars/{user}/{uuid}{ext}`.
//!
//! The server always builds keys from a template; user-influenced parts (`{user}`,
//! `{filename}`, `{ext}`) are sanitised, and the result is checked again as an [`ObjectKey`]
//! that must lie under the user's [`KeyPrefix`].

use super::filename::Filename;
use super::object_key::{KeyPrefix, ObjectKey, ObjectKeyError};
use super::user::UserId;
use std::fmt;
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    User,
    Uuid,
    UploadId,
    Date,
    Year,
    Month,
    Day,
    Ext,
    Filename,
}

/// A parsed template. The part before the first placeholder other than `{user}`, cut at its
/// last '/', is the per-user prefix: it must contain `{user}`, so users never share one.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyTemplate {
    source: String,
    parts: Vec<Part>,
    /// How many leading parts make up the prefix; the last of them ends with '/'.
    prefix_parts: usize,
    prefix_cut: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "unknown placeholder '{{{0}}}' (known: user, uuid, upload_id, date, yyyy, mm, dd, ext, filename)"
    )]
    UnknownPlaceholder(String),
    #[error("unclosed '{{'")]
    Unclosed,
    #[error("stray '}}'")]
    StrayBrace,
    #[error(
        "the key prefix before the first variable part must contain {{user}} followed by '/', e.g. 'avatars/{{user}}/{{uuid}}{{ext}}'"
    )]
    NoUserPrefix,
    #[error("literal text {0}")]
    BadLiteral(ObjectKeyError),
    #[error("a template must not end with '/'")]
    TrailingSlash,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("{{filename}} or {{ext}} needs a file name")]
    MissingFilename,
    #[error("rendered key is invalid: {0}")]
    InvalidKey(ObjectKeyError),
    #[error("rendered key escapes the user prefix")]
    EscapesPrefix,
}

/// What a template is rendered with. `uuid` and `upload_id` come from the caller so that the
/// record and the key agree.
pub struct RenderContext<'a> {
    pub user: &'a UserId,
    pub upload_id: &'a str,
    pub uuid: &'a str,
    pub filename: Option<&'a Filename>,
    pub now: OffsetDateTime,
}

impl KeyTemplate {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_string()));
                    rest = "";
                }
                Some(i) if rest.as_bytes()[i] == b'}' => return Err(TemplateError::StrayBrace),
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_string()));
                    }
                    let end = rest[i..].find('}').ok_or(TemplateError::Unclosed)? + i;
                    let name = &rest[i + 1..end];
                    parts.push(match name {
                        "user" => Part::User,
                        "uuid" => Part::Uuid,
                        "upload_id" => Part::UploadId,
                        "date" => Part::Date,
                        "yyyy" => Part::Year,
                        "mm" => Part::Month,
                        "dd" => Part::Day,
                        "ext" => Part::Ext,
                        "filename" => Part::Filename,
                        other => return Err(TemplateError::UnknownPlaceholder(other.to_string())),
                    });
                    rest = &rest[end + 1..];
                }
            }
        }
        if source.ends_with('/') {
            return Err(TemplateError::TrailingSlash);
        }
        // Literals must be valid key text on their own (no '..', '\\', control characters).
        for p in &parts {
            if let Part::Literal(l) = p {
                let probe: String = l
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("/");
                if !probe.is_empty() {
                    ObjectKey::parse(probe).map_err(TemplateError::BadLiteral)?;
                }
                if l.contains("//") {
                    return Err(TemplateError::BadLiteral(ObjectKeyError::EmptySegment));
                }
            }
        }
        if let Some(Part::Literal(l)) = parts.first()
            && l.starts_with('/')
        {
            return Err(TemplateError::BadLiteral(ObjectKeyError::LeadingSlash));
        }
        // The prefix: leading literals and {user}, up to the last '/' among them.
        let fixed = parts
            .iter()
            .take_while(|p| matches!(p, Part::Literal(_) | Part::User))
            .count();
        let mut prefix_parts = 0;
        let mut prefix_cut = 0;
        for (idx, p) in parts[..fixed].iter().enumerate() {
            if let Part::Literal(l) = p
                && let Some(pos) = l.rfind('/')
            {
                prefix_parts = idx + 1;
                prefix_cut = pos + 1;
            }
        }
        let user_in_prefix = parts[..prefix_parts].contains(&Part::User);
        if !user_in_prefix {
            return Err(TemplateError::NoUserPrefix);
        }
        // {user} must be a whole segment, so that "u{user}" cannot make "u1" a prefix of "u12".
        for (idx, p) in parts[..prefix_parts].iter().enumerate() {
            if *p == Part::User {
                let before_ok =
                    idx == 0 || matches!(&parts[idx - 1], Part::Literal(l) if l.ends_with('/'));
                let after_ok =
                    matches!(parts.get(idx + 1), Some(Part::Literal(l)) if l.starts_with('/'));
                if !before_ok || !after_ok {
                    return Err(TemplateError::NoUserPrefix);
                }
            }
        }
        Ok(KeyTemplate {
            source: source.to_string(),
            parts,
            prefix_parts,
            prefix_cut,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn needs_filename(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Filename | Part::Ext))
    }

    /// True when the template makes every key unique ({uuid} or {upload_id}).
    pub fn is_unique_per_upload(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Uuid | Part::UploadId))
    }

    /// The literal text before `{user}`, shared by every user's keys (e.g. `avatars/`): where
    /// the multipart sweeper looks for abandoned uploads.
    pub fn shared_prefix(&self) -> String {
        self.parts
            .iter()
            .map_while(|p| match p {
                Part::Literal(l) => Some(l.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The user's prefix, e.g. `avatars/42/` for `avatars/{user}/{uuid}{ext}`.
    pub fn prefix_for(&self, user: &UserId) -> KeyPrefix {
        let mut out = String::new();
        for (idx, p) in self.parts[..self.prefix_parts].iter().enumerate() {
            let text = match p {
                Part::Literal(l) => l.clone(),
                Part::User => user.as_segment(),
                _ => unreachable!("prefix holds only literals and {{user}}"),
            };
            if idx + 1 == self.prefix_parts {
                out.push_str(&text[..self.prefix_cut]);
            } else {
                out.push_str(&text);
            }
        }
        KeyPrefix::parse(out).expect("template validation guarantees a valid prefix")
    }

    pub fn render(&self, ctx: &RenderContext<'_>) -> Result<ObjectKey, RenderError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::User => out.push_str(&ctx.user.as_segment()),
                Part::Uuid => out.push_str(ctx.uuid),
                Part::UploadId => out.push_str(ctx.upload_id),
                Part::Date => out.push_str(&format!(
                    "{:04}-{:02}-{:02}",
                    ctx.now.year(),
                    u8::from(ctx.now.month()),
                    ctx.now.day()
                )),
                Part::Year => out.push_str(&format!("{:04}", ctx.now.year())),
                Part::Month => out.push_str(&format!("{:02}", u8::from(ctx.now.month()))),
                Part::Day => out.push_str(&format!("{:02}", ctx.now.day())),
                Part::Ext => out.push_str(
                    &ctx.filename
                        .ok_or(RenderError::MissingFilename)?
                        .extension(),
                ),
                Part::Filename => {
                    out.push_str(ctx.filename.ok_or(RenderError::MissingFilename)?.as_str())
                }
            }
        }
        let key = ObjectKey::parse(out).map_err(RenderError::InvalidKey)?;
        if !key.is_under(&self.prefix_for(ctx.user)) {
            return Err(RenderError::EscapesPrefix);
        }
        Ok(key)
    }
}

impl fmt::Debug for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyTemplate({:?})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn ctx<'a>(user: &'a UserId, filename: Option<&'a Filename>) -> RenderContext<'a> {
        RenderContext {
            user,
            upload_id: "01J0000000000000000000000",
            uuid: "3f2a6c1e-7b9d-4e8f-a1b2-c3d4e5f60718",
            filename,
            now: datetime!(2023-11-14 22:13:20 UTC),
        }
    }

    #[test]
    fn renders_the_documented_placeholders() {
        let t = KeyTemplate::parse("avatars/{user}/{date}/{uuid}{ext}").unwrap();
        let user = UserId::parse("42").unwrap();
        let f = Filename::sanitize("Me.PNG").unwrap();
        let key = t.render(&ctx(&user, Some(&f))).unwrap();
        assert_eq!(
            key.as_str(),
            "avatars/42/2023-11-14/3f2a6c1e-7b9d-4e8f-a1b2-c3d4e5f60718.png"
        );
        assert_eq!(t.prefix_for(&user).as_str(), "avatars/42/");

        let t = KeyTemplate::parse("u/{user}/{yyyy}/{mm}/{dd}/{upload_id}-{filename}").unwrap();
        let key = t.render(&ctx(&user, Some(&f))).unwrap();
        assert_eq!(
            key.as_str(),
            "u/42/2023/11/14/01J0000000000000000000000-Me.PNG"
        );
    }

    #[test]
    fn the_prefix_must_hold_the_user_as_a_whole_segment() {
        for bad in [
            "{uuid}/{user}/x",
            "avatars/{uuid}",
            "avatars/u{user}/{uuid}",
            "avatars/{user}{uuid}",
            "{user}",
        ] {
            assert_eq!(
                KeyTemplate::parse(bad),
                Err(TemplateError::NoUserPrefix),
                "{bad}"
            );
        }
        assert!(KeyTemplate::parse("{user}/{uuid}").is_ok());
    }

    #[test]
    fn rejects_malformed_templates() {
        assert!(matches!(
            KeyTemplate::parse("a/{nope}/x"),
            Err(TemplateError::UnknownPlaceholder(_))
        ));
        assert_eq!(KeyTemplate::parse("a/{user"), Err(TemplateError::Unclosed));
        assert_eq!(KeyTemplate::parse("a/}x"), Err(TemplateError::StrayBrace));
        assert!(matches!(
            KeyTemplate::parse("../{user}/{uuid}"),
            Err(TemplateError::BadLiteral(_))
        ));
        assert!(matches!(
            KeyTemplate::parse("/a/{user}/{uuid}"),
            Err(TemplateError::BadLiteral(_))
        ));
        assert!(matches!(
            KeyTemplate::parse("a//{user}/{uuid}"),
            Err(TemplateError::BadLiteral(_))
        ));
        assert_eq!(
            KeyTemplate::parse("a/{user}/"),
            Err(TemplateError::TrailingSlash)
        );
    }

    #[test]
    fn hostile_user_ids_stay_in_their_own_prefix() {
        let t = KeyTemplate::parse("avatars/{user}/{filename}").unwrap();
        let f = Filename::sanitize("a.png").unwrap();
        for raw in ["..", "../admin", "a/b", "%2e%2e", "."] {
            let user = UserId::parse(raw).unwrap();
            let key = t.render(&ctx(&user, Some(&f))).unwrap();
            assert_eq!(key.as_str().matches('/').count(), 2, "{raw} -> {key}");
        }
    }

    proptest! {
        #[test]
        fn rendered_keys_are_valid_and_inside_the_user_prefix(
            user in "\\PC{1,40}",
            name in any::<String>(),
            template in prop::sample::select(vec![
                "avatars/{user}/{uuid}{ext}",
                "docs/{user}/{date}/{filename}",
                "{user}/{upload_id}-{filename}",
                "a/b/{user}/c/{yyyy}{mm}{dd}/{uuid}",
            ]),
        ) {
            let t = KeyTemplate::parse(template).unwrap();
            let user = match UserId::parse(user) { Ok(u) => u, Err(_) => return Ok(()) };
            let filename = Filename::sanitize(&name).ok();
            match t.render(&ctx(&user, filename.as_ref())) {
                Ok(key) => {
                    let prefix = t.prefix_for(&user);
                    prop_assert!(key.is_under(&prefix));
                    prop_assert!(ObjectKey::parse(key.as_str().to_string()).is_ok());
                }
                Err(RenderError::MissingFilename) => prop_assert!(filename.is_none()),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn different_users_never_share_a_prefix(a in "\\PC{1,20}", b in "\\PC{1,20}") {
            let t = KeyTemplate::parse("avatars/{user}/{uuid}").unwrap();
            if let (Ok(ua), Ok(ub)) = (UserId::parse(a), UserId::parse(b)) && ua != ub {
                let (pa, pb) = (t.prefix_for(&ua), t.prefix_for(&ub));
                prop_assert!(!pa.as_str().starts_with(pb.as_str()));
                prop_assert!(!pb.as_str().starts_with(pa.as_str()));
            }
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = KeyTemplate::parse(&s);
        }
    }
}
