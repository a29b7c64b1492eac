//! `POST /v1/callbacks/cos`: COS's unsigned upload callback as a hint. The gateway HEADs the
//! object and completes the record only when storage shows the upload's object (its key, its
//! x-cos-meta binding, the size and ETag the callback claims); anything else is a 4xx with a
//! stable code and the record stays as it was.

use crate::cos::{COS_BUCKET, COS_REGION, CosStore, cos_gateway, post, send_signed};
use crate::helpers::*;
use crate::multipart::{STORE_AK, json_of};
use md5::{Digest, Md5};
use reqwest::Method;
use serde_json::{Value, json};
use upload_gateway::providers::cos::{BucketName, CosLocation, Credentials, KeyTime, presign};

/// The callback as COS sends it with the documented template (form, COS's default type).
async fn hint(app: &TestApp, form: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}/v1/callbacks/cos", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap();
    json_of(resp).await
}

fn form(id: &str, object: &str, etag: &str, size: usize) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "bucket={COS_BUCKET}&object={}&etag={}&size={size}&upload_id={id}",
        enc(object),
        enc(etag)
    )
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let resp = app
        .as_user("hana", Method::GET, &format!("/v1/uploads/{id}"))
        .send()
        .await
        .unwrap();
    json_of(resp).await.1["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_cos_callback_completes_the_upload_only_when_storage_shows_its_object() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (status, r) = post(
        &app,
        "hana",
        "/v1/uploads/presign",
        json!({"profile": "cosdocs", "filename": "hint.txt", "content_type": "text/plain", "size": 5}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let (id, key) = (r["upload_id"].as_str().unwrap(), r["key"].as_str().unwrap());
    let md5 = format!("\"{}\"", hex::encode(Md5::digest(b"hint\n")));

    // Before the object is there: storage does not agree, nothing recorded.
    let (status, v) = hint(&app, &form(id, key, &md5, 5)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("object-missing")),
        "{v}"
    );
    assert_eq!(
        send_signed(&app, &r, b"hint\n".to_vec()).await.status(),
        200
    );

    let other = "01a2341fb568758097364ce49a2ae51b";
    for (body, want) in [
        (
            form(id, "cosdocs/hana/other.txt", &md5, 5),
            (403, "callback-binding-mismatch"),
        ),
        (
            form(id, key, "\"00000000000000000000000000000000\"", 5),
            (403, "callback-binding-mismatch"),
        ),
        (form(id, key, &md5, 6), (403, "callback-binding-mismatch")),
        (form(other, key, &md5, 5), (404, "not-found")),
        (form("not-an-id", key, &md5, 5), (404, "not-found")),
        (
            format!("bucket={COS_BUCKET}&object={key}"),
            (400, "callback-malformed"),
        ),
    ] {
        let (status, v) = hint(&app, &body).await;
        assert_eq!(
            (status, v["code"].as_str().unwrap_or("")),
            want,
            "{body}: {v}"
        );
        assert_eq!(status_of(&app, id).await, "issued", "{body}");
    }

    // What storage shows: completed, with the callback answer COS relays to the client.
    let (status, v) = hint(&app, &form(id, &format!("/{key}"), &md5, 5)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["upload_id"].as_str(), v["status"].as_str()),
        (Some(id), Some("completed"))
    );
    assert_eq!(status_of(&app, id).await, "completed");
    // Delivered again (COS retries): the same answer, nothing new.
    let (status, again) = hint(&app, &form(id, key, &md5, 5)).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("completed")),
        "{again}"
    );
}

#[tokio::test]
async fn a_cos_callback_for_an_object_without_the_uploads_binding_is_refused() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (_, r) = post(
        &app,
        "hana",
        "/v1/uploads/presign",
        json!({"profile": "cosdocs", "filename": "a.txt", "content_type": "text/plain", "size": 3}),
    )
    .await;
    let (id, key) = (r["upload_id"].as_str().unwrap(), r["key"].as_str().unwrap());
    // Somebody with the bucket's own key writes the upload's key without its binding.
    let loc = CosLocation::with_endpoint(
        BucketName::parse(COS_BUCKET).unwrap(),
        COS_REGION,
        &store.url(),
    )
    .unwrap();
    let creds = Credentials {
        secret_id: STORE_AK,
        secret_key: OSS_ACCESS_KEY_SECRET,
        security_token: None,
    };
    let p = presign::presign_upload(
        &loc,
        creds,
        &presign::UploadRequest {
            op: presign::UploadOp::Put,
            key,
            content_type: None,
            content_md5: None,
            content_length: None,
            extra_headers: &[],
            key_time: KeyTime::around(now(), 600, 60),
        },
    );
    assert_eq!(
        app.client
            .put(&p.url)
            .body("abc")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // JSON this time (callbackBodyType application/json), the claims matching storage.
    let md5 = hex::encode(Md5::digest(b"abc"));
    let body =
        json!({"bucket": COS_BUCKET, "object": key, "etag": md5, "size": 3, "upload_id": id});
    let resp = app
        .client
        .post(format!("{}/v1/callbacks/cos", app.address))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("object-binding-mismatch")),
        "{v}"
    );
    assert_eq!(status_of(&app, id).await, "issued");
}
