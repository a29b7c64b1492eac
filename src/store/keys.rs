//! Every Redis key the gateway uses, built in one place.
//!
//! Hash tags (`{...}`) group the keys that one operation touches, so that they land in one
//! Cluster slot. User ids are segment-encoded, so a user id can never inject a brace.

use crate::domain::{UploadId, UserId, encode_segment};

#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The JSON upload record.
    pub fn record(&self, id: &UploadId) -> String {
        format!("{}:{{up:{}}}", self.prefix, id)
    }

    /// Sorted set of a user's upload ids, scored by creation time (ms).
    pub fn user_uploads(&self, user: &UserId) -> String {
        format!("{}:{{user:{}}}:uploads", self.prefix, user.as_segment())
    }

    pub fn rate_limit(&self, user: &UserId, bucket: &str) -> String {
        format!(
            "{}:{{rl:{}}}:{}",
            self.prefix,
            user.as_segment(),
            encode_segment(bucket)
        )
    }

    /// Completion events for the application backend (a Redis Stream).
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// Unfinished uploads scored by the time past which they count as abandoned.
    pub fn deadlines(&self) -> String {
        format!("{}:deadlines", self.prefix)
    }

    /// Record id claimed by one stored object version that arrived under an STS grant.
    /// Hashed: object keys may be a kilobyte long and hold any byte.
    pub fn object_claim(&self, bucket: &str, key: &str, etag: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [bucket, key, etag] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        format!("{}:obj:{}", self.prefix, hex::encode(h.finalize()))
    }

    pub fn lock(&self, name: &str) -> String {
        format!("{}:lock:{}", self.prefix, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_cannot_break_hash_tags() {
        let k = Keys::new("ugw");
        let u = UserId::parse("a}b{c").unwrap();
        assert_eq!(k.user_uploads(&u), "ugw:{user:a%7Db%7Bc}:uploads");
    }
}
