//! COS PostObject in both modes: a signed `policy` (q-signature over hex(SHA1(policy text))),
//! or, as the mini-program SDK sends it, a `Signature` field holding an ordinary q-sign
//! authorization over `POST /`. Expiry and conditions are the shared checks of
//! `crate::form`, with the policy's `q-sign-time` read from the `q-key-time` field.

use super::auth::{secret_for, verify};
use super::conditions::RequestFacts;
use super::error::policy_error;
use super::object::object_meta;
use super::{CosState, etag, sign};
use crate::disk::ObjectMeta;
use crate::error::ApiError;
use crate::form::{self, Form, PolicyError};
use crate::http::{Parsed, set_header};
use crate::xml;
use actix_web::HttpResponse;
use time::OffsetDateTime;

/// Checks a policy-mode form signed with `secret`; returns the key to store.
pub fn check_policy_form(
    form: &Form,
    secret: &str,
    bucket: &str,
    now: OffsetDateTime,
) -> Result<String, PolicyError> {
    let need = |k: &str| {
        form.field(k)
            .ok_or_else(|| PolicyError::Invalid(format!("the {k} field is required")))
    };
    if need("q-sign-algorithm")? != "sha1" {
        return Err(PolicyError::Invalid("q-sign-algorithm must be sha1".into()));
    }
    let key_time = need("q-key-time")?;
    let (text, policy) = form::decode_policy(need("policy")?)?;
    let expected = sign::policy_signature(secret, key_time, &text);
    if !sign::equal(&expected, need("q-signature")?) {
        return Err(PolicyError::Mismatch);
    }
    let end: i64 = key_time
        .split_once(';')
        .and_then(|(_, e)| e.parse().ok())
        .ok_or_else(|| PolicyError::Invalid("q-key-time must be <start>;<end>".into()))?;
    if now.unix_timestamp() > end {
        return Err(PolicyError::Expired);
    }
    form::check_policy(&policy, form, bucket, now, &[("q-sign-time", "q-key-time")])
}

pub(super) async fn post_object(
    p: &Parsed,
    body: &[u8],
    state: &CosState,
    rid: &str,
) -> Result<HttpResponse, ApiError> {
    let ct = p.header("content-type").unwrap_or_default();
    let form = form::parse(ct, body.to_vec())
        .await
        .map_err(|m| ApiError::new(400, "MalformedPOSTRequest", m))?;
    let key = form::form_key(&form).map_err(policy_error)?;
    let token = form
        .field("x-cos-security-token")
        .or_else(|| p.header("x-cos-security-token"));
    let now = OffsetDateTime::now_utc();
    // What CAM sees of a form POST: the request's length and the object's type field.
    let facts = RequestFacts {
        content_type: form.field("Content-Type").filter(|c| !c.is_empty()),
        content_length: p.header("content-length").and_then(|v| v.parse().ok()),
    };
    if form.field("policy").is_some() {
        let ak = form.field("q-ak").ok_or_else(super::error::access_denied)?;
        let secret = secret_for(state, ak, token, &p.bucket, "PostObject", &key, &facts)?;
        check_policy_form(&form, &secret, &p.bucket, now).map_err(policy_error)?;
    } else {
        let signature = form
            .field("Signature")
            .or_else(|| p.header("authorization"))
            .ok_or_else(super::error::access_denied)?;
        let auth = sign::parse_header(signature).map_err(super::error::sign_error)?;
        let secret = secret_for(
            state,
            &auth.ak,
            token,
            &p.bucket,
            "PostObject",
            &key,
            &facts,
        )?;
        verify(p, &auth, &secret, "/")?;
    }
    let meta = ObjectMeta {
        user_meta: form
            .fields
            .iter()
            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-cos-meta-"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect(),
        // COS ignores the file part's own MIME type: the field sets it.
        ..object_meta(
            &key,
            &form.file,
            form.field("Content-Type")
                .filter(|c| !c.is_empty())
                .unwrap_or("application/octet-stream")
                .to_string(),
        )
    };
    state
        .store
        .disk
        .put(&p.bucket, &meta, &form.file)
        .await
        .map_err(ApiError::internal)?;
    let location = format!(
        "http://{}.cos.{}.myqcloud.com/{}",
        p.bucket,
        state.config.region,
        sign::encode(&key).replace("%2F", "/")
    );
    let status = match form.field("success_action_status") {
        Some("200") => 200,
        Some("201") => 201,
        _ => 204,
    };
    let mut resp = if let Some(url) = form.field("success_action_redirect") {
        let sep = if url.contains('?') { '&' } else { '?' };
        HttpResponse::SeeOther()
            .insert_header((
                "location",
                format!(
                    "{url}{sep}bucket={}&key={}&etag={}",
                    sign::encode(&p.bucket),
                    sign::encode(&key),
                    sign::encode(&etag(&meta.etag))
                ),
            ))
            .finish()
    } else if status == 201 {
        HttpResponse::Created()
            .insert_header(("content-type", "application/xml"))
            .body(format!(
                "{}\n<PostResponse>{}</PostResponse>\n",
                xml::DECL,
                xml::elements(&[
                    ("Location", &location),
                    ("Bucket", &p.bucket),
                    ("Key", &key),
                    ("ETag", &etag(&meta.etag)),
                ])
            ))
    } else {
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("valid")).finish()
    };
    set_header(&mut resp, "etag", &etag(&meta.etag));
    if status != 201 {
        set_header(&mut resp, "location", &location);
    }
    tracing::debug!(rid, "cos post object stored");
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The doc's example form verifies at its time, with the file under the policy's prefix
    /// and content type; another secret, a key outside the prefix or a later time fail.
    #[test]
    fn the_doc_example_form_verifies_and_fails_with_another_secret() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/vectors/cos_post_policy.json");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        let fields = |key: &str| {
            vec![
                ("key".to_string(), key.to_string()),
                ("acl".into(), "default".into()),
                ("Content-Type".into(), "image/png".into()),
                (
                    "success_action_redirect".into(),
                    "https://my.website/done".into(),
                ),
                ("x-cos-server-side-encryption".into(), "AES256".into()),
                ("policy".into(), s("policy_b64")),
                ("q-sign-algorithm".into(), "sha1".into()),
                ("q-ak".into(), s("secret_id")),
                ("q-key-time".into(), s("key_time")),
                ("q-signature".into(), s("q_signature")),
            ]
        };
        let form = |key: &str| Form {
            fields: fields(key),
            file_name: Some("a.png".into()),
            file_type: None,
            file: vec![7; 10],
        };
        let start: i64 = s("key_time").split(';').next().unwrap().parse().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(start + 60).unwrap();
        let bucket = "examplebucket-1250000000";
        let ok = form("folder/subfolder/${filename}");
        assert_eq!(
            check_policy_form(&ok, &s("secret_key"), bucket, now),
            Ok("folder/subfolder/a.png".to_string())
        );
        assert_eq!(
            check_policy_form(&ok, "BQYIM75p8x0iWVFSIgqEKwFprpRSVHly", bucket, now),
            Err(PolicyError::Mismatch)
        );
        assert!(matches!(
            check_policy_form(&form("elsewhere/a.png"), &s("secret_key"), bucket, now),
            Err(PolicyError::Condition(_))
        ));
        let later = now + time::Duration::days(1);
        assert_eq!(
            check_policy_form(&ok, &s("secret_key"), bucket, later),
            Err(PolicyError::Expired)
        );
    }
}
