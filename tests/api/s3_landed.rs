//! The entry point storage notifications (S3 events via SNS, MinIO webhooks) use, against
//! Garage: `Uploads::complete_from_storage(bucket, key)` lets HeadObject and the object's
//! binding decide, so duplicates change nothing and unbound objects complete nothing.

use crate::garage::spawn_garage;
use crate::s3::{post, s3_gateway, send_signed};
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
