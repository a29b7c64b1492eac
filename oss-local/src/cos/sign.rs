//! COS request signatures (`q-sign-algorithm=sha1`), checked the way COS checks them: only
//! the headers and parameters `q-header-list` / `q-url-param-list` name are signed, so the
//! HttpString is rebuilt from exactly those; the raw (decoded) UTF-8 path is signed.
//!
//! Written apart from the gateway's `providers::cos` signer on purpose: the two meet only on
//! the wire, and the SDK tests prove this side.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// COS's UrlEncode: everything but `A-Z a-z 0-9 - _ . ~`.
const COS_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, COS_SAFE).to_string()
}

/// The fields of a `q-sign-algorithm=sha1&q-ak=…` authorization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QAuth {
    pub ak: String,
    pub sign_time: (i64, i64),
    pub key_time: String,
    pub header_list: Vec<String>,
    pub param_list: Vec<String>,
    pub signature: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignError {
    /// No authorization at all.
    Anonymous,
    Malformed(String),
    /// Now is outside q-sign-time.
    Expired,
    Mismatch {
        string_to_sign: String,
        format_string: String,
    },
}

/// Names of the authorization fields (they are never themselves signed parameters).
pub const AUTH_FIELDS: &[&str] = &[
    "q-sign-algorithm",
    "q-ak",
    "q-sign-time",
    "q-key-time",
    "q-header-list",
    "q-url-param-list",
    "q-signature",
];

fn time_pair(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once(';')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads decoded `(name, value)` pairs (a query, or a parsed header string).
pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<QAuth, SignError> {
    let mut get = std::collections::HashMap::new();
    for (k, v) in pairs {
        if AUTH_FIELDS.contains(&k) {
            get.insert(k, v);
        }
    }
    if get.is_empty() {
        return Err(SignError::Anonymous);
    }
    let need = |k: &str| {
        get.get(k)
            .copied()
            .ok_or_else(|| SignError::Malformed(format!("{k} is missing from the authorization")))
    };
    if need("q-sign-algorithm")? != "sha1" {
        return Err(SignError::Malformed("q-sign-algorithm must be sha1".into()));
    }
    let bad_time = || SignError::Malformed("q-sign-time must be <start>;<end>".into());
    let key_time = need("q-key-time")?.to_string();
    time_pair(&key_time).ok_or_else(bad_time)?;
    Ok(QAuth {
        ak: need("q-ak")?.to_string(),
        sign_time: time_pair(need("q-sign-time")?).ok_or_else(bad_time)?,
        key_time,
        header_list: list(need("q-header-list")?),
        param_list: list(need("q-url-param-list")?),
        signature: need("q-signature")?.to_string(),
    })
}

/// Parses an `Authorization` header (or the PostObject `Signature` field). Values are decoded
/// so `;` may come raw or as `%3B`.
pub fn parse_header(s: &str) -> Result<QAuth, SignError> {
    let pairs: Vec<(String, String)> = s
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let d = |x: &str| percent_decode_str(x).decode_utf8_lossy().into_owned();
            (d(k.trim()), d(v.trim()))
        })
        .collect();
    from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn hmac_sha1_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("any key");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

pub fn sign_key(secret: &str, key_time: &str) -> String {
    hmac_sha1_hex(secret.as_bytes(), key_time.as_bytes())
}

/// `k=v&…` over the listed names, each pair found by its encoded, lower-cased name.
fn signed_pairs(listed: &[String], all: &[(String, String)]) -> Result<String, String> {
    let mut out = Vec::with_capacity(listed.len());
    for name in listed {
        let v = all
            .iter()
            .find(|(k, _)| encode(k).to_ascii_lowercase() == *name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("{name} is signed but not in the request"))?;
        out.push(format!("{name}={}", encode(v)));
    }
    Ok(out.join("&"))
}

/// The request as COS signs it.
pub struct Request<'a> {
    pub method: &'a str,
    /// Raw UTF-8, starting with `/`.
    pub pathname: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
}

/// `(FormatString, StringToSign)` of a request under `auth`'s lists; Err when a listed
/// header or parameter is absent.
pub fn string_to_sign(req: &Request<'_>, auth: &QAuth) -> Result<(String, String), String> {
    let format_string = format!(
        "{}\n{}\n{}\n{}\n",
        req.method.to_ascii_lowercase(),
        req.pathname,
        signed_pairs(&auth.param_list, req.query)?,
        signed_pairs(&auth.header_list, req.headers)?,
    );
    let sts = format!(
        "sha1\n{}\n{}\n",
        auth.key_time,
        hex::encode(Sha1::digest(format_string.as_bytes()))
    );
    Ok((format_string, sts))
}

/// Checks time window and signature with `secret`.
pub fn verify(req: &Request<'_>, auth: &QAuth, secret: &str, now: i64) -> Result<(), SignError> {
    let (start, end) = auth.sign_time;
    if now < start || now > end {
        return Err(SignError::Expired);
    }
    let (format_string, string_to_sign) =
        string_to_sign(req, auth).map_err(SignError::Malformed)?;
    let expected = hmac_sha1_hex(
        sign_key(secret, &auth.key_time).as_bytes(),
        string_to_sign.as_bytes(),
    );
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(())
    } else {
        Err(SignError::Mismatch {
            string_to_sign,
            format_string,
        })
    }
}

/// A PostObject policy signature: HMAC-SHA1 under the sign key over hex(SHA1(policy text)).
pub fn policy_signature(secret: &str, key_time: &str, policy_text: &[u8]) -> String {
    let sts = hex::encode(Sha1::digest(policy_text));
    hmac_sha1_hex(sign_key(secret, key_time).as_bytes(), sts.as_bytes())
}

pub fn equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
