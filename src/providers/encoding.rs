//! Percent-encoding sets the cloud signers share. Kept in one place: a single wrong byte in
//! one of these sets is a SignatureDoesNotMatch that only shows for some object keys.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::borrow::Cow;

/// RFC 3986 unreserved characters stay; everything else becomes `%XX` (upper-case hex).
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// As [`UNRESERVED`], but `/` stays: object-key paths.
pub const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Which bytes [`UNRESERVED`] and [`PATH`] keep, as tables: a signature encodes the whole
/// `callback` parameter (a kilobyte of base64) once per right, and a table lookup per byte
/// is a third of what `percent_encoding`'s iterator costs.
const fn keep_table(slash: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || c == b'-'
            || c == b'_'
            || c == b'.'
            || c == b'~'
            || (slash && c == b'/');
        b += 1;
    }
    t
}
static KEEP_UNRESERVED: [bool; 256] = keep_table(false);
static KEEP_PATH: [bool; 256] = keep_table(true);

fn table_for(set: &AsciiSet) -> Option<&'static [bool; 256]> {
    if *set == *UNRESERVED {
        Some(&KEEP_UNRESERVED)
    } else if *set == *PATH {
        Some(&KEEP_PATH)
    } else {
        None
    }
}

/// Where the first byte to escape is, if any.
fn first_escape(s: &str, keep: &[bool; 256]) -> Option<usize> {
    s.bytes().position(|b| !keep[usize::from(b)])
}

/// Appends `s[from..]` with every byte `keep` does not keep as `%XX` (upper-case hex).
fn push_escaped(out: &mut String, s: &str, from: usize, keep: &[bool; 256]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut run = from;
    for (i, &b) in s.as_bytes().iter().enumerate().skip(from) {
        if keep[usize::from(b)] {
            continue;
        }
        // A kept run is ASCII, so both ends are character boundaries.
        if run < i {
            out.push_str(&s[run..i]);
        }
        run = i + 1;
        out.push('%');
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    if run < s.len() {
        out.push_str(&s[run..]);
    }
}

/// `s` encoded with `set`, borrowed when nothing needs escaping.
pub fn encode_cow<'a>(s: &'a str, set: &'static AsciiSet) -> Cow<'a, str> {
    let Some(keep) = table_for(set) else {
        return utf8_percent_encode(s, set).into();
    };
    match first_escape(s, keep) {
        None => Cow::Borrowed(s),
        Some(at) => {
            let mut out = String::with_capacity(s.len() + s.len() / 4 + 8);
            out.push_str(&s[..at]);
            push_escaped(&mut out, s, at, keep);
            Cow::Owned(out)
        }
    }
}

pub fn encode(s: &str) -> String {
    encode_cow(s, UNRESERVED).into_owned()
}

pub fn encode_path(s: &str) -> String {
    encode_cow(s, PATH).into_owned()
}

/// Appends `s` encoded with `set`. Runs of bytes that need no escaping are copied whole,
/// which is most of any object key.
pub fn push_encoded(out: &mut String, s: &str, set: &'static AsciiSet) {
    match table_for(set) {
        Some(keep) => push_escaped(out, s, 0, keep),
        None => {
            for piece in utf8_percent_encode(s, set) {
                out.push_str(piece);
            }
        }
    }
}

/// `k=v&k=v` with every key and value encoded; a key with an empty value is written bare
/// (`?append&position=0`), as OSS signs sub-resources.
pub fn query_string(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in params {
        if !out.is_empty() {
            out.push('&');
        }
        push_encoded(&mut out, k, UNRESERVED);
        if !v.is_empty() {
            out.push('=');
            push_encoded(&mut out, v, UNRESERVED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_set_matches_rfc3986() {
        assert_eq!(encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(encode("a b*c/d+e=f:g"), "a%20b%2Ac%2Fd%2Be%3Df%3Ag");
        assert_eq!(encode_path("x/y z/ä"), "x/y%20z/%C3%A4");
    }

    #[test]
    fn the_tables_encode_as_percent_encoding_does() {
        for set in [UNRESERVED, PATH] {
            let keep = table_for(set).unwrap();
            for b in 0..=255u8 {
                let one = [b];
                let theirs: String = percent_encoding::percent_encode(&one, set).collect();
                assert_eq!(keep[usize::from(b)], theirs.len() == 1, "byte {b:#x}");
            }
            for s in [
                "",
                "a",
                "a b",
                "ä",
                "äb",
                "bä",
                "a/b+c=d/",
                "漢字/x y",
                "%%",
                "~.-_",
            ] {
                let theirs: String = utf8_percent_encode(s, set).collect();
                assert_eq!(encode_cow(s, set), theirs, "{s:?}");
                let mut pushed = "pre".to_string();
                push_encoded(&mut pushed, s, set);
                assert_eq!(pushed, format!("pre{theirs}"), "{s:?}");
            }
        }
    }
}
