//! The OSS callback signature: RSASSA-PKCS1-v1_5 over MD5 of
//! `url_decode(path) [+ '?' + raw query] + '\n' + raw body`, checked against the raw request
//! target and body bytes before anything is parsed. Pure functions: the server and the
//! `verify-callback` CLI share them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, U512, U1024, Uint};
use md5::{Digest, Md5};
use rsa::traits::PublicKeyParts;
use rsa_verify::{BoxedUint, Pkcs1v15Sign};
use std::borrow::Cow;

/// The key OSS signs callbacks with today (`callback_pub_key_v1.pem`, RSA 512, e=65537).
/// Pinned so that the common case never touches the network.
pub const OSS_PUB_KEY_V1_URL_PATH: &str = "callback_pub_key_v1.pem";
pub const OSS_PUB_KEY_V1_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKs/JBGzwUB2aVht4crBx3oIPBLNsjGs
C0fTXv+nvlmklvkcolvpvXLTjaxUHR3W9LXxQ2EHXAJfCB+6H2YF1k8CAwEAAQ==
-----END PUBLIC KEY-----
";

/// The key URL prefixes OSS uses; the default allow-list.
pub use crate::config::DEFAULT_KEY_URL_PREFIXES as OSS_KEY_URL_PREFIXES;

/// The PEM pinned in the binary for an OSS key URL, if any.
pub fn pinned_oss_key_pem(url: &str) -> Option<&'static str> {
    OSS_KEY_URL_PREFIXES
        .iter()
        .any(|p| url.strip_prefix(p) == Some(OSS_PUB_KEY_V1_URL_PATH))
        .then_some(OSS_PUB_KEY_V1_PEM)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the authorization header is not standard base64")]
    AuthorizationNotBase64,
    #[error("the signature does not match the request target and body")]
    Mismatch,
}

pub use crate::config::KeyParseError;

/// A callback key ready to verify with. Built once per key (pinned at start, fetched ones
/// when cached): the modulus's Montgomery parameters are computed here, not per callback.
pub struct VerifyingKey {
    key: rsa_verify::PublicKey,
    /// The exponent is 65537, as in every key OSS has published.
    f4: bool,
    /// For e = 65537 and the two sizes callbacks use, the modulus's parameters in a fixed
    /// number of limbs: arithmetic on the stack, about twice as fast as the heap-sized kind.
    fixed: Option<FixedKey>,
}

// By the limb count of each size on the target (u64 limbs on 64-bit, u32 on 32-bit).
enum FixedKey {
    Bits512(FixedMontyParams<{ U512::LIMBS }>),
    Bits1024(FixedMontyParams<{ U1024::LIMBS }>),
}

impl FixedKey {
    fn new(n_be: &[u8]) -> Option<FixedKey> {
        fn params<const L: usize>(n_be: &[u8]) -> Option<FixedMontyParams<L>> {
            if n_be.len() != Uint::<L>::BYTES {
                return None;
            }
            let odd = Odd::new(Uint::<L>::from_be_slice(n_be)).into_option()?;
            Some(FixedMontyParams::new_vartime(odd))
        }
        // Exactly 64 or 128 bytes with the top bit set: a modulus of exactly that size.
        if n_be.first().is_none_or(|b| b & 0x80 == 0) {
            return None;
        }
        match n_be.len() {
            U512::BYTES => params(n_be).map(FixedKey::Bits512),
            U1024::BYTES => params(n_be).map(FixedKey::Bits1024),
            _ => None,
        }
    }

    fn verify(&self, digest: &[u8], sig: &[u8]) -> bool {
        match self {
            FixedKey::Bits512(p) => verify_f4_fixed(p, digest, sig),
            FixedKey::Bits1024(p) => verify_f4_fixed(p, digest, sig),
        }
    }
}

/// `DigestInfo` for MD5 (RFC 8017 §9.2, note 1): what precedes the digest in the signed block.
const MD5_DIGEST_INFO: [u8; 18] = [
    0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00,
    0x04, 0x10,
];

