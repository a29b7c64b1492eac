//! The COS XML API request signature, `q-sign-algorithm=sha1` (doc 436/7778).
//!
//! Pure: the key time is passed in. The same signature goes into an `Authorization` header
//! (the gateway's own control calls) or into the query of a presigned URL.

use crate::providers::encoding::UNRESERVED;
use hmac::{Hmac, Mac};
use percent_encoding::utf8_percent_encode;
use sha1::{Digest, Sha1};
use std::borrow::Cow;
use std::fmt::Write;

/// How far back a key time starts by default: what cos-python-sdk-v5 uses, and enough for a
/// client whose clock runs a minute behind COS.
pub const DEFAULT_SKEW_SECS: u64 = 60;

/// `q-key-time` / `q-sign-time`: the window (unix seconds) in which the signature is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTime {
    pub start: i64,
    pub end: i64,
}

impl KeyTime {
    /// From `skew` seconds before `now` until the right expires.
    pub fn around(now: i64, expires_in: u64, skew: u64) -> Self {
        KeyTime {
            start: now.saturating_sub_unsigned(skew),
            end: now.saturating_add_unsigned(expires_in),
        }
    }

    /// `START;END`, as the CLI and SDK debug output show it.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, b) = s.split_once(';')?;
        let k = KeyTime {
            start: a.parse().ok()?,
            end: b.parse().ok()?,
        };
        (k.start <= k.end).then_some(k)
    }

    pub(crate) fn push(&self, out: &mut String) {
        // Infallible on a String.
        let _ = write!(out, "{};{}", self.start, self.end);
    }

    pub fn to_text(self) -> String {
        let mut s = String::with_capacity(21);
        self.push(&mut s);
        s
    }
}

/// The long-lived or temporary key pair. Not `Debug`: it holds the secret.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub secret_id: &'a str,
    pub secret_key: &'a str,
    pub security_token: Option<&'a str>,
}

/// One request to sign. `headers` and `params` are exactly what is signed (the caller has
/// already chosen them); names may be given in any case.
pub struct SignInput<'a> {
    pub method: &'a str,
    /// The raw object key (UTF-8, not encoded, no leading `/`); `""` for the bucket root.
    pub key: &'a str,
    /// Added to `headers` as `host` unless empty.
    pub host: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub params: &'a [(&'a str, &'a str)],
    pub key_time: KeyTime,
}

/// The outcome, plus what it was computed from (for `sign --explain` and tests). Not
/// `Debug`: the signature is a bearer credential.
pub struct QSignature {
    pub key_time: KeyTime,
    pub header_list: String,
    pub url_param_list: String,
    pub signature: String,
    pub http_string: String,
    pub string_to_sign: String,
}

type HmacSha1 = Hmac<Sha1>;

fn hmac_sha1_hex(key: &[u8], data: &[u8]) -> [u8; 40] {
    let mut mac = HmacSha1::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    let mut out = [0u8; 40];
    hex::encode_to_slice(mac.finalize().into_bytes(), &mut out).expect("40 hex digits");
    out
}

/// `SignKey = hex(HMAC-SHA1(SecretKey, KeyTime))`; its hex text is the next HMAC key.
pub fn sign_key(secret_key: &str, key_time: &str) -> [u8; 40] {
    hmac_sha1_hex(secret_key.as_bytes(), key_time.as_bytes())
}

/// `hex(HMAC-SHA1(SignKey, data))`: the last step of both the request and the PostObject
/// signature.
pub fn signature(secret_key: &str, key_time: &str, data: &str) -> String {
    let k = sign_key(secret_key, key_time);
    let sig = hmac_sha1_hex(&k, data.as_bytes());
    String::from_utf8(sig.to_vec()).expect("hex is ASCII")
}

/// `lower(UrlEncode(s))` without allocating when nothing changes (a typical header name).
fn encoded_name(s: &str) -> Cow<'_, str> {
    let enc: Cow<'_, str> = utf8_percent_encode(s, UNRESERVED).into();
    if enc.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(enc.to_ascii_lowercase())
    } else {
        enc
    }
}

type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn encoded_pairs<'a>(pairs: &'a [(&'a str, &'a str)], host: Option<&'a str>) -> Pairs<'a> {
    let mut out: Pairs<'a> = Vec::with_capacity(pairs.len() + 1);
    for (k, v) in pairs {
        out.push((encoded_name(k), utf8_percent_encode(v, UNRESERVED).into()));
    }
    if let Some(h) = host {
        // A caller-given Host wins, as in the SDKs.
        if !out.iter().any(|(k, _)| k == "host") {
            out.push((
                Cow::Borrowed("host"),
                utf8_percent_encode(h, UNRESERVED).into(),
            ));
        }
    }
    out.sort_unstable();
    out
}

