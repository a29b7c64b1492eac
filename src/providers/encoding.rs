//! Percent-encoding sets the cloud signers share. Kept in one place: a single wrong byte in
//! one of these sets is a SignatureDoesNotMatch that only shows for some object keys.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986 unreserved characters stay; everything else becomes `%XX` (upper-case hex).
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// As [`UNRESERVED`], but `/` stays: object-key paths.
pub const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

// `Cow::from` rather than `to_string`: the `Display` route writes through the formatter
// piece by piece and was the largest cost of a V4 signature.
pub fn encode(s: &str) -> String {
    std::borrow::Cow::from(utf8_percent_encode(s, UNRESERVED)).into_owned()
}

pub fn encode_path(s: &str) -> String {
    std::borrow::Cow::from(utf8_percent_encode(s, PATH)).into_owned()
}

/// Appends `s` encoded with `set`. Runs of bytes that need no escaping are copied whole,
/// which is most of any object key.
pub fn push_encoded(out: &mut String, s: &str, set: &'static AsciiSet) {
    for piece in utf8_percent_encode(s, set) {
        out.push_str(piece);
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
}