impl VerifyingKey {
    pub fn new(key: &rsa::RsaPublicKey) -> Result<VerifyingKey, KeyParseError> {
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        let bits = |b: &[u8]| (b.len() * 8) as u32;
        let n = BoxedUint::from_be_slice(&n, bits(&n)).map_err(|e| KeyParseError(e.to_string()))?;
        let e = BoxedUint::from_be_slice(&e, bits(&e)).map_err(|e| KeyParseError(e.to_string()))?;
        let f4 = key.e().to_bytes_be() == [1, 0, 1];
        let fixed = if f4 {
            FixedKey::new(&key.n().to_bytes_be())
        } else {
            None
        };
        // 0.10 refuses keys under 1024 bits by default; OSS signs with a 512-bit one.
        rsa_verify::PublicKey::new_with_size_limits(n, e, 512..=rsa_verify::PublicKey::MAX_SIZE)
            .map(|key| VerifyingKey { key, f4, fixed })
            .map_err(|e| KeyParseError(e.to_string()))
    }

    pub fn bits(&self) -> usize {
        use rsa_verify::traits::PublicKeyParts;
        self.key.n().as_ref().bit_width() as usize
    }
}

/// Accepts what [`crate::config::parse_public_key`] accepts.
pub fn parse_public_key(pem: &str) -> Result<VerifyingKey, KeyParseError> {
    VerifyingKey::new(&crate::config::parse_public_key(pem)?)
}

/// The bytes OSS signs. The path is percent-decoded (as bytes: it need not be UTF-8); the
/// query is taken raw, and only when the request target has a `?`.
pub fn string_to_sign(request_target: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(request_target.len() + body.len() + 2);
    signed_parts(request_target, body, |part| out.extend_from_slice(part));
    out
}

/// Hands the signed bytes over in pieces, so that verifying hashes the body where it lies
/// instead of copying it first.
fn signed_parts(request_target: &str, body: &[u8], mut f: impl FnMut(&[u8])) {
    let (path, query) = match request_target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (request_target, None),
    };
    let decoded: Cow<'_, [u8]> = percent_encoding::percent_decode_str(path).into();
    f(&decoded);
    if let Some(q) = query {
        f(b"?");
        f(q.as_bytes());
    }
    f(b"\n");
    f(body);
}

/// Checks `authorization` (standard base64, no scheme) over the request target and body.
pub fn verify(
    key: &VerifyingKey,
    request_target: &str,
    body: &[u8],
    authorization: &str,
) -> Result<(), SignatureError> {
    let sig = STANDARD
        .decode(authorization.trim())
        .map_err(|_| SignatureError::AuthorizationNotBase64)?;
    let mut md5 = Md5::new();
    signed_parts(request_target, body, |part| md5.update(part));
    let digest = md5.finalize();
    let good = if let Some(fixed) = &key.fixed {
        fixed.verify(&digest, &sig)
    } else if key.f4 {
        verify_f4(&key.key, &digest, &sig)
    } else {
        let scheme = Pkcs1v15Sign {
            hash_len: Some(digest.len()),
            prefix: Box::new(MD5_DIGEST_INFO),
        };
        key.key.verify(scheme, &digest, &sig).is_ok()
    };
    good.then_some(()).ok_or(SignatureError::Mismatch)
}

/// RSASSA-PKCS1-v1_5 verification with MD5 for e = 65537: `s^e mod n` as 16 squarings and
/// one multiplication, where the library's windowed exponentiation spends 35 Montgomery
/// products on the 17-bit exponent (most of a callback's CPU). The result is compared with
/// the one block a valid signature of `digest` encodes to (RFC 8017 §8.2.2: encode, then
/// compare), so no padding is parsed. The same checks as the library's: the signature is
/// exactly `k` bytes and below the modulus.
fn verify_f4(key: &rsa_verify::PublicKey, digest: &[u8], sig: &[u8]) -> bool {
    use crypto_bigint::modular::BoxedMontyForm;
    use crypto_bigint::{MulAssign, SquareAssign};
    use rsa_verify::traits::PublicKeyParts;

    let k = key.size();
    if sig.len() != k || k < 11 + MD5_DIGEST_INFO.len() + digest.len() {
        return false;
    }
    let Ok(s) = BoxedUint::from_be_slice(sig, key.n_bits_precision()) else {
        return false;
    };
    if s >= *key.n().as_ref() {
        return false;
    }
    let base = BoxedMontyForm::new(s, key.n_params());
    let mut m = base.clone();
    for _ in 0..16 {
        m.square_assign();
    }
    m.mul_assign(&base);
    let m = m.retrieve().to_be_bytes();
    // `m < n`, so the bytes above the modulus's `k` are zero.
    let (high, em) = m.split_at(m.len() - k);
    high.iter().all(|b| *b == 0) && encodes(em, digest)
}

