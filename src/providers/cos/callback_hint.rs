//! The body of COS's upload callback (`x-cos-callback`, open to allow-listed accounts only).
//! COS does not sign it, so none of it is believed: it names an upload and an object, and the
//! gateway asks storage (`uploads::hint`). The callback body template the gateway expects:
//! `bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&upload_id=${x:upload_id}`
//! (form, COS's default) or the same keys in JSON (`callbackBodyType: application/json`).

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackHint {
    pub upload_id: String,
    pub bucket: String,
    pub object: String,
    /// What the callback claims; storage must agree when present.
    pub etag: Option<String>,
    pub size: Option<u64>,
}

/// The hint in `body`, JSON when `content_type` says so, form-encoded otherwise.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<CallbackHint, String> {
    let json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let pairs: Vec<(String, String)> = if json {
        let v: Value = serde_json::from_slice(body).map_err(|e| format!("callback body: {e}"))?;
        let obj = v.as_object().ok_or("callback body: not a JSON object")?;
        obj.iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), s)
            })
            .collect()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    };
    let get = |names: &[&str]| {
        pairs
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let need = |names: &[&str]| get(names).ok_or(format!("callback body: no {}", names[0]));
    let object = need(&["object"])?;
    let size = get(&["size"])
        .map(|s| {
            s.parse::<u64>()
                .map_err(|_| format!("callback body: size {s:?}"))
        })
        .transpose()?;
    Ok(CallbackHint {
        upload_id: need(&["upload_id", "x:upload_id"])?,
        bucket: need(&["bucket"])?,
        // `${object}` may come with the path's leading slash.
        object: object.strip_prefix('/').unwrap_or(&object).to_string(),
        etag: get(&["etag"]).map(|e| e.trim_matches('"').to_string()),
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_and_json_bodies_give_the_same_hint() {
        let form =
            b"bucket=b-1250000000&object=%2Fdocs%2Fa%20b.txt&etag=%22ABC%22&size=5&upload_id=u1";
        let json = br#"{"bucket":"b-1250000000","object":"docs/a b.txt","etag":"ABC","size":5,"x:upload_id":"u1"}"#;
        let a = parse(Some("application/x-www-form-urlencoded"), form).unwrap();
        let b = parse(Some("application/json"), json).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.object, "docs/a b.txt");
        assert_eq!((a.etag.as_deref(), a.size), (Some("ABC"), Some(5)));
    }

    #[test]
    fn a_body_without_upload_bucket_or_object_or_with_a_bad_size_is_refused() {
        for body in [
            &b"bucket=b&object=k"[..],
            b"upload_id=u&object=k",
            b"upload_id=u&bucket=b",
            b"upload_id=u&bucket=b&object=k&size=-1",
        ] {
            assert!(
                parse(None, body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse(Some("application/json"), b"[1]").is_err());
    }
}
