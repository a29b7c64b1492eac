//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "<webhook-id>.<webhook-timestamp>.<body>">`, one `v1,` value per secret, space-separated,
//! so a receiver holding either the old or the new secret accepts a request mid-rotation.

use crate::config::WebhookSecret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(secret.key()).expect("HMAC takes any key length");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// One `v1,<base64>` signature.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, id, timestamp, body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

/// The `webhook-signature` header value: a signature per secret.
pub fn header(secrets: &[WebhookSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("webhook-timestamp is not a unix time")]
    BadTimestamp,
    #[error("webhook-timestamp is more than the tolerance away from now")]
    Stale,
    #[error("no v1 signature matches")]
    NoMatch,
}

/// What a receiver does (the gateway never receives webhooks; the README's examples and the
/// tests use this shape): the timestamp within `tolerance_secs` of `now`, then any `v1`
/// signature matching any secret, compared in constant time.
pub fn verify(
    secrets: &[WebhookSecret],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
    if (now - ts).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    for candidate in signatures.split(' ') {
        let Some(b64) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(given) = STANDARD.decode(b64) else {
            continue;
        };
        // `verify_slice` compares in constant time.
        if secrets
            .iter()
            .any(|s| mac(s, id, ts, body).verify_slice(&given).is_ok())
        {
            return Ok(());
        }
    }
    Err(VerifyError::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> WebhookSecret {
        WebhookSecret::parse(s).unwrap()
    }

    /// The vector of the Standard Webhooks reference libraries' own tests.
    #[test]
    fn signs_the_reference_vector_byte_for_byte() {
        let s = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(
            sign(
                &s,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn during_a_rotation_either_secret_verifies_and_nothing_else_does() {
        let old = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let new = secret("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        let both = [
            secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            secret("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        ];
        let h = header(&both, "s3-1-0", 1000, b"{}");
        assert_eq!(h.split(' ').count(), 2);
        for receiver in [old, new] {
            let r = [receiver];
            assert_eq!(verify(&r, "s3-1-0", "1000", &h, b"{}", 1010, 300), Ok(()));
            assert_eq!(
                verify(&r, "s3-1-0", "1000", &h, b"{ }", 1010, 300),
                Err(VerifyError::NoMatch)
            );
            assert_eq!(
                verify(&r, "s3-1-1", "1000", &h, b"{}", 1010, 300),
                Err(VerifyError::NoMatch)
            );
            assert_eq!(
                verify(&r, "s3-1-0", "1000", &h, b"{}", 2000, 300),
                Err(VerifyError::Stale)
            );
        }
        let other = [secret("whsec_ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZm")];
        assert_eq!(
            verify(&other, "s3-1-0", "1000", &h, b"{}", 1010, 300),
            Err(VerifyError::NoMatch)
        );
    }
}
