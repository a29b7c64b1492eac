//! Content types as clients send them, and the patterns profiles allow (`image/*`).

use std::fmt;

const MAX_CONTENT_TYPE_BYTES: usize = 128;

/// A syntactically valid media type (`type/subtype[; param=value]...`). The text is kept
/// exactly as given: signers sign it byte for byte, and the client must send the same bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentType {
    raw: String,
    essence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    #[error("content type '{0}' is not of the form type/subtype")]
    Malformed(String),
    #[error("content type is longer than {MAX_CONTENT_TYPE_BYTES} bytes")]
    TooLong,
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
}

impl ContentType {
    pub fn parse(s: &str) -> Result<Self, ContentTypeError> {
        if s.len() > MAX_CONTENT_TYPE_BYTES {
            return Err(ContentTypeError::TooLong);
        }
        let malformed = || ContentTypeError::Malformed(s.chars().take(64).collect());
        let mut pieces = s.split(';');
        let essence = pieces.next().unwrap_or_default();
        let (ty, sub) = essence.split_once('/').ok_or_else(malformed)?;
        if !is_token(ty) || !is_token(sub) {
            return Err(malformed());
        }
        for param in pieces {
            let (k, v) = param.trim_start().split_once('=').ok_or_else(malformed)?;
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            if !is_token(k)
                || !(is_token(v)
                    || v.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'))
            {
                return Err(malformed());
            }
        }
        Ok(ContentType {
            raw: s.to_string(),
            essence: essence.to_ascii_lowercase(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// `type/subtype`, lower-cased, without parameters.
    pub fn essence(&self) -> &str {
        &self.essence
    }
}

impl fmt::Debug for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentType({:?})", self.raw)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// `*/*`, `image/*` or an exact `type/subtype`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ContentTypePattern {
    Any,
    TypeWildcard(String),
    Exact(String),
}

impl ContentTypePattern {
    pub fn parse(s: &str) -> Result<Self, ContentTypeError> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "*/*" || lower == "*" {
            return Ok(ContentTypePattern::Any);
        }
        let (ty, sub) = lower
            .split_once('/')
            .ok_or_else(|| ContentTypeError::Malformed(s.to_string()))?;
        if !is_token(ty) {
            return Err(ContentTypeError::Malformed(s.to_string()));
        }
        if sub == "*" {
            return Ok(ContentTypePattern::TypeWildcard(ty.to_string()));
        }
        if !is_token(sub) {
            return Err(ContentTypeError::Malformed(s.to_string()));
        }
        Ok(ContentTypePattern::Exact(lower))
    }

    pub fn matches(&self, ct: &ContentType) -> bool {
        match self {
            ContentTypePattern::Any => true,
            ContentTypePattern::TypeWildcard(t) => {
                ct.essence().split_once('/').is_some_and(|(ty, _)| ty == t)
            }
            ContentTypePattern::Exact(e) => ct.essence() == e,
        }
    }

    /// The prefix a PostObject `starts-with $Content-Type` condition can enforce, if any.
    pub fn policy_prefix(&self) -> Option<String> {
        match self {
            ContentTypePattern::Any => None,
            ContentTypePattern::TypeWildcard(t) => Some(format!("{t}/")),
            ContentTypePattern::Exact(e) => Some(e.clone()),
        }
    }
}

impl fmt::Display for ContentTypePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentTypePattern::Any => f.write_str("*/*"),
            ContentTypePattern::TypeWildcard(t) => write!(f, "{t}/*"),
            ContentTypePattern::Exact(e) => f.write_str(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let png = ContentType::parse("image/PNG").unwrap();
        assert_eq!(png.as_str(), "image/PNG");
        assert!(ContentTypePattern::parse("image/*").unwrap().matches(&png));
        assert!(
            ContentTypePattern::parse("image/png")
                .unwrap()
                .matches(&png)
        );
        assert!(ContentTypePattern::parse("*/*").unwrap().matches(&png));
        assert!(!ContentTypePattern::parse("video/*").unwrap().matches(&png));
        let txt = ContentType::parse("text/plain; charset=utf-8").unwrap();
        assert_eq!(txt.essence(), "text/plain");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "image",
            "image/",
            "/png",
            "image/png\r\nX-Evil: 1",
            "a b/c",
            "text/plain; x",
        ] {
            assert!(ContentType::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ContentTypePattern::parse("*/png").is_err());
    }
}
