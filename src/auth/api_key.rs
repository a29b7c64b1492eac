//! Static API keys. The config holds only their SHA-256; comparison is constant-time and
//! always walks every configured key, so timing says nothing about which one nearly matched.

use super::{AuthMethod, AuthUser};
use crate::config::ApiKeySettings;
use crate::domain::UserId;
use crate::error::ApiError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

struct Entry {
    name: String,
    user: UserId,
    sha256: [u8; 32],
}

pub struct ApiKeys(Vec<Entry>);

impl ApiKeys {
    pub fn new(settings: &[ApiKeySettings]) -> Self {
        ApiKeys(
            settings
                .iter()
                .map(|k| Entry {
                    name: k.name.clone(),
                    user: k.user.clone(),
                    sha256: k.sha256,
                })
                .collect(),
        )
    }

    pub fn verify(&self, presented: &str) -> Result<AuthUser, ApiError> {
        let digest = hash_api_key(presented);
        let mut found: Option<&Entry> = None;
        for entry in &self.0 {
            if bool::from(entry.sha256.ct_eq(&digest)) {
                found = Some(entry);
            }
        }
        found
            .map(|e| AuthUser {
                user: e.user.clone(),
                method: AuthMethod::ApiKey {
                    name: e.name.clone(),
                },
            })
            .ok_or(ApiError::UnknownApiKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_map_to_their_user() {
        let keys = ApiKeys::new(&[ApiKeySettings {
            name: "backend".into(),
            user: UserId::parse("svc").unwrap(),
            sha256: hash_api_key("s3cr3t-key"),
        }]);
        let u = keys.verify("s3cr3t-key").unwrap();
        assert_eq!(u.user.as_str(), "svc");
        assert!(matches!(
            keys.verify("s3cr3t-kez"),
            Err(ApiError::UnknownApiKey)
        ));
        assert!(matches!(keys.verify(""), Err(ApiError::UnknownApiKey)));
    }
}
