//! AWS Signature Version 4 building blocks shared by presigned URLs, POST policies, header
//! signing and STS: the date stamps, the signing key (derived once per day, region and
//! service, then cached) and the canonical pieces, each written into one buffer.

use super::types::{Credentials, Region, Service};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::sync::RwLock;
use time::OffsetDateTime;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// hex(sha256("")): the payload hash of a request without a body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `YYYYMMDDTHHMMSSZ` (X-Amz-Date); its first eight bytes are the scope's day.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AmzDate([u8; 16]);

impl AmzDate {
    pub fn new(now: OffsetDateTime) -> Self {
        let t = now.to_offset(time::UtcOffset::UTC);
        let mut b = *b"00000000T000000Z";
        // By hand: `time`'s format machinery costs as much as the rest of a presign.
        let put = |b: &mut [u8; 16], at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut b, 0, 4, t.year().clamp(0, 9999) as u32);
        put(&mut b, 4, 2, u32::from(u8::from(t.month())));
        put(&mut b, 6, 2, u32::from(t.day()));
        put(&mut b, 9, 2, u32::from(t.hour()));
        put(&mut b, 11, 2, u32::from(t.minute()));
        put(&mut b, 13, 2, u32::from(t.second()));
        AmzDate(b)
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }
    pub fn day(&self) -> &str {
        &self.as_str()[..8]
    }
}

/// `<day>/<region>/<service>/aws4_request`.
pub fn scope(date: &AmzDate, region: &Region, service: Service) -> String {
    let mut s = String::with_capacity(40);
    s.push_str(date.day());
    s.push('/');
    s.push_str(region.as_str());
    s.push('/');
    s.push_str(service.as_str());
    s.push_str("/aws4_request");
    s
}

/// The key a day's signatures are made with. Not `Debug`: it signs anything for that day.
#[derive(Clone, Copy)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    pub fn derive(secret: &str, day: &str, region: &Region, service: Service) -> Self {
        let mut k = String::with_capacity(4 + secret.len());
        k.push_str("AWS4");
        k.push_str(secret);
        let k = hmac_sha256(k.as_bytes(), day.as_bytes());
        let k = hmac_sha256(&k, region.as_str().as_bytes());
        let k = hmac_sha256(&k, service.as_str().as_bytes());
        SigningKey(hmac_sha256(&k, b"aws4_request"))
    }
    pub fn sign_hex(&self, string_to_sign: &str) -> String {
        hex::encode(hmac_sha256(&self.0, string_to_sign.as_bytes()))
    }
}

/// Credentials for one region and service with the current day's signing key. The four
/// HMACs of a derivation are most of the cost of a signature; a day's key is reused.
pub struct KeyCache {
    credentials: Credentials,
    region: Region,
    service: Service,
    slot: RwLock<Option<([u8; 8], SigningKey)>>,
}

impl KeyCache {
    pub fn new(credentials: Credentials, region: Region, service: Service) -> Self {
        KeyCache {
            credentials,
            region,
            service,
            slot: RwLock::new(None),
        }
    }
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    pub fn region(&self) -> &Region {
        &self.region
    }
    pub fn service(&self) -> Service {
        self.service
    }

    pub fn key_for(&self, date: &AmzDate) -> SigningKey {
        let day: [u8; 8] = date.0[..8].try_into().expect("eight bytes");
        if let Some((d, k)) = *self.slot.read().unwrap_or_else(|e| e.into_inner())
            && d == day
        {
            return k;
        }
        let key = SigningKey::derive(
            self.credentials.secret(),
            date.day(),
            &self.region,
            self.service,
        );
        *self.slot.write().unwrap_or_else(|e| e.into_inner()) = Some((day, key));
        key
    }
}

/// `AWS4-HMAC-SHA256\n<date>\n<scope>\nhex(sha256(canonical request))`.
pub fn string_to_sign(date: &AmzDate, scope: &str, canonical_request: &str) -> String {
    let mut s = String::with_capacity(ALGORITHM.len() + scope.len() + 88);
    s.push_str(ALGORITHM);
    s.push('\n');
    s.push_str(date.as_str());
    s.push('\n');
    s.push_str(scope);
    s.push('\n');
    s.push_str(&sha256_hex(canonical_request.as_bytes()));
    s
}

/// Writes already-encoded `k=v` pairs in byte order of (key, value), as SigV4 wants.
pub fn push_canonical_query(out: &mut String, pairs: &[(String, String)]) {
    let mut order: Vec<&(String, String)> = pairs.iter().collect();
    order.sort_unstable();
    for (i, (k, v)) in order.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}

/// A header value as SigV4 canonicalises it: trimmed, inner runs of spaces collapsed.
pub fn push_header_value(out: &mut String, v: &str) {
    let mut space = false;
    for c in v.trim().chars() {
        if c == ' ' || c == '\t' {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
}

/// `name:value\n` lines and the `;`-joined list, for lower-case names sorted by the caller.
pub fn push_canonical_headers(out: &mut String, headers: &[(String, &str)]) -> String {
    let mut names = String::with_capacity(headers.len() * 16);
    for (i, (k, v)) in headers.iter().enumerate() {
        out.push_str(k);
        out.push(':');
        push_header_value(out, v);
        out.push('\n');
        if i > 0 {
            names.push(';');
        }
        names.push_str(k);
    }
    names
}

pub fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn date_stamps_are_utc() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000)
            .unwrap()
            .to_offset(time::macros::offset!(+8));
        let d = AmzDate::new(t);
        assert_eq!(d.as_str(), "20231114T221320Z");
        assert_eq!(d.day(), "20231114");
    }

    #[test]
    fn the_cached_key_is_the_derived_key_and_changes_with_the_day() {
        let region = Region::parse("us-east-1").unwrap();
        let creds =
            Credentials::new("AKID0000", SecretString::from("secret-0123456789"), None).unwrap();
        let cache = KeyCache::new(creds, region.clone(), Service::S3);
        let day1 = AmzDate::new(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        let day2 = AmzDate::new(OffsetDateTime::from_unix_timestamp(1_700_086_400).unwrap());
        let direct = |d: &AmzDate| {
            SigningKey::derive("secret-0123456789", d.day(), &region, Service::S3).sign_hex("x")
        };
        assert_eq!(cache.key_for(&day1).sign_hex("x"), direct(&day1));
        assert_eq!(cache.key_for(&day1).sign_hex("x"), direct(&day1));
        assert_eq!(cache.key_for(&day2).sign_hex("x"), direct(&day2));
        assert_ne!(direct(&day1), direct(&day2));
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let mut s = String::new();
        push_header_value(&mut s, "  a   b \t c  ");
        assert_eq!(s, "a b c");
    }
}
