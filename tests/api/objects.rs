//! The owner's objects end to end against `oss-local` (which checks every signature and
//! calls the gateway back with signed callbacks): uploads by presigned PUT, then download
//! URLs and deletes; only the owner's completed uploads.

use crate::helpers::*;
use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with, json_of};
use crate::store_harness::stream_events;
use reqwest::Method;
use serde_json::{Value, json};

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("content").join(name)).unwrap()
}

/// Presigns `data` under `profile` as `user` and PUTs it as a client would; returns the
/// PUT's status, the answer storage relayed (the gateway's callback answer) and the id.
pub async fn upload(
    app: &TestApp,
    user: &str,
    profile: &str,
    (filename, content_type): (&str, &str),
    data: Vec<u8>,
) -> (u16, Value, String) {
    let (status, issued) = json_of(
        app.as_user(user, Method::POST, "/v1/uploads/presign")
            .json(&json!({"profile": profile, "filename": filename,
                          "content_type": content_type, "size": data.len()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let mut put = app.client.put(issued["url"].as_str().unwrap()).body(data);
    for (k, v) in issued["headers"].as_object().unwrap() {
        if !k.eq_ignore_ascii_case("content-length") {
            put = put.header(k, v.as_str().unwrap());
        }
    }
    let (status, answer) = json_of(put.send().await.unwrap()).await;
    let id = issued["upload_id"].as_str().unwrap().to_string();
    (status, answer, id)
}

pub async fn events_of(app: &TestApp, id: &str) -> Vec<String> {
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    stream_events(&mut c, &app.prefix)
        .await
        .into_iter()
        .filter(|e| e["upload_id"] == id)
        .map(|e| e["type"].clone())
        .collect()
}

#[tokio::test]
async fn the_owner_downloads_and_deletes_a_completed_upload_and_nobody_else_can() {
    let storage = LocalStore::start().await;
    let app = gateway_with(&storage, "v4", |_| {}).await;
    let png = fixture("tiny.png");
    let (status, answer, id) = upload(
        &app,
        "alice",
        "avatars",
        ("me.png", "image/png"),
        png.clone(),
    )
    .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("completed"))
    );
    let download = |user: &'static str, query: &'static str| {
        app.as_user(
            user,
            Method::GET,
            &format!("/v1/uploads/{id}/download{query}"),
        )
        .send()
    };

    // A plain download URL fetches the bytes; it expires within the profile's default.
    let resp = download("alice", "").await.unwrap();
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let (status, d) = json_of(resp).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["method"], "GET");
    let got = app
        .client
        .get(d["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.headers().get("content-disposition").is_none());
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);

    // With a disposition: storage answers with the signed, sanitised header.
    let (_, d) = json_of(
        download(
            "alice",
            "?disposition=attachment&filename=r%C3%A9sum%C3%A9%22%3B%20x%3Dy.png",
        )
        .await
        .unwrap(),
    )
    .await;
    let got = app
        .client
        .get(d["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"r_sum__; x_y.png\"; filename*=UTF-8''r%C3%A9sum%C3%A9_%3B%20x_y.png"
    );
    // The disposition is signed: changing it breaks the URL.
    let tampered = d["url"].as_str().unwrap().replace("attachment", "inline");
    assert_eq!(app.client.get(tampered).send().await.unwrap().status(), 403);
    let (status, code, _) = error_code(download("alice", "?disposition=save").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "invalid-query"));

    // Anybody else: 404, for downloads and deletes alike; nothing is deleted.
    assert_eq!(error_code(download("bob", "").await.unwrap()).await.0, 404);
    let delete = |user: &'static str, id: String| {
        app.as_user(user, Method::DELETE, &format!("/v1/uploads/{id}"))
            .send()
    };
    let (status, code, _) = error_code(delete("bob", id.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "not-found"));
    let key = answer["key"].as_str().unwrap().to_string();
    assert!(
        storage
            .store
            .read_object(STORE_BUCKET, &key)
            .await
            .unwrap()
            .is_some()
    );

    // The owner deletes: the object is gone, the record `deleted`, one upload.deleted event.
    let (status, rec) = json_of(delete("alice", id.clone()).await.unwrap()).await;
    assert_eq!(
        (status, rec["status"].as_str()),
        (200, Some("deleted")),
        "{rec}"
    );
    assert!(
        storage
            .store
            .read_object(STORE_BUCKET, &key)
            .await
            .unwrap()
            .is_none()
    );
    let (_, again) = json_of(delete("alice", id.clone()).await.unwrap()).await;
    assert_eq!(again["updated_at"], rec["updated_at"]);
    let rec: Value = app.get_upload("alice", &id).await.json().await.unwrap();
    assert_eq!(rec["status"], "deleted");
    assert_eq!(
        events_of(&app, &id).await,
        ["upload.completed", "upload.deleted"]
    );
    let (status, code, _) = error_code(download("alice", "").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "upload-not-completed"));

    // Not completed yet: 409 for both.
    let (status, issued) = json_of(
        app.as_user("alice", Method::POST, "/v1/uploads/presign")
            .json(&json!({"profile": "avatars", "filename": "later.png",
                          "content_type": "image/png", "size": 10}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let pending = issued["upload_id"].as_str().unwrap().to_string();
    let (status, code, _) = error_code(delete("alice", pending.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "upload-not-completed"));
}
