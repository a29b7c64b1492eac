//! S3 event notification records (the `Message` of an SNS notification, or a MinIO
//! webhook's `Records`): bucket, decoded key, size, ETag.

use percent_encoding::percent_decode_str;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3EventError {
    #[error("not an S3 event document")]
    Malformed,
    #[error("object key is not valid URL-encoded UTF-8")]
    Key,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Event {
    /// Sent once when notifications are configured; nothing happened to any object.
    Test {
        bucket: Option<String>,
    },
    Records(Vec<S3Record>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Record {
    /// Without MinIO's `s3:` prefix, e.g. `ObjectCreated:Put`.
    pub event_name: String,
    pub bucket: String,
    /// Decoded: S3 writes keys form-encoded (`+` is a space).
    pub key: String,
    pub size: Option<u64>,
    pub etag: Option<String>,
    /// Orders events of one key (hex, compare after left-padding).
    pub sequencer: Option<String>,
    pub event_time: Option<String>,
}

impl S3Record {
    pub fn is_object_created(&self) -> bool {
        self.event_name.starts_with("ObjectCreated:")
    }
}

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "Bucket")]
    bucket: Option<String>,
    #[serde(rename = "Records")]
    records: Option<Vec<RecordDoc>>,
}

#[derive(Deserialize)]
struct RecordDoc {
    #[serde(rename = "eventName")]
    event_name: String,
    #[serde(rename = "eventTime")]
    event_time: Option<String>,
    s3: S3Doc,
}

#[derive(Deserialize)]
struct S3Doc {
    bucket: BucketDoc,
    object: ObjectDoc,
}

#[derive(Deserialize)]
struct BucketDoc {
    name: String,
}

#[derive(Deserialize)]
struct ObjectDoc {
    key: String,
    size: Option<u64>,
    #[serde(rename = "eTag")]
    etag: Option<String>,
    sequencer: Option<String>,
}

/// `+` first, then `%XX`: an encoded plus (`%2B`) stays a plus.
pub fn decode_key(raw: &str) -> Result<String, S3EventError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| S3EventError::Key)
}

pub fn parse(message: &str) -> Result<S3Event, S3EventError> {
    let doc: Doc = serde_json::from_str(message).map_err(|_| S3EventError::Malformed)?;
    if doc.event.as_deref() == Some("s3:TestEvent") {
        return Ok(S3Event::Test { bucket: doc.bucket });
    }
    let records = doc.records.ok_or(S3EventError::Malformed)?;
    records
        .into_iter()
        .map(|r| {
            Ok(S3Record {
                event_name: r
                    .event_name
                    .strip_prefix("s3:")
                    .unwrap_or(&r.event_name)
                    .to_string(),
                bucket: r.s3.bucket.name,
                key: decode_key(&r.s3.object.key)?,
                size: r.s3.object.size,
                etag: r.s3.object.etag.map(|e| e.trim_matches('"').to_string()),
                sequencer: r.s3.object.sequencer,
                event_time: r.event_time,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(S3Event::Records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_plus_as_space_and_keep_encoded_plus() {
        assert_eq!(decode_key("a+b%2Bc/%E7%9B%AE.jpg").unwrap(), "a b+c/目.jpg");
        assert_eq!(decode_key("bad%FF"), Err(S3EventError::Key));
    }

    #[test]
    fn test_events_and_minio_names_are_recognised() {
        let t = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2023-11-14T22:13:20.000Z","Bucket":"examplebucket","RequestId":"R","HostId":"H"}"#;
        assert_eq!(
            parse(t).unwrap(),
            S3Event::Test {
                bucket: Some("examplebucket".into())
            }
        );
        let minio = r#"{"EventName":"s3:ObjectCreated:Put","Key":"b/a b","Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"a+b","size":3,"eTag":"\"e\""}}}]}"#;
        let S3Event::Records(r) = parse(minio).unwrap() else {
            panic!("records expected")
        };
        assert_eq!(
            (r[0].event_name.as_str(), r[0].key.as_str()),
            ("ObjectCreated:Put", "a b")
        );
        assert!(r[0].is_object_created());
        assert_eq!(r[0].etag.as_deref(), Some("e"));
        assert_eq!(parse(r#"{"Event":"x"}"#), Err(S3EventError::Malformed));
    }
}
