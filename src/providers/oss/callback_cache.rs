//! The `callback` parameter, kept once built. It depends only on configuration, the body
//! type, whether images may arrive and the variables' names, so every right of a profile
//! carries the same one; building and base64-encoding it per right was a tenth of a presign.

use super::callback_params::{self, CallbackSpec};
use crate::config::CallbackBodyType;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Client variable names make the key space open-ended: past this many documents the cache
/// starts over rather than grow with whatever names clients send.
const MAX_ENTRIES: usize = 256;

#[derive(Hash, PartialEq, Eq)]
struct Key {
    body_type: CallbackBodyType,
    image_info: bool,
    var_names: Vec<String>,
}

#[derive(Default)]
pub struct CallbackCache {
    encoded: RwLock<HashMap<Key, Arc<str>>>,
}

impl CallbackCache {
    /// The base64 `callback` parameter for `spec` (its URL, host and SNI are the provider's
    /// own, fixed for the cache's lifetime).
    pub fn encoded(&self, spec: &CallbackSpec<'_>) -> Arc<str> {
        let key = Key {
            body_type: spec.body_type,
            image_info: spec.image_info,
            var_names: spec.var_names.to_vec(),
        };
        if let Some(hit) = self.read().get(&key) {
            return hit.clone();
        }
        let built: Arc<str> = callback_params::encode_callback(spec).into();
        let mut map = self.encoded.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, built.clone());
        built
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Key, Arc<str>>> {
        // A panic while holding the lock cannot leave a half-written entry (insert is one
        // step), so a poisoned cache is still sound.
        self.encoded.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(body_type: CallbackBodyType, image: bool, names: &'a [String]) -> CallbackSpec<'a> {
        CallbackSpec {
            url: "https://gw.example.com/v1/callbacks/oss",
            host: None,
            sni: false,
            body_type,
            image_info: image,
            var_names: names,
        }
    }

    #[test]
    fn answers_what_encoding_gives_for_every_key() {
        let cache = CallbackCache::default();
        let a = vec!["upload_id".to_string(), "ticket".to_string()];
        let b = vec![
            "upload_id".to_string(),
            "ticket".to_string(),
            "x".to_string(),
        ];
        for _ in 0..2 {
            for names in [&a, &b] {
                for bt in [CallbackBodyType::Json, CallbackBodyType::Form] {
                    for image in [false, true] {
                        let s = spec(bt, image, names);
                        assert_eq!(&*cache.encoded(&s), callback_params::encode_callback(&s));
                    }
                }
            }
        }
        assert_eq!(cache.read().len(), 8);
    }

    #[test]
    fn stays_bounded_under_ever_new_names() {
        let cache = CallbackCache::default();
        for i in 0..(3 * MAX_ENTRIES) {
            let names = vec![format!("v{i}")];
            let s = spec(CallbackBodyType::Json, false, &names);
            assert_eq!(&*cache.encoded(&s), callback_params::encode_callback(&s));
            assert!(cache.read().len() <= MAX_ENTRIES);
        }
    }
}
