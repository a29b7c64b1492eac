//! The store's shared state and the calls tests make on it directly.

use crate::disk::{self, Disk, ObjectMeta};
use crate::{Config, KEY_PATH, callback};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use time::OffsetDateTime;

/// Temporary credentials (from the STS stand-in): usable only with their token, before
/// their expiry, and only for keys under `prefix` of `bucket`.
#[derive(Clone)]
pub struct TempCredential {
    pub secret: String,
    pub token: String,
    pub expires: OffsetDateTime,
    pub bucket: String,
    pub prefix: String,
}

impl std::fmt::Debug for TempCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the token.
        f.debug_struct("TempCredential")
            .field("expires", &self.expires)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Counts of successful operations, by OSS operation name (what tests look at).
#[derive(Default)]
pub struct Stats(Mutex<BTreeMap<String, u64>>);

impl Stats {
    pub(crate) fn bump(&self, op: &str) {
        *self.0.lock().unwrap().entry(op.to_string()).or_default() += 1;
    }

    pub fn get(&self, op: &str) -> u64 {
        self.0.lock().unwrap().get(op).copied().unwrap_or(0)
    }
}

/// What both dialects share: the disk, the long-lived keys, the callback signer and the
/// counters. Each listener adds its own dialect state around it.
pub struct Store {
    pub(crate) config: Config,
    pub(crate) disk: Disk,
    /// Long-lived keys: OSS AccessKeyId, or COS SecretId, to its secret.
    pub(crate) keys: HashMap<String, String>,
    /// OSS STS credentials by AccessKeyId.
    pub(crate) temp: Mutex<HashMap<String, TempCredential>>,
    pub(crate) signer: callback::Signer,
    pub(crate) http: reqwest::Client,
    pub stats: Stats,
    /// `http://host:port` of the OSS listener, known once bound.
    pub(crate) base_url: Mutex<String>,
}

impl Store {
    pub fn add_temp_credential(&self, access_key_id: String, c: TempCredential) {
        self.temp.lock().unwrap().insert(access_key_id, c);
    }

    /// An object's description and bytes, straight from disk (for tests and tools).
    pub async fn read_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> std::io::Result<Option<(ObjectMeta, Vec<u8>)>> {
        self.disk.get(bucket, key).await
    }

    /// Stores an object directly, as if some client had uploaded it (test fixtures).
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        data: &[u8],
    ) -> std::io::Result<ObjectMeta> {
        let meta = ObjectMeta {
            key: key.to_string(),
            size: data.len() as u64,
            etag: disk::md5_etag(data).0,
            content_type: content_type.to_string(),
            crc64: disk::CRC64.checksum(data),
            content_md5: None,
            appendable: false,
            user_meta: Vec::new(),
            last_modified: OffsetDateTime::now_utc(),
        };
        self.disk.put(bucket, &meta, data).await?;
        Ok(meta)
    }

    /// Drops an upload as a lifecycle rule would (tests of "storage forgot it").
    pub async fn forget_upload(&self, bucket: &str, upload_id: &str) -> std::io::Result<()> {
        self.disk.abort(bucket, upload_id).await
    }

    pub fn key_url(&self) -> String {
        format!("{}{KEY_PATH}", self.base_url.lock().unwrap())
    }
}
