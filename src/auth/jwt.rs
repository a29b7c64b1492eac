//! JWT bearer tokens: HS256 and/or RS256, with issuer, audience and expiry enforced.

use super::{AuthMethod, AuthUser};
use crate::config::JwtSettings;
use crate::domain::UserId;
use crate::error::ApiError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

pub struct JwtVerifier {
    hs256: Option<(DecodingKey, Validation)>,
    rs256: Option<(DecodingKey, Validation)>,
    user_claim: String,
}

fn validation(alg: Algorithm, s: &JwtSettings) -> Validation {
    let mut v = Validation::new(alg);
    if let Some(iss) = &s.issuer {
        v.set_issuer(&[iss]);
    }
    if let Some(aud) = &s.audience {
        v.set_audience(&[aud]);
    }
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.leeway = s.leeway_secs;
    v.validate_nbf = true;
    v
}

impl JwtVerifier {
    pub fn new(s: &JwtSettings, user_claim: &str) -> Result<Self, String> {
        let hs256 = s.hs256_secret.as_ref().map(|secret| {
            (
                DecodingKey::from_secret(secret.expose_secret().as_bytes()),
                validation(Algorithm::HS256, s),
            )
        });
        let rs256 = s
            .rs256_public_key_pem
            .as_ref()
            .map(|pem| {
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map(|k| (k, validation(Algorithm::RS256, s)))
                    .map_err(|e| format!("auth.jwt.rs256_public_key_pem: {e}"))
            })
            .transpose()?;
        Ok(JwtVerifier {
            hs256,
            rs256,
            user_claim: user_claim.to_string(),
        })
    }

    pub fn verify(&self, token: &str) -> Result<AuthUser, ApiError> {
        let header = decode_header(token)
            .map_err(|_| ApiError::InvalidToken("the token is not a well-formed JWT".into()))?;
        // RFC 7515 4.1.11: a header parameter listed as critical must be understood, and
        // this service understands none.
        if header.crit.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(ApiError::InvalidToken(
                "the token lists critical header parameters ('crit') this service does not understand".into(),
            ));
        }
        // The algorithm is chosen by our config, never by the token: a token may only pick
        // among the keys we hold, each bound to its own algorithm.
        let (key, validation) = match header.alg {
            Algorithm::HS256 => self.hs256.as_ref(),
            Algorithm::RS256 => self.rs256.as_ref(),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::InvalidToken(format!("algorithm {:?} is not accepted", header.alg))
        })?;
        let data =
            decode::<Map<String, Value>>(token, key, validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::TokenExpired,
                ErrorKind::InvalidAudience => ApiError::InvalidToken("wrong audience".into()),
                ErrorKind::InvalidIssuer => ApiError::InvalidToken("wrong issuer".into()),
                ErrorKind::ImmatureSignature => {
                    ApiError::InvalidToken("token not valid yet (nbf)".into())
                }
                ErrorKind::InvalidSignature => ApiError::InvalidToken("bad signature".into()),
                ErrorKind::MissingRequiredClaim(c) => {
                    ApiError::InvalidToken(format!("missing claim '{c}'"))
                }
                _ => ApiError::InvalidToken("the token could not be verified".into()),
            })?;
        let user = match data.claims.get(&self.user_claim) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ApiError::InvalidToken(format!(
                    "the token has no string claim '{}'",
                    self.user_claim
                )));
            }
        };
        let user = UserId::parse(user)
            .map_err(|e| ApiError::InvalidToken(format!("claim '{}': {e}", self.user_claim)))?;
        Ok(AuthUser {
            user,
            method: AuthMethod::Jwt,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;
    use crate::config::tests::MINIMAL;

    /// `config/example.toml` recommends a leeway; its comment must state the real default.
    #[test]
    fn the_example_states_the_leeway_default_that_applies() {
        let text = format!(
            "{MINIMAL}\n[auth.jwt]\nhs256_secret = \"{}\"\nissuer = \"i\"\naudience = \"a\"\n",
            "s".repeat(32)
        );
        let s = Settings::from_toml(&text).unwrap();
        let default = s.auth.jwt.as_ref().unwrap().leeway_secs;
        let example = include_str!("../../config/example.toml");
        let line = example
            .lines()
            .find(|l| l.starts_with("leeway_secs"))
            .unwrap();
        assert!(line.contains(&format!("(default {default}")), "{line}");
    }
}
