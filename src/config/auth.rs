//! `[auth]`: how clients prove who they are (JWTs and static API keys).

use super::{ConfigError, raw, secret};
use crate::domain::UserId;
use secrecy::SecretString;

pub struct JwtSettings {
    pub hs256_secret: Option<SecretString>,
    pub rs256_public_key_pem: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_secs: u64,
}

pub struct ApiKeySettings {
    pub name: String,
    pub user: UserId,
    pub sha256: [u8; 32],
}

pub struct AuthSettings {
    pub user_claim: String,
    pub jwt: Option<JwtSettings>,
    pub api_keys: Vec<ApiKeySettings>,
    pub sdk_url_ttl: std::time::Duration,
}

pub(super) fn validate(a: raw::AuthSection, world: bool) -> Result<AuthSettings, ConfigError> {
    if a.user_claim.is_empty() {
        return Err(ConfigError::new("auth.user_claim", "must not be empty"));
    }
    let jwt = match a.jwt {
        None => None,
        Some(j) => {
            let hs256_secret = secret::resolve(
                "auth.jwt.hs256_secret",
                j.hs256_secret,
                j.hs256_secret_file.as_deref(),
                world,
            )?;
            if let Some(s) = &hs256_secret {
                use secrecy::ExposeSecret;
                if s.expose_secret().len() < 32 {
                    return Err(ConfigError::new(
                        "auth.jwt.hs256_secret",
                        "must be at least 32 characters (HS256 keys shorter than the hash are weak)",
                    ));
                }
            }
            let rs256_public_key_pem = match (j.rs256_public_key_pem, j.rs256_public_key_file) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::new(
                        "auth.jwt.rs256_public_key_pem",
                        "set either rs256_public_key_pem or rs256_public_key_file, not both",
                    ));
                }
                (Some(p), None) => Some(p),
                (None, Some(f)) => Some(std::fs::read_to_string(&f).map_err(|e| {
                    ConfigError::new(
                        "auth.jwt.rs256_public_key_file",
                        format!("cannot read {}: {e}", f.display()),
                    )
                })?),
                (None, None) => None,
            };
            if let Some(pem) = &rs256_public_key_pem {
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| {
                    ConfigError::new(
                        "auth.jwt.rs256_public_key_pem",
                        format!("not an RSA public key PEM: {e}"),
                    )
                })?;
            }
            if hs256_secret.is_none() && rs256_public_key_pem.is_none() {
                return Err(ConfigError::new(
                    "auth.jwt",
                    "set hs256_secret(_file) and/or rs256_public_key_pem(_file)",
                ));
            }
            if j.issuer.is_none() || j.audience.is_none() {
                return Err(ConfigError::new(
                    "auth.jwt",
                    "issuer and audience are required: tokens minted for another service must not work here",
                ));
            }
            Some(JwtSettings {
                hs256_secret,
                rs256_public_key_pem,
                issuer: j.issuer,
                audience: j.audience,
                leeway_secs: j.leeway_secs,
            })
        }
    };
    let mut api_keys = Vec::new();
    for (i, k) in a.api_keys.into_iter().enumerate() {
        let key = format!("auth.api_keys[{i}]");
        let bytes = hex::decode(&k.sha256)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                ConfigError::new(
                    &format!("{key}.sha256"),
                    "must be 64 hex digits: the SHA-256 of the key (printf %s KEY | sha256sum)",
                )
            })?;
        let user = UserId::parse(k.user)
            .map_err(|e| ConfigError::new(&format!("{key}.user"), e.to_string()))?;
        api_keys.push(ApiKeySettings {
            name: k.name,
            user,
            sha256: bytes,
        });
    }
    if jwt.is_none() && api_keys.is_empty() {
        return Err(ConfigError::new(
            "auth",
            "configure auth.jwt and/or auth.api_keys: without them no client can authenticate",
        ));
    }
    if !(60..=7 * 24 * 3600).contains(&a.sdk_url_ttl_secs) {
        return Err(ConfigError::new(
            "auth.sdk_url_ttl_secs",
            "must be between 60 and 604800",
        ));
    }
    Ok(AuthSettings {
        user_claim: a.user_claim,
        jwt,
        api_keys,
        sdk_url_ttl: std::time::Duration::from_secs(a.sdk_url_ttl_secs),
    })
}
