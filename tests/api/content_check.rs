//! Content checks on completion against `oss-local`: the gateway reads each arrived object's
//! first bytes with a signed ranged GET before recording it. Real PNG and JPEG files pass
//! (with their dimensions); an executable or a PDF declared as an image fails, and with
//! `delete_rejected` its object is gone from the store. Uploads go by presigned PUT, so the
//! store's own signed callback drives the record; confirm covers the storage-check path.

use crate::helpers::*;
use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with, json_of};
use crate::objects::{events_of, fixture, upload};
use reqwest::Method;
use serde_json::Value;

async fn checking_gateway(storage: &LocalStore) -> TestApp {
    gateway_with(storage, "v4", |raw| {
        let avatars = raw.profiles.get_mut("avatars").unwrap();
        avatars.content_check = true;
        avatars.delete_rejected = true;
        // Checked, but rejected objects stay.
        raw.profiles.get_mut("documents").unwrap().content_check = true;
    })
    .await
}

async fn record(app: &TestApp, user: &str, id: &str) -> Value {
    app.get_upload(user, id).await.json().await.unwrap()
}

async fn stored(storage: &LocalStore, rec: &Value) -> bool {
    let key = rec["key"].as_str().unwrap();
    storage
        .store
        .read_object(STORE_BUCKET, key)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn real_png_and_jpeg_files_pass_the_content_check_with_their_dimensions() {
    let storage = LocalStore::start().await;
    let app = checking_gateway(&storage).await;
    for (name, ct, w, h) in [
        ("tiny.png", "image/png", 7, 5),
        ("tiny.jpg", "image/jpeg", 16, 16),
    ] {
        let (status, answer, id) =
            upload(&app, "carol", "avatars", (name, ct), fixture(name)).await;
        assert_eq!(status, 200, "{name}: {answer}");
        assert_eq!(answer["status"], "completed", "{name}: {answer}");
        let rec = record(&app, "carol", &id).await;
        assert_eq!(rec["detected_type"], ct, "{rec}");
        assert_eq!(rec["image_info"]["width"], w, "{rec}");
        assert_eq!(rec["image_info"]["height"], h, "{rec}");
        assert!(stored(&storage, &rec).await);
        assert_eq!(events_of(&app, &id).await, ["upload.completed"]);
    }
    // The gateway read each object once, with a signed ranged GET the store verified.
    assert_eq!(storage.store.stats.get("GetObject"), 2);
}

#[tokio::test]
async fn an_executable_or_a_pdf_declared_as_an_image_fails_and_is_deleted_when_configured() {
    let storage = LocalStore::start().await;
    let app = checking_gateway(&storage).await;
    let mz = fixture("mz.bin");
    assert_eq!((mz.len(), &mz[..2]), (18, &b"MZ"[..]));
    for (data, why) in [
        (mz, "portable-executable"),
        (fixture("tiny.pdf"), "application/pdf"),
    ] {
        let (status, answer, id) =
            upload(&app, "mallory", "avatars", ("a.png", "image/png"), data).await;
        // The store reports the callback failed (the gateway refused the upload with 422).
        assert_ne!(answer["status"], "completed", "{status}: {answer}");
        let rec = record(&app, "mallory", &id).await;
        assert_eq!(rec["status"], "failed", "{rec}");
        assert!(rec["failure"].as_str().unwrap().contains(why), "{rec}");
        assert!(
            !stored(&storage, &rec).await,
            "the rejected object is still stored"
        );
        assert_eq!(events_of(&app, &id).await, ["upload.failed"]);
    }

    // Without delete_rejected the record fails the same way and the object stays.
    let (_, _, id) = upload(
        &app,
        "mallory",
        "documents",
        ("report.pdf", "application/pdf"),
        fixture("mz.bin"),
    )
    .await;
    let rec = record(&app, "mallory", &id).await;
    assert_eq!(rec["status"], "failed", "{rec}");
    assert!(stored(&storage, &rec).await);
    // A real PDF under the same profile completes.
    let (_, answer, _) = upload(
        &app,
        "mallory",
        "documents",
        ("report.pdf", "application/pdf"),
        fixture("tiny.pdf"),
    )
    .await;
    assert_eq!(answer["status"], "completed", "{answer}");
}

#[tokio::test]
async fn confirm_checks_content_and_deletes_objects_that_break_the_profile() {
    let storage = LocalStore::start().await;
    let app = checking_gateway(&storage).await;
    let presign = |size: usize| {
        app.as_user("dave", Method::POST, "/v1/uploads/presign")
            .json(
                &serde_json::json!({"profile": "avatars", "filename": "x.png",
                                      "content_type": "image/png", "size": size}),
            )
            .send()
    };
    let confirm = |id: String| {
        app.as_user("dave", Method::POST, &format!("/v1/uploads/{id}/confirm"))
            .send()
    };
    let put = |key: String, data: Vec<u8>| {
        let store = storage.store.clone();
        async move {
            store
                .put_object(STORE_BUCKET, &key, "image/png", &data)
                .await
                .unwrap()
        }
    };

    // Bytes of another type than declared, stored without a callback: confirm catches them.
    let (_, issued) = json_of(presign(18).await.unwrap()).await;
    let (id, key) = (
        issued["upload_id"].as_str().unwrap(),
        issued["key"].as_str().unwrap(),
    );
    put(key.to_string(), fixture("mz.bin")).await;
    let (status, code, _) = error_code(confirm(id.to_string()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    let rec = record(&app, "dave", id).await;
    assert_eq!(rec["status"], "failed");
    assert!(!stored(&storage, &rec).await);

    // A size rule broken (issue 13: objects that break the profile stay in storage): a real
    // PNG of another size than declared fails and, with delete_rejected, is deleted too.
    let (_, issued) = json_of(presign(1000).await.unwrap()).await;
    let (id, key) = (
        issued["upload_id"].as_str().unwrap(),
        issued["key"].as_str().unwrap(),
    );
    put(key.to_string(), fixture("tiny.png")).await;
    let (status, _, message) = error_code(confirm(id.to_string()).await.unwrap()).await;
    assert_eq!(status, 422);
    assert!(message.contains("declared"), "{message}");
    let rec = record(&app, "dave", id).await;
    assert!(!stored(&storage, &rec).await);

    // A genuine PNG completes through confirm, with what its bytes say.
    let png = fixture("tiny.png");
    let (_, issued) = json_of(presign(png.len()).await.unwrap()).await;
    let (id, key) = (
        issued["upload_id"].as_str().unwrap(),
        issued["key"].as_str().unwrap(),
    );
    put(key.to_string(), png).await;
    let (status, rec) = json_of(confirm(id.to_string()).await.unwrap()).await;
    assert_eq!(
        (status, rec["status"].as_str()),
        (200, Some("completed")),
        "{rec}"
    );
    assert_eq!(rec["detected_type"], "image/png");
    assert_eq!(events_of(&app, id).await, ["upload.completed"]);
}
