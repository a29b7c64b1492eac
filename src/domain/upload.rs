//! The upload record: what the gateway issued, and what became of it.

use super::user::UserId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// Gateway-issued id of one upload (or one STS grant): 32 lower-case hex digits of a UUIDv7,
/// so ids sort by creation time.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UploadId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an upload id (32 lower-case hex digits)")]
pub struct UploadIdError(pub String);

impl UploadId {
    pub fn new() -> Self {
        UploadId(uuid::Uuid::now_v7().simple().to_string())
    }

    pub fn parse(s: &str) -> Result<Self, UploadIdError> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(UploadId(s.to_string()))
        } else {
            Err(UploadIdError(s.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for UploadId {
    fn default() -> Self {
        Self::new()
    }
}

impl TryFrom<String> for UploadId {
    type Error = UploadIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UploadId::parse(&s)
    }
}

impl From<UploadId> for String {
    fn from(u: UploadId) -> String {
        u.0
    }
}

impl fmt::Debug for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UploadId({})", self.0)
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Life cycle of an upload record; `deleted`: the owner deleted the completed object.
    UploadStatus {
        Issued => "issued",
        Uploading => "uploading",
        Completed => "completed",
        Failed => "failed",
        Aborted => "aborted",
        Expired => "expired",
        Deleted => "deleted",
    }
);

impl UploadStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            UploadStatus::Completed
                | UploadStatus::Failed
                | UploadStatus::Aborted
                | UploadStatus::Expired
                | UploadStatus::Deleted
        )
    }
}

string_enum!(
    /// Which kind of right created the record.
    UploadKind {
        Presign => "presign",
        Append => "append",
        Form => "form",
        Sts => "sts",
        Multipart => "multipart",
    }
);

/// One upload as the store keeps it. Field names are the public JSON names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub id: UploadId,
    pub user: UserId,
    pub profile: String,
    pub provider: String,
    pub bucket: String,
    pub key: String,
    pub kind: UploadKind,
    pub status: UploadStatus,
    /// Size the client declared when it asked for the right.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_size: Option<u64>,
    /// Size of the stored object, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_info: Option<ImageInfo>,
    /// What the object's first bytes are (profiles with `content_check`), when recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    /// Storage-side multipart upload id (multipart uploads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_upload_id: Option<String>,
    /// Planned part size and count (multipart uploads with a declared size only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_count: Option<u32>,
    /// The STS grant an object arrived under (records created by STS callbacks only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<UploadId>,
    /// Why the upload failed (status `failed` only), e.g. a callback over the size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Id of the record's latest event in its stream: the completion (`upload.completed` or
    /// `upload.failed`), then `upload.deleted` once the owner deletes the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the issued right stops working; past it an unfinished upload is `expired`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<OffsetDateTime>,
    /// A size limit below the profile's that the pre-upload hook set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    /// Metadata the pre-upload hook added (the client cannot set it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hook_metadata: BTreeMap<String, String>,
    /// Quota scopes this upload counts against (a reservation is held under its id until it
    /// is settled on completion or released).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quota: Vec<String>,
}

/// Where an issued record points: (profile, provider kind, bucket, object key or prefix).
pub struct RecordTarget<'a> {
    pub profile: &'a str,
    pub provider: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
}

impl UploadRecord {
    /// A fresh record in status `issued`, with nothing known about the object yet.
    pub fn issued(
        id: UploadId,
        user: UserId,
        kind: UploadKind,
        target: RecordTarget<'_>,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> UploadRecord {
        UploadRecord {
            id,
            user,
            profile: target.profile.to_string(),
            provider: target.provider.to_string(),
            bucket: target.bucket.to_string(),
            key: target.key.to_string(),
            kind,
            status: UploadStatus::Issued,
            declared_size: None,
            size: None,
            etag: None,
            content_type: None,
            crc64: None,
            content_md5: None,
            image_info: None,
            detected_type: None,
            vars: BTreeMap::new(),
            storage_upload_id: None,
            part_size: None,
            part_count: None,
            grant_id: None,
            failure: None,
            event_id: None,
            created_at: now,
            updated_at: now,
            expires_at,
            completed_at: None,
            max_size: None,
            hook_metadata: BTreeMap::new(),
            quota: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImageInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_validated_and_time_ordered() {
        let a = UploadId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = UploadId::new();
        assert!(a < b);
        assert!(UploadId::parse(a.as_str()).is_ok());
        for bad in [
            "",
            "XYZ",
            "0123456789abcdef0123456789ABCDEF",
            "../../../../../../../../../../..",
        ] {
            assert!(UploadId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in UploadStatus::ALL {
            assert_eq!(s.as_str().parse::<UploadStatus>().unwrap(), *s);
        }
        assert!("done".parse::<UploadStatus>().is_err());
    }
}
