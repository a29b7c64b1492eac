//! The authenticated user, and how a user id may appear inside object keys and Redis keys.

use std::fmt;

pub const MAX_USER_ID_BYTES: usize = 128;

/// The id of an authenticated caller, as taken from a JWT claim or an API key entry.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserIdError {
    #[error("user id is empty")]
    Empty,
    #[error("user id is longer than {MAX_USER_ID_BYTES} bytes")]
    TooLong,
    #[error("user id contains control characters")]
    ControlCharacter,
}

impl UserId {
    pub fn parse(s: impl Into<String>) -> Result<Self, UserIdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(UserIdError::Empty);
        }
        if s.len() > MAX_USER_ID_BYTES {
            return Err(UserIdError::TooLong);
        }
        if s.chars().any(char::is_control) {
            return Err(UserIdError::ControlCharacter);
        }
        Ok(UserId(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The user id as one path segment: injective (different ids never give the same
    /// segment), never `.`/`..`, never containing `/`, `{`, `}` or `%` unescaped.
    pub fn as_segment(&self) -> String {
        encode_segment(&self.0)
    }
}

impl TryFrom<String> for UserId {
    type Error = UserIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UserId::parse(s)
    }
}

impl From<UserId> for String {
    fn from(u: UserId) -> String {
        u.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({:?})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Percent-encodes every byte outside `[A-Za-z0-9._@-]`, and the dots of a segment made only
/// of dots. Because '%' itself is always encoded the mapping is injective.
pub fn encode_segment(s: &str) -> String {
    let only_dots = !s.is_empty() && s.bytes().all(|b| b == b'.');
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'@' | b'-')
            || (b == b'.' && !only_dots);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn segments_are_safe() {
        assert_eq!(encode_segment("42"), "42");
        assert_eq!(encode_segment("a/b"), "a%2Fb");
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("a..b"), "a..b");
        assert_eq!(encode_segment("{x}"), "%7Bx%7D");
        assert_eq!(encode_segment("%2F"), "%252F");
    }

    proptest! {
        #[test]
        fn segment_encoding_is_injective(a in "\\PC{1,12}") {
            // Decoding gives the input back, so no two inputs share an encoding.
            let decoded = percent_encoding::percent_decode_str(&encode_segment(&a))
                .decode_utf8()
                .unwrap()
                .into_owned();
            prop_assert_eq!(decoded, a);
        }

        #[test]
        fn segment_never_escapes(a in "\\PC{1,24}") {
            let s = encode_segment(&a);
            prop_assert!(!s.contains('/'));
            prop_assert!(s != "." && s != "..");
            let has_brace = s.contains('{') || s.contains('}');
            prop_assert!(!has_brace, "brace in {:?}", s);
        }
    }
}
