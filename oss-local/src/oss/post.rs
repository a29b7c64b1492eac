//! OSS PostObject: the form's `policy` must be signed (V1: base64 HMAC-SHA1 of the policy
//! text; V4: hex HMAC-SHA256 with the V4 signing key); expiry and conditions are the shared
//! checks of `crate::form`.

use super::error::oss_error;
use super::{object, sign};
use crate::disk::{self, ObjectMeta};
use crate::error::ApiError;
use crate::form::{self, Form, PolicyError};
use crate::http::{Parsed, etag_header};
use crate::store::Store;
use crate::{callback, xml};
use actix_web::HttpResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Who signed the policy and how, from the form fields.
pub struct PostAuth {
    pub access_key_id: String,
    pub security_token: Option<String>,
    v4: Option<(String, String)>,
}

pub fn auth_of(form: &Form) -> Result<PostAuth, PolicyError> {
    let token = form.field("x-oss-security-token").map(String::from);
    if let Some(cred) = form.field("x-oss-credential") {
        let date = form.field("x-oss-date").ok_or_else(|| {
            PolicyError::Invalid("x-oss-date is required with x-oss-credential".into())
        })?;
        if form.field("x-oss-signature-version") != Some(sign::V4_ALGORITHM) {
            return Err(PolicyError::Invalid(
                "x-oss-signature-version must be OSS4-HMAC-SHA256".into(),
            ));
        }
        return Ok(PostAuth {
            access_key_id: cred.split('/').next().unwrap_or("").to_string(),
            security_token: token,
            v4: Some((cred.to_string(), date.to_string())),
        });
    }
    match form.field("OSSAccessKeyId") {
        Some(ak) => Ok(PostAuth {
            access_key_id: ak.to_string(),
            security_token: token,
            v4: None,
        }),
        None => Err(PolicyError::Anonymous),
    }
}

