//! The entry point storage notifications (S3 events via SNS, MinIO webhooks) use, against
//! Garage: `Uploads::complete_from_storage(bucket, key)` lets HeadObject and the object's
//! binding decide, so duplicates change nothing and unbound objects complete nothing.

use crate::garage::spawn_garage;
use crate::helpers::{TestApp, spawn_app_with};
use crate::s3::{add_s3_bucket, post, s3_gateway, send_signed};
use serde_json::json;

/// The entry point a storage notification (SNS, MinIO webhook) calls with just bucket and
/// key: HeadObject decides, duplicates change nothing, unbound objects complete nothing.
#[tokio::test]
async fn an_object_named_only_by_key_is_completed_from_garages_head_object() {
    use upload_gateway::uploads::confirm::Outcome;
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let uploads = &app.app_state.uploads;
    assert_eq!(
        uploads.buckets_named("s3", crate::garage::BUCKET),
        ["s3".to_string()]
    );
    assert!(
        uploads
            .buckets_named("oss", crate::garage::BUCKET)
            .is_empty()
    );
    let (_, r) = post(
        &app,
        "frank",
        "/v1/uploads/presign",
        json!({"profile": "s3docs",
        "filename": "n.txt", "content_type": "text/plain", "size": 4}),
    )
    .await;
    let key = r["key"].as_str().unwrap();
    let (outcome, rec) = uploads
        .complete_from_storage("s3", key, "test")
        .await
        .unwrap();
    assert_eq!((outcome, rec.is_none()), (Outcome::Missing, true));
    assert_eq!(send_signed(&app, &r, b"abcd".to_vec()).await.status(), 200);
    let (outcome, rec) = uploads
        .complete_from_storage("s3", key, "test")
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Completed);
    let rec = rec.unwrap();
    assert_eq!(
        (rec.id.as_str(), rec.size),
        (r["upload_id"].as_str().unwrap(), Some(4))
    );
    let (outcome, _) = uploads
        .complete_from_storage("s3", key, "test")
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::AlreadyFinal);

    // Written with the bucket's own key, without a binding: nothing to complete.
    let stray = "s3docs/frank/stray.txt";
    let p = g
        .signer()
        .presign_put(
            &g.location(),
            stray,
            &Default::default(),
            time::OffsetDateTime::now_utc(),
            upload_gateway::providers::s3::Expiry::from_secs(600).unwrap(),
        )
        .unwrap();
    assert_eq!(
        app.client
            .put(&p.url)
            .body("x")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (outcome, rec) = uploads
        .complete_from_storage("s3", stray, "test")
        .await
        .unwrap();
    assert_eq!((outcome, rec.is_none()), (Outcome::Unbound, true));

    use actix_web::ResponseError;
    for (bucket, key) in [("s3", "elsewhere/x.txt"), ("nosuch", key)] {
        let e = uploads
            .complete_from_storage(bucket, key, "test")
            .await
            .unwrap_err();
        assert!(e.status_code().is_client_error(), "{bucket} {key}: {e}");
    }
}

/// Initiates a 6 MiB multipart upload through the gateway, PUTs its parts and completes it
/// on Garage directly, as if the gateway's answer had been lost: storage holds the object,
/// the record still says `uploading`. Returns the upload id, its key and the size.
async fn finished_behind_the_gateways_back(app: &TestApp, user: &str) -> (String, String, usize) {
    let mib = 1024 * 1024;
    let data: Vec<u8> = (0..6 * mib).map(|i| (i % 253) as u8).collect();
    let (status, m) = post(
        app,
        user,
        "/v1/multipart",
        json!({"profile": "s3docs", "filename": "big.bin",
        "content_type": "application/octet-stream", "size": data.len(), "part_size": 5 * mib}),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    let id = m["upload_id"].as_str().unwrap().to_string();
    let key = m["key"].as_str().unwrap().to_string();
    let (_, signed) = post(
        app,
        user,
        &format!("/v1/multipart/{id}/parts"),
        json!({"part_numbers": [1, 2]}),
    )
    .await;
    for (i, p) in signed["parts"].as_array().unwrap().iter().enumerate() {
        let chunk = data[i * 5 * mib..((i + 1) * 5 * mib).min(data.len())].to_vec();
        assert_eq!(send_signed(app, p, chunk).await.status(), 200);
    }
    let rec = app
        .store()
        .get_record(&upload_gateway::domain::UploadId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let storage_id = rec.storage_upload_id.clone().unwrap();
    let mp = app
        .app_state
        .uploads
        .providers()
        .get("s3")
        .unwrap()
        .multipart()
        .unwrap();
    let parts: Vec<(u32, String)> = mp
        .list_parts(&key, &storage_id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.part_number, p.etag))
        .collect();
    mp.complete(&key, &storage_id, &parts, None).await.unwrap();
    let (_, before) = crate::multipart::json_of(app.get_upload(user, &id).await).await;
    assert_eq!(before["status"], "uploading");
    (id, key, data.len())
}

/// A multipart upload storage completed without the gateway recording it (the gateway's
/// answer was lost, or it stopped in between): the binding set on CreateMultipartUpload is
/// on the object, so the notice for its key completes the record.
#[tokio::test]
async fn a_multipart_object_completed_behind_the_gateways_back_is_completed_by_key() {
    use upload_gateway::uploads::confirm::Outcome;
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let (_, key, size) = finished_behind_the_gateways_back(&app, "lee").await;
    let uploads = &app.app_state.uploads;
    let (outcome, rec) = uploads
        .complete_from_storage("s3", &key, "test")
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Completed);
    let rec = rec.unwrap();
    assert_eq!(rec.size, Some(size as u64));
    assert!(
        rec.etag.as_deref().unwrap().ends_with("-2"),
        "{:?}",
        rec.etag
    );
}

/// The same lost answer, with no notice at all: when the upload falls due, the sweeper asks
/// storage before aborting, and completes the record instead of marking it `expired`.
#[tokio::test]
async fn the_sweeper_completes_a_due_upload_storage_already_finished() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let endpoint = g.endpoint.clone();
    let app = spawn_app_with(move |raw| {
        add_s3_bucket(raw, &endpoint);
        raw.profiles.retain(|name, _| name == "s3docs");
        raw.multipart.upload_expires_secs = 3;
        raw.multipart.sweep_interval_secs = 3600;
    })
    .await;
    let (id, _, size) = finished_behind_the_gateways_back(&app, "mia").await;
    // Due 3 s after the initiate, which came before this point.
    tokio::time::sleep(std::time::Duration::from_millis(3300)).await;
    let swept = app.app_state.uploads.sweep_once().await.unwrap();
    assert_eq!(
        (swept.completed, swept.expired, swept.errors),
        (1, 0, 0),
        "{swept:?}"
    );
    let (_, rec) = crate::multipart::json_of(app.get_upload("mia", &id).await).await;
    assert_eq!(rec["status"], "completed", "{rec}");
    assert_eq!(rec["size"], size as u64);
}