fn push_pairs(out: &mut String, pairs: &Pairs<'_>) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

fn name_list(pairs: &Pairs<'_>) -> String {
    let mut s = String::with_capacity(pairs.iter().map(|(k, _)| k.len() + 1).sum());
    for (i, (k, _)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(k);
    }
    s
}

pub fn sign(secret_key: &str, input: &SignInput<'_>) -> QSignature {
    let host = (!input.host.is_empty()).then_some(input.host);
    let headers = encoded_pairs(input.headers, host);
    let params = encoded_pairs(input.params, None);

    let mut http = String::with_capacity(
        input.method.len() + input.key.len() + 8 + 48 * (headers.len() + params.len()),
    );
    http.extend(input.method.chars().map(|c| c.to_ascii_lowercase()));
    http.push_str("\n/");
    http.push_str(input.key);
    http.push('\n');
    push_pairs(&mut http, &params);
    http.push('\n');
    push_pairs(&mut http, &headers);
    http.push('\n');

    let mut key_time = String::with_capacity(21);
    input.key_time.push(&mut key_time);
    let mut to_sign = String::with_capacity(5 + key_time.len() + 1 + 40 + 1);
    to_sign.push_str("sha1\n");
    to_sign.push_str(&key_time);
    to_sign.push('\n');
    let mut digest = [0u8; 40];
    hex::encode_to_slice(Sha1::digest(http.as_bytes()), &mut digest).expect("40 hex digits");
    to_sign.push_str(std::str::from_utf8(&digest).expect("hex is ASCII"));
    to_sign.push('\n');

    QSignature {
        key_time: input.key_time,
        header_list: name_list(&headers),
        url_param_list: name_list(&params),
        signature: signature(secret_key, &key_time, &to_sign),
        http_string: http,
        string_to_sign: to_sign,
    }
}

impl QSignature {
    /// The `Authorization` header value (`;` raw, as the SDKs send it).
    pub fn authorization(&self, secret_id: &str) -> String {
        let mut s = String::with_capacity(
            160 + secret_id.len() + self.header_list.len() + self.url_param_list.len(),
        );
        self.push_fields(&mut s, secret_id, false);
        s
    }

    /// The seven `q-*` fields as `k=v&...`; with `encode` set, values are percent-encoded
    /// for a URL query (`;` becomes `%3B`, as cos-python-sdk-v5 writes it).
    pub(crate) fn push_fields(&self, out: &mut String, secret_id: &str, encode: bool) {
        let field = |out: &mut String, name: &str, value: &str| {
            out.push_str(name);
            out.push('=');
            if encode {
                out.extend(utf8_percent_encode(value, UNRESERVED));
            } else {
                out.push_str(value);
            }
        };
        let mut kt = String::with_capacity(21);
        self.key_time.push(&mut kt);
        field(out, "q-sign-algorithm", "sha1");
        field(out, "&q-ak", secret_id);
        field(out, "&q-sign-time", &kt);
        field(out, "&q-key-time", &kt);
        field(out, "&q-header-list", &self.header_list);
        field(out, "&q-url-param-list", &self.url_param_list);
        field(out, "&q-signature", &self.signature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        headers: &'a [(&'a str, &'a str)],
        params: &'a [(&'a str, &'a str)],
    ) -> SignInput<'a> {
        SignInput {
            method: "PUT",
            key: "a/b.txt",
            host: "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com",
            headers,
            params,
            key_time: KeyTime::around(1_700_000_000, 900, 60),
        }
    }

    #[test]
    fn key_time_starts_skew_seconds_early_and_ends_at_expiry() {
        let k = KeyTime::around(1_700_000_000, 900, 60);
        assert_eq!(k.to_text(), "1699999940;1700000900");
        assert_eq!(KeyTime::parse("1699999940;1700000900"), Some(k));
        assert_eq!(KeyTime::parse("2;1"), None);
        assert_eq!(KeyTime::parse("1,2"), None);
    }

    #[test]
    fn names_are_lower_cased_after_encoding_and_values_keep_their_case() {
        let s = sign(
            "k",
            &input(
                &[("Content-Type", "Image/JPEG"), ("X-Cos-Meta-Ä", "a b")],
                &[("partNumber", "1"), ("uploadId", "AbC"), ("append", "")],
            ),
        );
        assert_eq!(s.header_list, "content-type;host;x-cos-meta-%c3%84");
        assert_eq!(s.url_param_list, "append;partnumber;uploadid");
        assert_eq!(
            s.http_string,
            "put\n/a/b.txt\nappend=&partnumber=1&uploadid=AbC\ncontent-type=Image%2FJPEG&\
             host=examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com&x-cos-meta-%c3%84=a%20b\n"
        );
    }

    #[test]
    fn an_explicit_host_header_replaces_the_location_host() {
        let s = sign("k", &input(&[("Host", "cdn.example.com")], &[]));
        assert_eq!(s.header_list, "host");
        assert!(s.http_string.ends_with("\nhost=cdn.example.com\n"));
    }

    #[test]
    fn every_input_changes_the_signature() {
        let base = sign("secret", &input(&[], &[])).signature;
        assert_eq!(base.len(), 40);
        assert_ne!(sign("secreT", &input(&[], &[])).signature, base);
        let mut i = input(&[], &[]);
        i.key = "a/c.txt";
        assert_ne!(sign("secret", &i).signature, base);
        let mut i = input(&[], &[]);
        i.key_time.end += 1;
        assert_ne!(sign("secret", &i).signature, base);
        let mut i = input(&[], &[]);
        i.method = "POST";
        assert_ne!(sign("secret", &i).signature, base);
        let mut i = input(&[], &[]);
        i.host = "";
        assert_ne!(sign("secret", &i).signature, base);
        assert_ne!(
            sign("secret", &input(&[("content-length", "5")], &[])).signature,
            base
        );
        assert_ne!(
            sign("secret", &input(&[], &[("position", "0")])).signature,
            base
        );
    }

    #[test]
    fn authorization_carries_the_raw_key_time() {
        let s = sign("secret", &input(&[], &[]));
        let a = s.authorization("AKIDx");
        assert!(
            a.starts_with(
                "q-sign-algorithm=sha1&q-ak=AKIDx&q-sign-time=1699999940;1700000900&\
                 q-key-time=1699999940;1700000900&q-header-list=host&q-url-param-list=&q-signature="
            ),
            "{a}"
        );
        assert!(a.ends_with(&s.signature));
    }
}
