//! The callback body OSS sends once the object is stored: the system variables and the
//! `x:` variables, as JSON or as a form, depending on `callbackBodyType`. Parsed only after
//! the signature over the raw bytes has been checked.

use crate::domain::ImageInfo;
use crate::providers::CallbackFields;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("callback content type must be application/json or application/x-www-form-urlencoded")]
    ContentType,
    #[error("callback body: {0}")]
    Malformed(String),
}

/// The most variables a body may carry; OSS bodies hold a dozen.
const MAX_FIELDS: usize = 64;

pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<CallbackFields, BodyError> {
    let mime = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    let pairs: Vec<(String, String)> = match mime.as_deref() {
        Some("application/json") => json_pairs(body)?,
        Some("application/x-www-form-urlencoded") => {
            url::form_urlencoded::parse(body).into_owned().collect()
        }
        _ => return Err(BodyError::ContentType),
    };
    if pairs.len() > MAX_FIELDS {
        return Err(BodyError::Malformed(format!(
            "more than {MAX_FIELDS} fields"
        )));
    }
    from_pairs(pairs)
}

/// A JSON object's members in order, repeats kept (a `Map` would keep only the last one, and
/// so hide a repeated `size` or `x:ticket` from the check in [`from_pairs`]).
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = a.next_entry::<String, Value>()? {
                    if out.len() > MAX_FIELDS {
                        return Err(serde::de::Error::custom("too many fields"));
                    }
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, BodyError> {
    let Members(map) = serde_json::from_slice(body).map_err(|e| {
        BodyError::Malformed(if e.is_data() {
            "not a JSON object".into()
        } else {
            format!("not JSON: {e}")
        })
    })?;
    map.into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                _ => {
                    return Err(BodyError::Malformed(format!(
                        "field '{}' is not a scalar",
                        k.chars().take(40).collect::<String>()
                    )));
                }
            };
            Ok((k, text))
        })
        .collect()
}

fn from_pairs(pairs: Vec<(String, String)>) -> Result<CallbackFields, BodyError> {
    let mut fields = BTreeMap::new();
    let mut vars = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(name) = k.strip_prefix("x:") {
            if vars.insert(name.to_string(), v).is_some() {
                return Err(BodyError::Malformed(format!("variable x:{name} repeated")));
            }
        } else if fields.insert(k.clone(), v).is_some() {
            return Err(BodyError::Malformed(format!(
                "field '{}' repeated",
                k.chars().take(40).collect::<String>()
            )));
        }
    }
    let mut take = |name: &str| fields.remove(name).filter(|v| !v.is_empty());
    let bucket = take("bucket").ok_or_else(|| missing("bucket"))?;
    let object = take("object").ok_or_else(|| missing("object"))?;
    let size = take("size")
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| BodyError::Malformed("size is not a whole number".into()))
        })
        .transpose()?;
    let number = |v: Option<String>| v.and_then(|s| s.parse::<u32>().ok());
    let width = number(take("imageInfo.width"));
    let height = number(take("imageInfo.height"));
    let format = take("imageInfo.format");
    let image_info =
        (width.is_some() || height.is_some() || format.is_some()).then_some(ImageInfo {
            width,
            height,
            format,
        });
    Ok(CallbackFields {
        bucket,
        object,
        // OSS sends the ETag as in its response header, sometimes quoted.
        etag: take("etag").map(|e| e.trim_matches('"').to_ascii_uppercase()),
        size,
        mime_type: take("mimeType"),
        crc64: take("crc64"),
        content_md5: take("contentMd5"),
        image_info,
        vars,
    })
}

fn missing(name: &str) -> BodyError {
    BodyError::Malformed(format!("field '{name}' is missing or empty"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";

    #[test]
    fn form_bodies_as_oss_sends_them() {
        let body = b"bucket=b1&object=dir%2Ff%20g.jpg&etag=%22abc%22&size=5&mimeType=image%2Fjpeg\
&crc64=123&contentMd5=&imageInfo.height=&imageInfo.width=&imageInfo.format=&x%3Aupload_id=u1&x:ticket=t";
        let f = parse(Some(FORM), body).unwrap();
        assert_eq!(f.bucket, "b1");
        assert_eq!(f.object, "dir/f g.jpg");
        assert_eq!(f.etag.as_deref(), Some("ABC"));
        assert_eq!(f.size, Some(5));
        assert_eq!(f.mime_type.as_deref(), Some("image/jpeg"));
        assert_eq!(f.content_md5, None);
        assert_eq!(f.image_info, None);
        assert_eq!(f.vars["upload_id"], "u1");
        assert_eq!(f.vars["ticket"], "t");
    }

    #[test]
    fn json_bodies_take_numbers_or_strings() {
        let body = br#"{"bucket":"b1","object":"a/b.png","etag":"E1","size":1024,"mimeType":"image/png",
            "imageInfo.height":"480","imageInfo.width":640,"imageInfo.format":"png","x:upload_id":"u1"}"#;
        let f = parse(Some("application/json; charset=utf-8"), body).unwrap();
        assert_eq!(f.size, Some(1024));
        assert_eq!(
            f.image_info,
            Some(ImageInfo {
                width: Some(640),
                height: Some(480),
                format: Some("png".into())
            })
        );
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        assert_eq!(
            parse(Some("text/plain"), b"bucket=b"),
            Err(BodyError::ContentType)
        );
        assert_eq!(parse(None, b"bucket=b"), Err(BodyError::ContentType));
        for (ct, body) in [
            (FORM, &b"object=a"[..]),
            (FORM, b"bucket=b"),
            (FORM, b"bucket=b&object=a&size=-1"),
            (FORM, b"bucket=b&object=a&bucket=c"),
            (FORM, b"bucket=b&object=a&x:t=1&x:t=2"),
            (
                "application/json",
                br#"{"bucket":"b","object":"a","size":1,"size":9}"#,
            ),
            (
                "application/json",
                br#"{"bucket":"b","object":"a","x:t":"1","x:t":"2"}"#,
            ),
            ("application/json", b"[1]"),
            ("application/json", b"{\"bucket\":{}}"),
            ("application/json", b"{"),
        ] {
            assert!(
                matches!(parse(Some(ct), body), Err(BodyError::Malformed(_))),
                "{body:?}"
            );
        }
    }
}
