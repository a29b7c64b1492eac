//! The `x-oss-pub-key-url` allow-list: which key URLs a callback may name, checked before
//! anything is fetched (pinned keys included). Pure functions: the server and the
//! `verify-callback` CLI share them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyUrlError {
    #[error("the x-oss-pub-key-url header is not base64 of a URL")]
    NotBase64,
    #[error("the public key URL is not on the allow-list")]
    NotAllowed,
}

/// Decodes `x-oss-pub-key-url` and checks it against the allow-list before anything is
/// fetched. A prefix must end in `/` (checked at config load), so matching it byte for byte
/// pins scheme, host and port. The URL must already be in the form the URL parser (and so the
/// HTTP client) gives it: anything the parser would rewrite (dot segments, case, default
/// ports, user info, backslashes) is refused rather than normalised, and so are a query and
/// any percent-encoding (encoded dots, slashes and backslashes, which some servers decode). What is returned is exactly what was
/// checked, and exactly what is fetched.
pub fn allowed_key_url(header_b64: &str, prefixes: &KeyUrlPrefixes) -> Result<String, KeyUrlError> {
    let raw = STANDARD
        .decode(header_b64.trim())
        .map_err(|_| KeyUrlError::NotBase64)?;
    let url = String::from_utf8(raw).map_err(|_| KeyUrlError::NotBase64)?;
    if url
        .bytes()
        .any(|b| b.is_ascii_control() || b == b'\\' || b == b' ' || !b.is_ascii())
    {
        return Err(KeyUrlError::NotAllowed);
    }
    let parsed = url::Url::parse(&url).map_err(|_| KeyUrlError::NotAllowed)?;
    // The normalised form is what a client would request: it must be the string itself.
    if parsed.as_str() != url
        || parsed.query().is_some()
        || has_dot_segment_or_encoded_separator(parsed.path())
    {
        return Err(KeyUrlError::NotAllowed);
    }
    let allowed = prefixes.0.iter().any(|p| {
        parsed.as_str().starts_with(p.text.as_str())
            && p.origin.as_ref().is_some_and(|(scheme, host, port)| {
                scheme == parsed.scheme()
                    && host.as_deref() == parsed.host_str()
                    && *port == parsed.port_or_known_default()
            })
    });
    let clean = matches!(parsed.scheme(), "http" | "https")
        && parsed.username().is_empty()
        && parsed.password().is_none()
        && parsed.fragment().is_none();
    if allowed && clean {
        Ok(parsed.into())
    } else {
        Err(KeyUrlError::NotAllowed)
    }
}

/// The allow-list of key URL prefixes, each parsed once (at start-up, not per callback). A URL
/// passes when its text starts with a prefix and it has the prefix's scheme, host and port; a
/// prefix that does not parse as a URL lets nothing through.
#[derive(Debug, Clone)]
pub struct KeyUrlPrefixes(Vec<KeyUrlPrefix>);

#[derive(Debug, Clone)]
struct KeyUrlPrefix {
    text: String,
    origin: Option<(String, Option<String>, Option<u16>)>,
}

impl KeyUrlPrefixes {
    pub fn new<S: AsRef<str>>(prefixes: impl IntoIterator<Item = S>) -> KeyUrlPrefixes {
        KeyUrlPrefixes(
            prefixes
                .into_iter()
                .map(|p| {
                    let text = p.as_ref().to_string();
                    let origin = url::Url::parse(&text).ok().map(|u| {
                        let host = u.host_str().map(str::to_string);
                        (u.scheme().to_string(), host, u.port_or_known_default())
                    });
                    KeyUrlPrefix { text, origin }
                })
                .collect(),
        )
    }
}

/// Anything but unreserved characters and `/` (so no percent-encoding at all: no encoded
/// dots, slashes or backslashes, single or double), or a `.` or `..` segment.
fn has_dot_segment_or_encoded_separator(path: &str) -> bool {
    let plain = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/');
    !path.bytes().all(plain) || path.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::oss::callback::signature::OSS_KEY_URL_PREFIXES;
    use serde_json::Value;

    fn vectors() -> Value {
        let text = include_str!("../../../../tests/fixtures/vectors/oss_callback_example.json");
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn key_urls_are_checked_against_the_allow_list_as_the_vectors_say() {
        let v = vectors();
        let prefixes = KeyUrlPrefixes::new(OSS_KEY_URL_PREFIXES);
        let cases = v["pub_key_url_prefix_checks"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let got = allowed_key_url(case["x-oss-pub-key-url"].as_str().unwrap(), &prefixes);
            assert_eq!(
                got.is_ok(),
                case["expected_allowed"].as_bool().unwrap(),
                "{}",
                case["decoded"]
            );
        }
    }

    #[test]
    fn a_prefix_passes_only_urls_of_its_own_origin_and_a_broken_prefix_passes_none() {
        let prefixes = KeyUrlPrefixes::new(["http://keys.example", "not a url/"]);
        let check = |url: &str| allowed_key_url(&STANDARD.encode(url), &prefixes);
        assert_eq!(
            check("http://keys.example/k.pem").unwrap(),
            "http://keys.example/k.pem"
        );
        for url in [
            "http://keys.example.evil.test/k.pem",
            "http://keys.example:8080/k.pem",
            "not a url/k.pem",
        ] {
            assert_eq!(check(url), Err(KeyUrlError::NotAllowed), "{url}");
        }
    }

    #[test]
    fn parser_tricks_dot_segments_and_encoded_separators_do_not_pass_the_allow_list() {
        let prefixes = KeyUrlPrefixes::new(OSS_KEY_URL_PREFIXES);
        for url in [
            "http://gosspublic.alicdn.com\\@evil.example/x.pem",
            "http://gosspublic.alicdn.com/\\\\evil.example/x.pem",
            "http://gosspublic.alicdn.com:8080/x.pem",
            "http://gosspublic.alicdn.com/x.pem#frag",
            "http://gosspublic.alicdn.com/x.pem\r\nHost: evil",
            "file:///etc/passwd",
            "https://127.0.0.1/callback_pub_key_v1.pem",
            "http://gosspublic.alicdn.com/keys/../uploads/attacker.pem",
            "http://gosspublic.alicdn.com/keys/%2e%2e/uploads/attacker.pem",
            "http://gosspublic.alicdn.com/keys/%2E%2e/uploads/attacker.pem",
            "http://gosspublic.alicdn.com/keys/.%2e/uploads/attacker.pem",
            "http://gosspublic.alicdn.com/keys/./x.pem",
            "http://gosspublic.alicdn.com/keys/..",
            "http://gosspublic.alicdn.com/keys%2f..%2fx.pem",
            "http://gosspublic.alicdn.com/keys%5cx.pem",
            "HTTP://gosspublic.alicdn.com/x.pem",
            "http://GOSSPUBLIC.alicdn.com/x.pem",
            "http://gosspublic.alicdn.com:80/x.pem",
            "http://user@gosspublic.alicdn.com/x.pem",
            "http://gosspublic.alicdn.com/\u{2215}x.pem",
            "",
        ] {
            assert_eq!(
                allowed_key_url(&STANDARD.encode(url), &prefixes),
                Err(KeyUrlError::NotAllowed),
                "{url}"
            );
        }
        assert_eq!(
            allowed_key_url("%%%", &prefixes),
            Err(KeyUrlError::NotBase64)
        );
        let ok = "https://gosspublic.alicdn.com/callback_pub_key_v2.pem";
        assert_eq!(
            allowed_key_url(&STANDARD.encode(ok), &prefixes).unwrap(),
            ok
        );
    }
}
