//! OSS signature V4 (OSS4-HMAC-SHA256) presigned URLs.
//!
//! Unlike V1 this can sign arbitrary further headers (`x-oss-additional-headers`), which is
//! how a presigned PUT pins the exact Content-Length the profile allowed.

use super::location::BucketLocation;
use super::presign::{Credentials, PresignInput, Presigned};
use super::sign_v1::{cmp_lower, itoa};
use crate::providers::encoding::{PATH, UNRESERVED, encode_cow, push_encoded};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::time::Duration;
use time::OffsetDateTime;

pub const ALGORITHM: &str = "OSS4-HMAC-SHA256";

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `YYYYMMDDTHHMMSSZ` and `YYYYMMDD`.
pub fn timestamps(now: OffsetDateTime) -> (String, String) {
    let stamps = Timestamps::new(now);
    let (date, day) = stamps.parts();
    (date.to_string(), day.to_string())
}

/// The request time as V4 writes it, on the stack. Written out by hand: `time`'s formatter
/// costs more than the rest of a V1 signature.
pub struct Timestamps([u8; 16]);

impl Timestamps {
    pub fn new(now: OffsetDateTime) -> Self {
        let now = now.to_offset(time::UtcOffset::UTC);
        let mut b = *b"00000000T000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, now.year().clamp(0, 9999) as u32);
        put(4, 2, u8::from(now.month()).into());
        put(6, 2, now.day().into());
        put(9, 2, now.hour().into());
        put(11, 2, now.minute().into());
        put(13, 2, now.second().into());
        Timestamps(b)
    }

    /// (`YYYYMMDDTHHMMSSZ`, `YYYYMMDD`)
    pub fn parts(&self) -> (&str, &str) {
        let s = std::str::from_utf8(&self.0).expect("ASCII digits");
        (s, &s[..8])
    }
}

pub fn scope(day: &str, region: &str) -> String {
    format!("{day}/{region}/oss/aliyun_v4_request")
}

pub fn signing_key(secret: &str, day: &str, region: &str) -> [u8; 32] {
    let mut first = Vec::with_capacity(9 + secret.len());
    first.extend_from_slice(b"aliyun_v4");
    first.extend_from_slice(secret.as_bytes());
    let k = hmac_sha256(&first, day.as_bytes());
    let k = hmac_sha256(&k, region.as_bytes());
    let k = hmac_sha256(&k, b"oss");
    hmac_sha256(&k, b"aliyun_v4_request")
}

/// The signing key of one secret and region, derived once per day: the four HMACs of
/// [`signing_key`] are a third of a presign, and the inputs change only at midnight UTC.
/// For the gateway's own keys; STS credentials are signed with [`signing_key`] directly.
pub struct SigningKeyCache {
    secret: secrecy::SecretString,
    region: String,
    last: std::sync::Mutex<Option<([u8; 8], [u8; 32])>>,
}

impl SigningKeyCache {
    pub fn new(secret: &str, region: &str) -> Self {
        SigningKeyCache {
            secret: secret.into(),
            region: region.to_string(),
            last: std::sync::Mutex::new(None),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn get(&self, day: &str) -> [u8; 32] {
        use secrecy::ExposeSecret;
        let day_bytes: [u8; 8] = day.as_bytes().try_into().expect("YYYYMMDD");
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match *last {
            Some((d, k)) if d == day_bytes => k,
            _ => {
                let k = signing_key(self.secret.expose_secret(), day, &self.region);
                *last = Some((day_bytes, k));
                k
            }
        }
    }
}

/// Where a signature's key comes from.
#[derive(Clone, Copy)]
pub enum KeySource<'a> {
    /// Derived from this secret for this request.
    Secret(&'a str),
    /// The gateway's own secret, derived once a day.
    Cached(&'a SigningKeyCache),
}

impl KeySource<'_> {
    pub fn key(&self, day: &str, region: &str) -> [u8; 32] {
        match self {
            KeySource::Secret(s) => signing_key(s, day, region),
            KeySource::Cached(c) => {
                debug_assert_eq!(c.region, region);
                c.get(day)
            }
        }
    }
}

pub fn sign_hex(signing_key: &[u8; 32], data: &str) -> String {
    hex::encode(hmac_sha256(signing_key, data.as_bytes()))
}

/// The query parameters V4 signs: the caller's and the `x-oss-*` ones, each (name, value)
/// already encoded, sorted as the canonical query wants them.
fn signed_query<'a>(
    params: &'a [(String, String)],
    extra: &'a [(&'a str, &'a str)],
) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
    let mut q: Vec<(Cow<'a, str>, Cow<'a, str>)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(extra.iter().copied())
        .map(|(k, v)| (encode_cow(k, UNRESERVED), encode_cow(v, UNRESERVED)))
        .collect();
    q.sort_unstable();
    q
}

fn push_query(out: &mut String, q: &[(Cow<'_, str>, Cow<'_, str>)]) {
    for (i, (k, v)) in q.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
}

