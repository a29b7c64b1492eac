//! Every Redis key the gateway uses, built in one place.
//!
//! Redis Cluster runs a script or a pipeline only on keys of one slot, so the layout is
//! chosen around what each operation touches at once:
//!
//! - `{p}:{s<n>}:up:<id>`, `{p}:{s<n>}:deadlines`, `{p}:{s<n>}:events`: a record lives in
//!   one of [`SHARDS`] shards picked from its id, next to that shard's deadline index and
//!   event stream, so creating a record with its deadline, and moving it to a final status
//!   with its event and the deadline removal, are each one script in one slot. Sharding also
//!   spreads the deadline index and the event stream, which would otherwise be one hot key.
//! - `{p}:{user:<u>}:uploads`: a user's index lives in the user's slot.
//! - claims, locks, rate limits and dead letters are single keys, each in its own slot.
//!
//! User ids are segment-encoded, so a user id can never inject a brace.

use crate::domain::{UploadId, UserId, encode_segment};
use std::sync::Arc;

/// How many shards records, deadline indexes and event streams are split over. Changing it
/// moves every record to another key: it is part of the storage format (and of the event
/// contract: one stream per shard).
pub const SHARDS: usize = 16;

#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
    /// Each shard's key names, made once: a record's keys are needed on every operation.
    shards: Arc<[ShardKeys]>,
}

