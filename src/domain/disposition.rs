//! The `Content-Disposition` a download URL asks storage to answer with, built from a
//! sanitised file name so that no client-supplied text can add parameters, break the quoting
//! or smuggle a path.

use super::filename::{Filename, FilenameError};
use std::fmt::Write;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The browser saves the file.
    Attachment,
    /// The browser shows it where it can.
    Inline,
}

impl FromStr for Disposition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "attachment" => Ok(Disposition::Attachment),
            "inline" => Ok(Disposition::Inline),
            other => Err(format!(
                "'{}' is not attachment or inline",
                other.chars().take(40).collect::<String>()
            )),
        }
    }
}

/// `attachment; filename="report.pdf"`, plus `filename*=UTF-8''…` (RFC 6266 / 8187) when
/// the name is not plain ASCII; the quoted fallback then has `_` for each non-ASCII letter.
pub fn content_disposition(kind: Disposition, raw_name: &str) -> Result<String, FilenameError> {
    let name = Filename::sanitize(raw_name)?;
    let name = name.as_str();
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut out = match kind {
        Disposition::Attachment => "attachment".to_string(),
        Disposition::Inline => "inline".to_string(),
    };
    // Sanitising removed `"` and `\`, the only characters a quoted string must escape.
    write!(out, "; filename=\"{ascii}\"").expect("writing to a String");
    if ascii != name {
        out.push_str("; filename*=UTF-8''");
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                out.push(b as char);
            } else {
                write!(out, "%{b:02X}").expect("writing to a String");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_quoted_and_hostile_ones_cannot_add_parameters() {
        assert_eq!(
            content_disposition(Disposition::Attachment, "report.pdf").unwrap(),
            "attachment; filename=\"report.pdf\""
        );
        let d = content_disposition(Disposition::Inline, "a\"; filename=evil.exe\r\n.png").unwrap();
        assert!(d.starts_with("inline; filename=\""), "{d}");
        assert_eq!(d.matches('"').count(), 2, "{d}");
        assert!(!d.contains('\r') && !d.contains('\n'), "{d}");
        let d = content_disposition(Disposition::Attachment, "../../etc/passwd").unwrap();
        assert_eq!(d, "attachment; filename=\"passwd\"");
        // Format characters (U+202E) go before anything is encoded.
        let d = content_disposition(Disposition::Attachment, "gnp.\u{202e}exe.txt").unwrap();
        assert_eq!(d, "attachment; filename=\"gnp.exe.txt\"");
        assert!(content_disposition(Disposition::Attachment, "\u{0}").is_err());
    }

    #[test]
    fn non_ascii_names_get_an_encoded_form_and_an_ascii_fallback() {
        let d = content_disposition(Disposition::Attachment, "résumé 1.pdf").unwrap();
        assert_eq!(
            d,
            "attachment; filename=\"r_sum_ 1.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.pdf"
        );
        assert!("download".parse::<Disposition>().is_err());
    }
}
