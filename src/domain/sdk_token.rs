//! The credential-URL token for mobile SDKs whose stock credential provider sends a bare GET
//! to a URL with no headers (OSS Android `OSSAuthCredentialsProvider`, iOS
//! `OSSAuthCredentialProvider`). The token rides in that URL: it names one user, one profile
//! and one route, and expires. An HMAC under the gateway's secret, compared in constant time.
//!
//! Form: `v1.<base64url(user)>.<expiry unix s>.<base64url(mac)>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The only route a token opens.
pub const SDK_ROUTE: &str = "oss-sdk-credentials";

fn mac(secret: &[u8], user: &str, profile: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    let expires = expires.to_string();
    // Length-prefixed, under its own tag: no ticket or other MAC of this secret can pass.
    for part in ["ugw-sdk-token-v1", SDK_ROUTE, user, profile, &expires] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

pub fn issue(secret: &[u8], user: &str, profile: &str, expires: i64) -> String {
    let tag = mac(secret, user, profile, expires).finalize().into_bytes();
    format!(
        "v1.{}.{expires}.{}",
        URL_SAFE_NO_PAD.encode(user),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkTokenError {
    #[error("the token is not one this gateway issued")]
    Invalid,
    #[error("the token has expired; ask the app's backend for a new credential URL")]
    Expired,
}

/// The user the token vouches for, for `profile`, at `now` (unix s).
pub fn verify(
    secret: &[u8],
    presented: &str,
    profile: &str,
    now: i64,
) -> Result<String, SdkTokenError> {
    let mut parts = presented.split('.');
    let (Some("v1"), Some(user), Some(expires), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SdkTokenError::Invalid);
    };
    let user = URL_SAFE_NO_PAD
        .decode(user)
        .ok()
        .and_then(|u| String::from_utf8(u).ok())
        .ok_or(SdkTokenError::Invalid)?;
    let expires: i64 = expires.parse().map_err(|_| SdkTokenError::Invalid)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| SdkTokenError::Invalid)?;
    mac(secret, &user, profile, expires)
        .verify_slice(&tag)
        .map_err(|_| SdkTokenError::Invalid)?;
    if now >= expires {
        return Err(SdkTokenError::Expired);
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"test-secret-0123456789";

    #[test]
    fn a_token_opens_one_profile_for_one_user_until_it_expires() {
        let t = issue(S, "alice", "avatars", 1_000);
        assert_eq!(verify(S, &t, "avatars", 999).as_deref(), Ok("alice"));
        assert_eq!(verify(S, &t, "avatars", 1_000), Err(SdkTokenError::Expired));
        assert_eq!(verify(S, &t, "documents", 999), Err(SdkTokenError::Invalid));
        assert_eq!(
            verify(b"another-secret-0123", &t, "avatars", 999),
            Err(SdkTokenError::Invalid)
        );
        // Editing the user or the expiry does not carry the MAC over.
        let parts: Vec<&str> = t.split('.').collect();
        let bob = format!(
            "v1.{}.{}.{}",
            URL_SAFE_NO_PAD.encode("bob"),
            parts[2],
            parts[3]
        );
        assert_eq!(verify(S, &bob, "avatars", 999), Err(SdkTokenError::Invalid));
        let later = format!("v1.{}.2000.{}", parts[1], parts[3]);
        assert_eq!(
            verify(S, &later, "avatars", 999),
            Err(SdkTokenError::Invalid)
        );
        for junk in ["", "v1", "v2.a.1.b", "v1.!!.1.x", &format!("{t}.extra")] {
            assert_eq!(verify(S, junk, "avatars", 0), Err(SdkTokenError::Invalid));
        }
    }
}
