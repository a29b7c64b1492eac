//! Client-supplied file names, reduced to something safe to put in one key segment.

use std::fmt;

/// Long enough for real names, short enough that a template with a prefix stays far under
/// the 1023-byte key limit.
pub const MAX_FILENAME_BYTES: usize = 160;
const MAX_EXT_CHARS: usize = 16;

/// A file name with no directory part, no control characters, no characters that break URLs
/// or shells (`? # % * : | " < > { } ^ \` [ ]`), no leading or trailing dots or spaces.
#[derive(Clone, PartialEq, Eq)]
pub struct Filename(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilenameError {
    #[error("filename '{0}' contains nothing usable after removing unsafe characters")]
    NothingLeft(String),
}

impl Filename {
    /// Reduces any client-supplied name to a safe one, or fails when nothing is left.
    pub fn sanitize(raw: &str) -> Result<Self, FilenameError> {
        // Only the last path component counts: "../../etc/passwd" names "passwd".
        let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
        let mut out = String::with_capacity(base.len());
        let mut last_space = false;
        for c in base.chars() {
            let c = if c.is_control() || is_format_char(c) {
                continue;
            } else if matches!(
                c,
                '?' | '#'
                    | '%'
                    | '*'
                    | ':'
                    | '|'
                    | '"'
                    | '<'
                    | '>'
                    | '{'
                    | '}'
                    | '^'
                    | '`'
                    | '['
                    | ']'
                    | '\''
                    | '&'
                    | '+'
                    | '='
            ) {
                '_'
            } else if c.is_whitespace() {
                ' '
            } else {
                c
            };
            if c == ' ' {
                if last_space {
                    continue;
                }
                last_space = true;
            } else {
                last_space = false;
            }
            out.push(c);
        }
        let trimmed = out.trim_matches(|c| c == '.' || c == ' ');
        let shortened = shorten(trimmed, MAX_FILENAME_BYTES);
        let shortened = shortened.trim_matches(|c| c == '.' || c == ' ');
        if shortened.is_empty() || shortened.chars().all(|c| c == '_') {
            return Err(FilenameError::NothingLeft(raw.chars().take(64).collect()));
        }
        Ok(Filename(shortened.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-case extension with its dot (".jpg"), or "" when the name has none usable.
    pub fn extension(&self) -> String {
        match self.0.rsplit_once('.') {
            Some((stem, ext))
                if !stem.is_empty()
                    && !ext.is_empty()
                    && ext.len() <= MAX_EXT_CHARS
                    && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                format!(".{}", ext.to_ascii_lowercase())
            }
            _ => String::new(),
        }
    }
}

/// Cuts to at most `max` bytes on a char boundary, keeping the extension when there is one.
/// Unicode format characters (category Cf): invisible, and some reorder what is shown
/// (U+202E makes `gnp.\u{202e}exe.txt` look like `gnp.txt.exe`). None belongs in a key.
fn is_format_char(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let ext = match s.rsplit_once('.') {
        Some((_, e)) if e.len() <= MAX_EXT_CHARS => &s[s.len() - e.len() - 1..],
        _ => "",
    };
    let mut budget = max - ext.len();
    while !s.is_char_boundary(budget) {
        budget -= 1;
    }
    format!("{}{}", &s[..budget], ext)
}

impl fmt::Debug for Filename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Filename({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_ordinary_names() {
        assert_eq!(
            Filename::sanitize("photo.JPG").unwrap().as_str(),
            "photo.JPG"
        );
        assert_eq!(
            Filename::sanitize("我的 照片.png").unwrap().as_str(),
            "我的 照片.png"
        );
        assert_eq!(Filename::sanitize("photo.JPG").unwrap().extension(), ".jpg");
        assert_eq!(Filename::sanitize("README").unwrap().extension(), "");
        assert_eq!(Filename::sanitize("a.tar.gz").unwrap().extension(), ".gz");
    }

    #[test]
    fn strips_directories_and_unsafe_characters() {
        assert_eq!(
            Filename::sanitize("../../etc/passwd").unwrap().as_str(),
            "passwd"
        );
        assert_eq!(
            Filename::sanitize("C:\\Users\\x\\a.txt").unwrap().as_str(),
            "a.txt"
        );
        assert_eq!(
            Filename::sanitize("a?b#c%d.txt").unwrap().as_str(),
            "a_b_c_d.txt"
        );
        assert_eq!(
            Filename::sanitize("  ..hidden.. ").unwrap().as_str(),
            "hidden"
        );
        assert_eq!(
            Filename::sanitize("a\u{0}\nb.txt").unwrap().as_str(),
            "ab.txt"
        );
    }

    #[test]
    fn drops_invisible_and_reordering_format_characters() {
        for (raw, want) in [
            ("gnp.\u{202e}exe.txt", "gnp.exe.txt"),
            ("a\u{200b}b.png", "ab.png"),
            ("\u{feff}bom.txt", "bom.txt"),
            ("x\u{2066}y\u{2069}.pdf", "xy.pdf"),
            ("soft\u{ad}hyphen.txt", "softhyphen.txt"),
        ] {
            assert_eq!(Filename::sanitize(raw).unwrap().as_str(), want, "{raw:?}");
        }
        assert!(Filename::sanitize("\u{202e}\u{200b}").is_err());
    }

    #[test]
    fn rejects_names_that_sanitise_to_nothing() {
        for raw in ["", "..", "/", "../", " . ", "\u{1}", "???", "dir/"] {
            assert!(Filename::sanitize(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = format!("{}.jpeg", "é".repeat(200));
        let f = Filename::sanitize(&name).unwrap();
        assert!(f.as_str().len() <= MAX_FILENAME_BYTES);
        assert!(f.as_str().ends_with(".jpeg"));
    }

    proptest! {
        #[test]
        fn sanitized_names_are_one_safe_segment(raw in any::<String>()) {
            if let Ok(f) = Filename::sanitize(&raw) {
                let s = f.as_str();
                prop_assert!(!s.is_empty() && s.len() <= MAX_FILENAME_BYTES);
                prop_assert!(!s.contains('/') && !s.contains('\\'));
                prop_assert!(s != "." && s != "..");
                prop_assert!(!s.starts_with('.') && !s.ends_with('.'));
                let unsafe_char = s.chars().any(|c| c.is_control() || "?#%{}".contains(c));
                prop_assert!(!unsafe_char, "unsafe character in {:?}", s);
            }
        }
    }
}