pub fn canonical_request(
    loc: &BucketLocation,
    input: &PresignInput<'_>,
    query: &[(String, String)],
    additional: &[String],
) -> String {
    let additional: Vec<&str> = additional.iter().map(String::as_str).collect();
    let q = signed_query(query, &[]);
    let mut out = String::with_capacity(256);
    write_canonical_request(&mut out, loc, input, &q, &additional);
    out
}

fn write_canonical_request(
    out: &mut String,
    loc: &BucketLocation,
    input: &PresignInput<'_>,
    query: &[(Cow<'_, str>, Cow<'_, str>)],
    additional: &[&str],
) {
    out.push_str(input.method);
    out.push('\n');
    out.push('/');
    push_encoded(out, &loc.bucket, PATH);
    out.push('/');
    push_encoded(out, input.key, PATH);
    out.push('\n');
    push_query(out, query);
    out.push('\n');

    let mut headers: Vec<(&str, &str)> = input
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.trim()))
        .filter(|(k, _)| {
            (k.len() >= 6 && k.as_bytes()[..6].eq_ignore_ascii_case(b"x-oss-"))
                || k.eq_ignore_ascii_case("content-type")
                || k.eq_ignore_ascii_case("content-md5")
                || additional.iter().any(|a| k.eq_ignore_ascii_case(a))
        })
        .collect();
    headers.sort_by(|a, b| cmp_lower(a.0, b.0).then_with(|| a.1.cmp(b.1)));
    for (k, v) in headers {
        out.extend(k.chars().map(|c| c.to_ascii_lowercase()));
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push('\n');
    for (i, a) in additional.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(a);
    }
    out.push_str("\nUNSIGNED-PAYLOAD");
}

pub fn presign(
    loc: &BucketLocation,
    region: &str,
    creds: Credentials<'_>,
    input: &PresignInput<'_>,
) -> Presigned {
    presign_with(
        loc,
        region,
        creds,
        KeySource::Secret(creds.access_key_secret),
        input,
    )
}

/// [`presign`] with the signing key from `key` (which must be that of `creds`).
pub fn presign_with(
    loc: &BucketLocation,
    region: &str,
    creds: Credentials<'_>,
    key: KeySource<'_>,
    input: &PresignInput<'_>,
) -> Presigned {
    let stamps = Timestamps::new(input.now);
    let (date, day) = stamps.parts();
    let mut additional: Vec<Cow<'_, str>> = input
        .additional_headers
        .iter()
        .map(|h| {
            if h.bytes().any(|c| c.is_ascii_uppercase()) {
                Cow::Owned(h.to_ascii_lowercase())
            } else {
                Cow::Borrowed(h.as_str())
            }
        })
        .collect();
    additional.sort_unstable();
    additional.dedup();
    let additional: Vec<&str> = additional.iter().map(|a| a.as_ref()).collect();
    let additional_joined = additional.join(";");

    let mut credential = String::with_capacity(64);
    credential.push_str(creds.access_key_id);
    credential.push('/');
    let scope_at = credential.len();
    credential.push_str(day);
    credential.push('/');
    credential.push_str(region);
    credential.push_str("/oss/aliyun_v4_request");
    let scope = &credential[scope_at..];
    let expires = itoa(input.expires_in as i64, &mut [0; 20]).to_string();

    let mut extra: Vec<(&str, &str)> = Vec::with_capacity(6);
    if let Some(t) = creds.security_token {
        extra.push(("x-oss-security-token", t));
    }
    extra.push(("x-oss-date", date));
    extra.push(("x-oss-expires", &expires));
    extra.push(("x-oss-signature-version", ALGORITHM));
    extra.push(("x-oss-credential", &credential));
    if !additional.is_empty() {
        extra.push(("x-oss-additional-headers", &additional_joined));
    }
    let query = signed_query(input.params, &extra);

    let mut canonical = String::with_capacity(384 + input.key.len());
    write_canonical_request(&mut canonical, loc, input, &query, &additional);
    let mut to_sign = String::with_capacity(ALGORITHM.len() + scope.len() + 100);
    to_sign.push_str(ALGORITHM);
    to_sign.push('\n');
    to_sign.push_str(date);
    to_sign.push('\n');
    to_sign.push_str(scope);
    to_sign.push('\n');
    to_sign.push_str(&hex::encode(Sha256::digest(canonical.as_bytes())));
    let signature = sign_hex(&key.key(day, region), &to_sign);

    // The URL carries the canonical query as is (same encoding, sorted), plus the signature.
    let mut url = String::with_capacity(canonical.len() + 96);
    loc.push_object_url(&mut url, input.key, true);
    url.push('?');
    push_query(&mut url, &query);
    url.push_str("&x-oss-signature=");
    url.push_str(&signature);
    Presigned {
        url,
        expires_at: input.now + Duration::from_secs(input.expires_in),
        string_to_sign: to_sign,
        canonical_request: Some(canonical),
    }
}