/// Checks the policy's signature, expiry and conditions; returns the object key to store.
pub fn check(
    form: &Form,
    auth: &PostAuth,
    secret: &str,
    bucket: &str,
    region: &str,
    now: OffsetDateTime,
) -> Result<String, PolicyError> {
    let policy_b64 = form
        .field("policy")
        .ok_or_else(|| PolicyError::Invalid("the policy field is required".into()))?;
    let provided = match &auth.v4 {
        None => form.field("Signature"),
        Some(_) => form.field("x-oss-signature"),
    }
    .ok_or_else(|| PolicyError::Invalid("the signature field is required".into()))?;
    let expected = match &auth.v4 {
        None => {
            let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key");
            mac.update(policy_b64.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Some((cred, date)) => {
            let parts: Vec<&str> = cred.split('/').collect();
            if parts.len() != 5 || !date.starts_with(parts[1]) || parts[2] != region {
                return Err(PolicyError::Invalid(
                    "x-oss-credential must be <ak>/<date>/<this region>/oss/aliyun_v4_request"
                        .into(),
                ));
            }
            let key = sign::v4_signing_key(secret, parts[1], region);
            hex::encode(sign::hmac256(&key, policy_b64.as_bytes()))
        }
    };
    if !bool::from(expected.as_bytes().ct_eq(provided.as_bytes())) {
        return Err(PolicyError::Mismatch);
    }
    let (_, policy) = form::decode_policy(policy_b64)?;
    form::check_policy(&policy, form, bucket, now, &[])
}

pub(super) async fn post_object(
    p: &Parsed,
    body: &[u8],
    store: &Store,
    rid: &str,
) -> Result<HttpResponse, ApiError> {
    let ct = p.header("content-type").unwrap_or_default();
    let form = form::parse(ct, body.to_vec())
        .await
        .map_err(|m| ApiError::new(400, "MalformedPOSTRequest", m))?;
    let auth = match auth_of(&form) {
        Ok(a) => a,
        Err(PolicyError::Anonymous) => {
            return Err(ApiError::new(
                403,
                "AccessDenied",
                "You have no right to access this object because of bucket acl.",
            ));
        }
        Err(e) => return Err(oss_error(e)),
    };
    let claimed = sign::Claimed {
        access_key_id: auth.access_key_id.clone(),
        security_token: auth.security_token.clone(),
        form: sign::SignatureForm::V1Query,
    };
    let raw_key = form.field("key").unwrap_or_default().to_string();
    let secret = super::auth::secret_for(store, &claimed, &raw_key, &p.bucket)?;
    let key = check(
        &form,
        &auth,
        &secret,
        &p.bucket,
        &store.config.region,
        OffsetDateTime::now_utc(),
    )
    .map_err(oss_error)?;
    // `${filename}` may have changed the key: a temporary credential must still cover it.
    super::auth::secret_for(store, &claimed, &key, &p.bucket)?;
    let vars: Vec<(String, String)> = form
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with("x:"))
        .cloned()
        .collect();
    let spec = form
        .field("callback")
        .map(|c| {
            callback::parse_with_vars(c, vars).map_err(|m| ApiError::new(400, "InvalidArgument", m))
        })
        .transpose()?;
    let content_type = form
        .field("Content-Type")
        .map(String::from)
        .or(form.file_type.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    let meta = ObjectMeta {
        key: key.clone(),
        size: form.file.len() as u64,
        etag: disk::md5_etag(&form.file).0,
        content_type,
        crc64: disk::CRC64.checksum(&form.file),
        content_md5: None,
        appendable: false,
        user_meta: Vec::new(),
        last_modified: OffsetDateTime::now_utc(),
    };
    store
        .disk
        .put(&p.bucket, &meta, &form.file)
        .await
        .map_err(ApiError::internal)?;
    let status = match form.field("success_action_status") {
        Some("200") => 200,
        Some("201") => 201,
        _ => 204,
    };
    let mut ok = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("valid"));
    ok.insert_header(etag_header(&meta.etag));
    let ok = if status == 201 {
        ok.insert_header(("content-type", "application/xml"))
            .body(format!(
                "{}\n<PostResponse>{}</PostResponse>\n",
                xml::DECL,
                xml::elements(&[
                    ("Bucket", &p.bucket),
                    ("Key", &key),
                    ("ETag", &format!("\"{}\"", meta.etag))
                ])
            ))
    } else {
        ok.finish()
    };
    let pp = Parsed { key, ..p.clone() };
    Ok(object::finish_upload(store, &pp, spec, &meta, rid, ok).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every PostObject vector (computed by ali-oss) passes with its fields and secret at
    /// its time, fails with another secret, and fails once expired.
    #[test]
    fn ali_oss_post_vectors_verify() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/vectors/oss_post_policy.json");
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(doc["now_unix"].as_i64().unwrap()).unwrap();
        let (bucket, region) = (
            doc["bucket"].as_str().unwrap(),
            doc["region"].as_str().unwrap(),
        );
        let mut n = 0;
        for v in doc["vectors"].as_array().unwrap() {
            let mut form = Form {
                fields: v["form_fields"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect(),
                file_name: Some("avatar.png".into()),
                file_type: None,
                file: vec![1; 100],
            };
            let auth = auth_of(&form).unwrap();
            let secret = v["access_key_secret"].as_str().unwrap();
            let key = check(&form, &auth, secret, bucket, region, now)
                .unwrap_or_else(|e| panic!("{}: {e:?}", v["name"]));
            assert_eq!(Some(key.as_str()), form.field("key"));
            assert_eq!(
                check(&form, &auth, "other", bucket, region, now),
                Err(PolicyError::Mismatch)
            );
            assert_eq!(
                check(
                    &form,
                    &auth,
                    secret,
                    bucket,
                    region,
                    now + time::Duration::days(1)
                ),
                Err(PolicyError::Expired)
            );
            // The key outside the policy's prefix, and an empty file under content-length-range.
            form.fields.retain(|(k, _)| k != "key");
            form.fields.push(("key".into(), "user/43/x.png".into()));
            assert!(matches!(
                check(&form, &auth, secret, bucket, region, now),
                Err(PolicyError::Condition(_))
            ));
            n += 1;
        }
        assert_eq!(n, 4);
    }
}
