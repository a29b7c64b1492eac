//! Objects and multipart uploads on local disk. One directory per bucket; an object is a data
//! file plus a JSON description, both named by the SHA-256 of the key (keys may hold any
//! byte), written to a temporary name and renamed so a reader never sees half an object.

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The CRC-64 OSS and COS both report (ECMA-182, reflected, all-ones init and final XOR).
pub const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// Upper-case hex, without quotes; `<hex>-<parts>` for multipart objects.
    pub etag: String,
    pub content_type: String,
    pub crc64: u64,
    pub content_md5: Option<String>,
    /// Set for appendable objects.
    pub appendable: bool,
    /// User metadata (`x-cos-meta-*` headers, names lower-cased), as sent.
    #[serde(default)]
    pub user_meta: Vec<(String, String)>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadMeta {
    pub key: String,
    pub upload_id: String,
    pub content_type: String,
    /// Given at initiation, carried to the object.
    #[serde(default)]
    pub user_meta: Vec<(String, String)>,
    #[serde(with = "time::serde::rfc3339")]
    pub initiated: OffsetDateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartMeta {
    pub number: u32,
    pub etag: String,
    pub size: u64,
    pub md5: [u8; 16],
    pub crc64: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum CompleteError {
    #[error("NoSuchUpload")]
    NoSuchUpload,
    #[error("InvalidPart: part {0} was not uploaded or its ETag differs")]
    InvalidPart(u32),
    #[error("InvalidPartOrder: part numbers must ascend")]
    InvalidPartOrder,
    #[error("EntityTooSmall: part {0} is below the minimum part size")]
    EntityTooSmall(u32),
    #[error("{0}")]
    Io(#[from] io::Error),
}

pub struct Disk {
    root: PathBuf,
}

fn hashed(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

pub fn md5_etag(data: &[u8]) -> (String, [u8; 16]) {
    let d: [u8; 16] = Md5::digest(data).into();
    (hex::encode_upper(d), d)
}

async fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, data).await?;
    tokio::fs::rename(&tmp, path).await
}

async fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match tokio::fs::read(path).await {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain data serialises")
}

impl Disk {
    pub fn new(root: PathBuf) -> Disk {
        Disk { root }
    }

    fn objects(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket).join("objects")
    }

    fn uploads(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket).join("uploads")
    }

    pub async fn ensure_bucket(&self, bucket: &str) -> io::Result<()> {
        tokio::fs::create_dir_all(self.objects(bucket)).await?;
        tokio::fs::create_dir_all(self.uploads(bucket)).await
    }

    pub async fn head(&self, bucket: &str, key: &str) -> io::Result<Option<ObjectMeta>> {
        read_json(&self.objects(bucket).join(format!("{}.json", hashed(key)))).await
    }

    pub async fn get(&self, bucket: &str, key: &str) -> io::Result<Option<(ObjectMeta, Vec<u8>)>> {
        let Some(meta) = self.head(bucket, key).await? else {
            return Ok(None);
        };
        let data =
            tokio::fs::read(self.objects(bucket).join(format!("{}.bin", hashed(key)))).await?;
        Ok(Some((meta, data)))
    }

    pub async fn put(&self, bucket: &str, meta: &ObjectMeta, data: &[u8]) -> io::Result<()> {
        let base = self.objects(bucket).join(hashed(&meta.key));
        write_atomic(&base.with_extension("bin"), data).await?;
        write_atomic(&base.with_extension("json"), &json(meta)).await
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> io::Result<()> {
        let base = self.objects(bucket).join(hashed(key));
        for ext in ["json", "bin"] {
            match tokio::fs::remove_file(base.with_extension(ext)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    pub async fn initiate(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        user_meta: Vec<(String, String)>,
    ) -> io::Result<UploadMeta> {
        let meta = UploadMeta {
            key: key.to_string(),
            upload_id: uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
            content_type: content_type.to_string(),
            user_meta,
            initiated: OffsetDateTime::now_utc(),
        };
        let dir = self.uploads(bucket).join(&meta.upload_id);
        tokio::fs::create_dir_all(&dir).await?;
        write_atomic(&dir.join("upload.json"), &json(&meta)).await?;
        Ok(meta)
    }

    /// The upload, if it exists and belongs to `key`.
    pub async fn upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> io::Result<Option<UploadMeta>> {
        if upload_id.is_empty() || !upload_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let meta: Option<UploadMeta> =
            read_json(&self.uploads(bucket).join(upload_id).join("upload.json")).await?;
        Ok(meta.filter(|m| m.key == key))
    }

    pub async fn put_part(
        &self,
        bucket: &str,
        upload_id: &str,
        number: u32,
        data: &[u8],
    ) -> io::Result<PartMeta> {
        let (etag, md5) = md5_etag(data);
        let meta = PartMeta {
            number,
            etag,
            size: data.len() as u64,
            md5,
            crc64: CRC64.checksum(data),
            last_modified: OffsetDateTime::now_utc(),
        };
        let dir = self.uploads(bucket).join(upload_id);
        write_atomic(&dir.join(format!("part-{number}.bin")), data).await?;
        write_atomic(&dir.join(format!("part-{number}.json")), &json(&meta)).await?;
        Ok(meta)
    }

    pub async fn parts(&self, bucket: &str, upload_id: &str) -> io::Result<Vec<PartMeta>> {
        let dir = self.uploads(bucket).join(upload_id);
        let mut out = Vec::new();
        let mut rd = tokio::fs::read_dir(&dir).await?;
        while let Some(e) = rd.next_entry().await? {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("part-")
                && name.ends_with(".json")
                && let Some(p) = read_json::<PartMeta>(&e.path()).await?
            {
                out.push(p);
            }
        }
        out.sort_by_key(|p| p.number);
        Ok(out)
    }

    pub async fn uploads_in(&self, bucket: &str) -> io::Result<Vec<UploadMeta>> {
        let mut out = Vec::new();
        let mut rd = tokio::fs::read_dir(self.uploads(bucket)).await?;
        while let Some(e) = rd.next_entry().await? {
            if let Some(m) = read_json::<UploadMeta>(&e.path().join("upload.json")).await? {
                out.push(m);
            }
        }
        out.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        Ok(out)
    }

    pub async fn abort(&self, bucket: &str, upload_id: &str) -> io::Result<()> {
        tokio::fs::remove_dir_all(self.uploads(bucket).join(upload_id)).await
    }

    /// Joins the listed parts into the object, as CompleteMultipartUpload does; every part but
    /// the last must hold `min_part_size` bytes (the dialect's limit).
    pub async fn complete(
        &self,
        bucket: &str,
        upload: &UploadMeta,
        listed: &[(u32, String)],
        min_part_size: u64,
    ) -> Result<(ObjectMeta, Vec<u8>), CompleteError> {
        let chosen = self
            .check_complete(bucket, upload, listed, min_part_size)
            .await?;
        Ok(self.merge(bucket, upload, &chosen).await?)
    }

    /// The stored parts a CompleteMultipartUpload list names, once its order, ETags and sizes
    /// hold (what can be refused before merging starts).
    pub async fn check_complete(
        &self,
        bucket: &str,
        upload: &UploadMeta,
        listed: &[(u32, String)],
        min_part_size: u64,
    ) -> Result<Vec<PartMeta>, CompleteError> {
        let stored = self.parts(bucket, &upload.upload_id).await?;
        let mut previous = 0u32;
        let mut chosen = Vec::with_capacity(listed.len());
        for (number, etag) in listed {
            if *number <= previous {
                return Err(CompleteError::InvalidPartOrder);
            }
            previous = *number;
            let etag = etag.trim().trim_matches('"').to_ascii_uppercase();
            let part = stored
                .iter()
                .find(|p| p.number == *number && p.etag == etag)
                .ok_or(CompleteError::InvalidPart(*number))?;
            chosen.push(part.clone());
        }
        if chosen.is_empty() {
            return Err(CompleteError::InvalidPart(0));
        }
        for p in &chosen[..chosen.len() - 1] {
            if p.size < min_part_size {
                return Err(CompleteError::EntityTooSmall(p.number));
            }
        }
        Ok(chosen)
    }

    /// Writes the object made of `chosen` and drops the upload.
    pub async fn merge(
        &self,
        bucket: &str,
        upload: &UploadMeta,
        chosen: &[PartMeta],
    ) -> io::Result<(ObjectMeta, Vec<u8>)> {
        let dir = self.uploads(bucket).join(&upload.upload_id);
        let mut data = Vec::new();
        let mut md5s = Vec::with_capacity(chosen.len() * 16);
        for p in chosen {
            data.extend(tokio::fs::read(dir.join(format!("part-{}.bin", p.number))).await?);
            md5s.extend_from_slice(&p.md5);
        }
        let meta = ObjectMeta {
            key: upload.key.clone(),
            size: data.len() as u64,
            etag: format!("{}-{}", md5_etag(&md5s).0, chosen.len()),
            content_type: upload.content_type.clone(),
            crc64: CRC64.checksum(&data),
            content_md5: None,
            appendable: false,
            user_meta: upload.user_meta.clone(),
            last_modified: OffsetDateTime::now_utc(),
        };
        self.put(bucket, &meta, &data).await?;
        self.abort(bucket, &upload.upload_id).await?;
        Ok((meta, data))
    }
}
