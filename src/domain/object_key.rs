//! A storage object key that is safe to sign.

use std::fmt;

/// OSS, S3 and COS all cap keys at 1023 bytes of UTF-8 (S3 says 1024; the smaller wins).
pub const MAX_KEY_BYTES: usize = 1023;

/// An object key the gateway built and checked. Construct only through [`ObjectKey::parse`]
/// (or the key template renderer, which calls it), so a key that reaches a signer never has a
/// `..` or `.` segment, an empty segment, a leading `/`, a backslash or a control character.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectKeyError {
    #[error("object key is empty")]
    Empty,
    #[error("object key is {0} bytes; the limit is {MAX_KEY_BYTES}")]
    TooLong(usize),
    #[error("object key must not start with '/'")]
    LeadingSlash,
    #[error("object key must not contain control characters")]
    ControlCharacter,
    #[error("object key must not contain '\\'")]
    Backslash,
    #[error("object key must not contain '.' or '..' segments")]
    DotSegment,
    #[error("object key must not contain empty segments ('//')")]
    EmptySegment,
}

impl ObjectKey {
    pub fn parse(s: impl Into<String>) -> Result<Self, ObjectKeyError> {
        let s = s.into();
        if s.is_empty() {
            return Err(ObjectKeyError::Empty);
        }
        if s.len() > MAX_KEY_BYTES {
            return Err(ObjectKeyError::TooLong(s.len()));
        }
        if s.starts_with('/') {
            return Err(ObjectKeyError::LeadingSlash);
        }
        if s.chars().any(char::is_control) {
            return Err(ObjectKeyError::ControlCharacter);
        }
        if s.contains('\\') {
            return Err(ObjectKeyError::Backslash);
        }
        // A trailing '/' would name a "folder" object; the last segment check below rejects it
        // as empty, which is what we want: uploads always name a file.
        for segment in s.split('/') {
            match segment {
                "" => return Err(ObjectKeyError::EmptySegment),
                "." | ".." => return Err(ObjectKeyError::DotSegment),
                _ => {}
            }
        }
        Ok(ObjectKey(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the key lies under `prefix` (a prefix always ends with '/').
    pub fn is_under(&self, prefix: &KeyPrefix) -> bool {
        self.0.starts_with(prefix.as_str()) && self.0.len() > prefix.as_str().len()
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({:?})", self.0)
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The part of a key that belongs to one user under one profile, e.g. `avatars/42/`.
/// Always non-empty, always ends with '/', never contains dot or empty segments.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub fn parse(s: impl Into<String>) -> Result<Self, ObjectKeyError> {
        let s = s.into();
        let Some(body) = s.strip_suffix('/') else {
            return Err(ObjectKeyError::EmptySegment);
        };
        // A prefix without its trailing slash must itself be a valid key.
        ObjectKey::parse(body.to_string())?;
        Ok(KeyPrefix(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPrefix({:?})", self.0)
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_keys() {
        for k in [
            "a",
            "avatars/42/x.png",
            "a/b/c.d",
            "中文/文件.txt",
            "a b/c+d=e",
        ] {
            assert!(ObjectKey::parse(k).is_ok(), "{k}");
        }
    }

    #[test]
    fn rejects_escapes_and_oddities() {
        let cases = [
            ("", ObjectKeyError::Empty),
            ("/a", ObjectKeyError::LeadingSlash),
            ("a/../b", ObjectKeyError::DotSegment),
            ("..", ObjectKeyError::DotSegment),
            ("a/./b", ObjectKeyError::DotSegment),
            ("a//b", ObjectKeyError::EmptySegment),
            ("a/", ObjectKeyError::EmptySegment),
            ("a\\..\\b", ObjectKeyError::Backslash),
            ("a\nb", ObjectKeyError::ControlCharacter),
            ("a\u{7f}b", ObjectKeyError::ControlCharacter),
        ];
        for (k, e) in cases {
            assert_eq!(ObjectKey::parse(k), Err(e), "{k:?}");
        }
        assert_eq!(
            ObjectKey::parse("x".repeat(1024)),
            Err(ObjectKeyError::TooLong(1024))
        );
        assert!(ObjectKey::parse("x".repeat(1023)).is_ok());
    }

    #[test]
    fn prefix_containment_respects_segment_boundaries() {
        let p = KeyPrefix::parse("avatars/4/").unwrap();
        assert!(ObjectKey::parse("avatars/4/a.png").unwrap().is_under(&p));
        assert!(!ObjectKey::parse("avatars/42/a.png").unwrap().is_under(&p));
        assert!(KeyPrefix::parse("avatars/4").is_err());
        assert!(KeyPrefix::parse("../").is_err());
    }

    proptest! {
        #[test]
        fn parsed_keys_never_hold_a_dot_segment_or_control_char(s in "\\PC{0,40}|[./a\\\\]{0,12}") {
            if let Ok(k) = ObjectKey::parse(s.clone()) {
                prop_assert!(!k.as_str().starts_with('/'));
                prop_assert!(k.as_str().split('/').all(|seg| seg != ".." && seg != "." && !seg.is_empty()));
                prop_assert!(!k.as_str().chars().any(char::is_control));
                prop_assert!(k.as_str().len() <= MAX_KEY_BYTES);
            }
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = ObjectKey::parse(s);
        }
    }
}