#[derive(Debug)]
struct ShardKeys {
    record_prefix: String,
    deadlines: String,
    events: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        let shards = (0..SHARDS)
            .map(|s| ShardKeys {
                record_prefix: format!("{prefix}:{{s{s}}}:up:"),
                deadlines: format!("{prefix}:{{s{s}}}:deadlines"),
                events: format!("{prefix}:{{s{s}}}:events"),
            })
            .collect();
        Keys {
            prefix: prefix.to_string(),
            shards,
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The shard of an upload id: its last two hex digits, which in a UUIDv7 are random.
    pub fn shard_of(id: &UploadId) -> usize {
        let s = id.as_str();
        usize::from_str_radix(&s[s.len() - 2..], 16).unwrap_or(0) % SHARDS
    }

    /// The JSON upload record.
    pub fn record(&self, id: &UploadId) -> String {
        let prefix = self.record_prefix(Self::shard_of(id));
        let mut key = String::with_capacity(prefix.len() + id.as_str().len());
        key.push_str(prefix);
        key.push_str(id.as_str());
        key
    }

    /// What record keys of `shard` start with (scripts build record keys from ids with it).
    /// Here and below, `shard` is below [`SHARDS`] (a loop over them, or [`Keys::shard_of`]).
    pub fn record_prefix(&self, shard: usize) -> &str {
        &self.shards[shard].record_prefix
    }

    /// Sorted set of a user's upload ids (score 0, ordered by id, i.e. by creation time).
    pub fn user_uploads(&self, user: &UserId) -> String {
        format!("{}:{{user:{}}}:uploads", self.prefix, user.as_segment())
    }

    /// A user's quota counters (hash: `<scope>:bytes`, `<scope>:objects`), with the
    /// reservations still held (hash: upload id → "bytes scopes"), the settled uploads that
    /// still count (same shape) and the held reservations by deadline (sorted set): all in
    /// the user's slot, so each quota script is one slot.
    pub fn quota(&self, user: &UserId) -> [String; 4] {
        let base = format!("{}:{{user:{}}}:quota", self.prefix, user.as_segment());
        [
            base.clone(),
            format!("{base}:held"),
            format!("{base}:stored"),
            format!("{base}:due"),
        ]
    }

    pub fn rate_limit(&self, user: &UserId, bucket: &str) -> String {
        format!(
            "{}:{{rl:{}}}:{}",
            self.prefix,
            user.as_segment(),
            encode_segment(bucket)
        )
    }

    /// Completion events of one shard's uploads, for the application backend (a Redis
    /// Stream).
    pub fn events(&self, shard: usize) -> String {
        self.shards[shard].events.clone()
    }

    /// The stream an upload's events go to.
    pub fn events_for(&self, id: &UploadId) -> String {
        self.events(Self::shard_of(id))
    }

    /// Every event stream, shard 0 first: what a consumer reads.
    pub fn event_streams(&self) -> Vec<String> {
        (0..SHARDS).map(|s| self.events(s)).collect()
    }

    /// One shard's unfinished uploads, scored by the time (unix s) past which they count as
    /// abandoned.
    pub fn deadlines(&self, shard: usize) -> String {
        self.shards[shard].deadlines.clone()
    }

    pub fn deadlines_for(&self, id: &UploadId) -> String {
        self.deadlines(Self::shard_of(id))
    }

    /// Record id claimed by one stored object version that arrived under an STS grant.
    /// Hashed: object keys may be a kilobyte long and hold any byte. One key, so one slot.
    pub fn object_claim(&self, bucket: &str, key: &str, etag: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [bucket, key, etag] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        format!("{}:obj:{}", self.prefix, hex::encode(h.finalize()))
    }

    /// Entries a stream consumer gave up on (a hash: id → JSON), one per consumer name.
    /// Its own slot: the move (store here, then acknowledge in the stream) is two steps, and
    /// storing again under the same id is harmless.
    pub fn dead_letters(&self, consumer: &str) -> String {
        format!(
            "{}:{{dead:{}}}:letters",
            self.prefix,
            encode_segment(consumer)
        )
    }

    pub fn lock(&self, name: &str) -> String {
        format!("{}:lock:{}", self.prefix, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Cluster slot of a key (CRC16 of its hash tag), as Redis computes it.
    fn slot(key: &str) -> u16 {
        let b = key.as_bytes();
        let tagged = b.iter().position(|&c| c == b'{').and_then(|open| {
            let close = b[open + 1..].iter().position(|&c| c == b'}')?;
            (close > 0).then(|| &b[open + 1..open + 1 + close])
        });
        crc16(tagged.unwrap_or(b)) % 16384
    }

    fn crc16(data: &[u8]) -> u16 {
        // CRC-16/XMODEM, the variant Redis Cluster uses.
        let mut crc: u16 = 0;
        for &byte in data {
            crc ^= u16::from(byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn user_ids_cannot_break_hash_tags() {
        let k = Keys::new("ugw");
        let u = UserId::parse("a}b{c").unwrap();
        assert_eq!(k.user_uploads(&u), "ugw:{user:a%7Db%7Bc}:uploads");
    }

    #[test]
    fn slots_match_the_redis_cluster_specification() {
        // Values from the Cluster spec and `CLUSTER KEYSLOT`.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("foo{}{bar}"), crc16(b"foo{}{bar}") % 16384);
        assert_eq!(slot("foo{{bar}}zap"), crc16(b"{bar") % 16384);
    }

    #[test]
    fn every_quota_key_of_a_user_is_in_the_users_slot() {
        let k = Keys::new("ugw");
        for name in ["alice", "bob", "a}b{c", "u-123456"] {
            let u = UserId::parse(name).unwrap();
            let index = slot(&k.user_uploads(&u));
            for key in k.quota(&u) {
                assert_eq!(slot(&key), index, "{key}");
                assert!(
                    key.contains(&format!("{{user:{}}}", u.as_segment())),
                    "{key}"
                );
            }
        }
    }

    #[test]
    fn shard_keys_are_spelled_as_the_storage_format_says() {
        let k = Keys::new("ugw");
        let id = UploadId::parse("0190f5c2a1b27c3d8e9f0a1b2c3d4e0b").unwrap();
        assert_eq!(Keys::shard_of(&id), 11);
        assert_eq!(
            k.record(&id),
            "ugw:{s11}:up:0190f5c2a1b27c3d8e9f0a1b2c3d4e0b"
        );
        assert_eq!(k.record_prefix(11), "ugw:{s11}:up:");
        assert_eq!(k.deadlines_for(&id), "ugw:{s11}:deadlines");
        assert_eq!(k.events_for(&id), "ugw:{s11}:events");
        assert_eq!(k.event_streams().len(), SHARDS);
        assert_eq!(k.event_streams()[0], "ugw:{s0}:events");
    }

    #[test]
    fn a_record_shares_its_slot_with_its_deadline_index_and_event_stream() {
        let k = Keys::new("ugw");
        let mut shards = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let id = UploadId::new();
            let s = slot(&k.record(&id));
            assert_eq!(s, slot(&k.deadlines_for(&id)));
            assert_eq!(s, slot(&k.events_for(&id)));
            shards.insert(Keys::shard_of(&id));
        }
        assert_eq!(shards.len(), SHARDS, "ids spread over every shard");
        let slots: std::collections::BTreeSet<u16> =
            (0..SHARDS).map(|s| slot(&k.deadlines(s))).collect();
        assert_eq!(slots.len(), SHARDS, "each shard its own slot");
    }
}