/// [`verify_f4`] for a modulus of exactly `L` limbs (512 or 1024 bits), whose signatures are
/// exactly that many bytes.
fn verify_f4_fixed<const L: usize>(
    params: &FixedMontyParams<L>,
    digest: &[u8],
    sig: &[u8],
) -> bool {
    if sig.len() != Uint::<L>::BYTES {
        return false;
    }
    let s = Uint::<L>::from_be_slice(sig);
    if s >= *params.modulus().as_ref() {
        return false;
    }
    let base = FixedMontyForm::new(&s, params);
    // The exponent is public: a variable-time count of squarings leaks nothing.
    let m = base.square_repeat_vartime(16).mul(&base).retrieve();
    encodes(m.to_be_bytes().as_ref(), digest)
}

/// Whether `em` (the modulus's size in bytes) is the PKCS#1 v1.5 block of an MD5 `digest`:
/// `00 01 ff .. ff 00 DigestInfo digest`, compared in constant time.
fn encodes(em: &[u8], digest: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    let k = em.len();
    let t = MD5_DIGEST_INFO.len() + digest.len();
    if k < 11 + t {
        return false;
    }
    let mut expected = vec![0xff; k];
    expected[0] = 0;
    expected[1] = 1;
    expected[k - t - 1] = 0;
    expected[k - t..k - digest.len()].copy_from_slice(&MD5_DIGEST_INFO);
    expected[k - digest.len()..].copy_from_slice(digest);
    bool::from(em.ct_eq(&expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn vectors() -> Value {
        let text = include_str!("../../../../tests/fixtures/vectors/oss_callback_example.json");
        serde_json::from_str(text).unwrap()
    }

    fn s(v: &Value) -> &str {
        v.as_str().unwrap()
    }

    #[test]
    fn the_pinned_key_is_the_one_in_the_vectors_and_is_512_bits() {
        let v = vectors();
        assert_eq!(s(&v["oss_callback_pub_key_v1_pem"]), OSS_PUB_KEY_V1_PEM);
        let key = parse_public_key(OSS_PUB_KEY_V1_PEM).unwrap();
        assert_eq!(key.bits(), 512);
    }

    #[test]
    fn official_doc_examples_verify_under_the_pinned_key_as_expected() {
        let v = vectors();
        let key = parse_public_key(OSS_PUB_KEY_V1_PEM).unwrap();
        let cases = v["vectors"].as_array().unwrap();
        assert!(cases.len() >= 2);
        for case in cases {
            let target = s(&case["request_target"]);
            let body = s(&case["body"]);
            assert_eq!(
                string_to_sign(target, body.as_bytes()),
                s(&case["string_to_sign"]).as_bytes(),
                "{}",
                case["name"]
            );
            let got = verify(
                &key,
                target,
                body.as_bytes(),
                s(&case["headers"]["authorization"]),
            );
            assert_eq!(
                got.is_ok(),
                case["expected_valid"].as_bool().unwrap(),
                "{}",
                case["name"]
            );
        }
    }

    #[test]
    fn synthetic_cases_cover_path_decoding_empty_bodies_and_json() {
        let v = vectors();
        let key = parse_public_key(s(&v["synthetic_rsa1024_public_key_pem"])).unwrap();
        let cases = v["synthetic_vectors"].as_array().unwrap();
        assert!(cases.len() >= 4);
        for case in cases {
            let target = s(&case["request_target"]);
            let body = s(&case["body"]);
            if let Some(sts) = case.get("string_to_sign") {
                assert_eq!(string_to_sign(target, body.as_bytes()), s(sts).as_bytes());
            }
            let got = verify(&key, target, body.as_bytes(), s(&case["authorization"]));
            assert_eq!(
                got.is_ok(),
                case["expected_valid"].as_bool().unwrap(),
                "{}",
                case["name"]
            );
        }
    }

    /// The e = 65537 path gives the library's answer, for valid signatures of both key
    /// sizes and for every kind of broken one (each byte flipped, too short, too long, at
    /// or above the modulus, another digest).
    #[test]
    fn the_f4_path_agrees_with_the_library() {
        use rsa_verify::traits::PublicKeyParts as _;
        let v = vectors();
        let library = |key: &VerifyingKey, digest: &[u8], sig: &[u8]| {
            let scheme = Pkcs1v15Sign {
                hash_len: Some(digest.len()),
                prefix: Box::new(MD5_DIGEST_INFO),
            };
            key.key.verify(scheme, digest, sig).is_ok()
        };
        let cases = [
            (
                OSS_PUB_KEY_V1_PEM,
                &v["vectors"][0],
                "/headers/authorization",
            ),
            (
                s(&v["synthetic_rsa1024_public_key_pem"]),
                &v["synthetic_vectors"][0],
                "/authorization",
            ),
        ];
        let fixed = |key: &VerifyingKey, digest: &[u8], sig: &[u8]| match &key.fixed {
            Some(f) => f.verify(digest, sig),
            None => panic!("no fixed-size parameters for a {}-bit key", key.bits()),
        };
        for (pem, case, auth) in cases {
            let key = parse_public_key(pem).unwrap();
            assert!(key.f4);
            assert!(matches!(
                (&key.fixed, key.bits()),
                (Some(FixedKey::Bits512(_)), 512) | (Some(FixedKey::Bits1024(_)), 1024)
            ));
            let sig = STANDARD.decode(s(case.pointer(auth).unwrap())).unwrap();
            let mut md5 = Md5::new();
            signed_parts(
                s(&case["request_target"]),
                s(&case["body"]).as_bytes(),
                |p| md5.update(p),
            );
            let digest = md5.finalize().to_vec();
            assert!(verify_f4(&key.key, &digest, &sig));
            assert!(fixed(&key, &digest, &sig));
            assert!(library(&key, &digest, &sig));
            let mut other = digest.clone();
            other[0] ^= 1;
            let n = key.key.n().as_ref().to_be_bytes();
            let n = n[n.len() - sig.len()..].to_vec();
            let mut tries = vec![
                (other.clone(), sig.clone()),
                (digest.clone(), sig[1..].to_vec()),
                (digest.clone(), [&[0u8][..], &sig].concat()),
                (digest.clone(), n.clone()),
                (digest.clone(), vec![0xff; sig.len()]),
                (digest.clone(), vec![0; sig.len()]),
            ];
            for i in 0..sig.len() {
                let mut bad = sig.clone();
                bad[i] ^= 0x40;
                tries.push((digest.clone(), bad));
            }
            for (d, sg) in tries {
                assert_eq!(verify_f4(&key.key, &d, &sg), library(&key, &d, &sg));
                assert!(!verify_f4(&key.key, &d, &sg));
                assert!(!fixed(&key, &d, &sg));
            }
        }
    }

    #[test]
    fn only_moduli_of_exactly_512_or_1024_bits_get_fixed_size_parameters() {
        let odd = |len: usize, top: u8| {
            let mut n = vec![0x5a; len];
            n[0] = top;
            n[len - 1] |= 1;
            n
        };
        assert!(matches!(
            FixedKey::new(&odd(64, 0xc1)),
            Some(FixedKey::Bits512(_))
        ));
        assert!(matches!(
            FixedKey::new(&odd(128, 0x80)),
            Some(FixedKey::Bits1024(_))
        ));
        assert!(FixedKey::new(&odd(64, 0x41)).is_none(), "511 bits");
        assert!(FixedKey::new(&odd(96, 0xc1)).is_none(), "768 bits");
        assert!(FixedKey::new(&odd(256, 0xc1)).is_none(), "2048 bits");
        let mut even = odd(64, 0xc1);
        even[63] &= 0xfe;
        assert!(FixedKey::new(&even).is_none(), "an even modulus");
        assert!(FixedKey::new(&[]).is_none());
    }

    #[test]
    fn any_change_to_target_body_or_signature_fails() {
        let v = vectors();
        let key = parse_public_key(OSS_PUB_KEY_V1_PEM).unwrap();
        let case = &v["vectors"][0];
        let target = s(&case["request_target"]);
        let body = s(&case["body"]);
        let auth = s(&case["headers"]["authorization"]);
        assert!(verify(&key, target, body.as_bytes(), auth).is_ok());
        assert_eq!(
            verify(&key, target, b"bucket=yonghu-tesT", auth),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&key, "/index.php?id=1&index=3", body.as_bytes(), auth),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = STANDARD.decode(auth).unwrap();
        flipped[10] ^= 1;
        assert_eq!(
            verify(&key, target, body.as_bytes(), &STANDARD.encode(flipped)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&key, target, body.as_bytes(), "not base64!"),
            Err(SignatureError::AuthorizationNotBase64)
        );
        assert_eq!(
            verify(&key, target, body.as_bytes(), ""),
            Err(SignatureError::Mismatch)
        );
    }
}
