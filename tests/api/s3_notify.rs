//! Completion without callbacks, end to end on Garage: an object PUT with a gateway presigned
//! URL, then an SNS-signed S3 event notification (certificate from the loopback SNS
//! stand-in) or a MinIO-style webhook for it completes the record once, however often it
//! arrives; a notification for an object whose HeadObject disagrees completes nothing.
//! (Garage itself sends no notifications: the tests send what S3 and MinIO would.)

use crate::garage::{BUCKET, Garage, send, spawn_garage};
use crate::helpers::*;
use crate::objects::events_of;
use crate::sns::{WEBHOOK_TOKEN, post_sns, post_webhook, webhook_section};
use crate::sns_harness::{SnsStandIn, notification, s3_created};
use reqwest::Method;
use serde_json::{Value, json};

const TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:upload-events";

async fn gateway(g: &Garage, sns: &SnsStandIn) -> TestApp {
    let endpoint = g.endpoint.clone();
    spawn_app_with(|raw| {
        crate::s3::add_s3_bucket(raw, &endpoint);
        sns.configure(raw, &[TOPIC]);
        raw.callbacks.s3_webhook = webhook_section();
    })
    .await
}

/// A presigned PUT from the gateway: its answer (upload id, key, URL, headers).
async fn presign(app: &TestApp, user: &str, filename: &str, size: usize) -> Value {
    let resp = app
        .as_user(user, Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "s3docs", "filename": filename,
            "content_type": "text/plain", "size": size}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// PUTs `body` with exactly the headers the gateway listed; returns Garage's ETag.
async fn put(app: &TestApp, issued: &Value, body: &[u8]) -> String {
    let mut req = app.client.put(issued["url"].as_str().unwrap());
    for (k, v) in issued["headers"].as_object().unwrap() {
        if !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k, v.as_str().unwrap());
        }
    }
    let resp = req.body(body.to_vec()).send().await.unwrap();
    assert_eq!(resp.status(), 200, "garage took the presigned PUT");
    resp.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

async fn status_of(app: &TestApp, user: &str, id: &str) -> String {
    let rec: Value = app.get_upload(user, id).await.json().await.unwrap();
    rec["status"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_notified_upload_on_garage_completes_once_by_sns_or_webhook_however_often_it_arrives() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let sns = SnsStandIn::start().await;
    let app = gateway(&g, &sns).await;

    // A name with a space and a non-ASCII character: S3 form-encodes it in the event.
    let a = presign(&app, "nina", "report 1 目.txt", 5).await;
    let (id_a, key_a) = (a["upload_id"].as_str().unwrap(), a["key"].as_str().unwrap());
    let etag_a = put(&app, &a, b"hello").await;
    let event = s3_created(BUCKET, key_a, 5, &etag_a, false);
    assert!(key_a.contains(' ') && key_a.contains('目'), "{key_a}");
    let sent_key = event["Records"][0]["s3"]["object"]["key"].as_str().unwrap();
    assert!(
        sent_key.contains('+') && sent_key.contains("%E7%9B%AE"),
        "{sent_key}"
    );
    let sent = notification(&event, "msg-a");
    for round in 0..2 {
        let resp = post_sns(&app, &sent).await;
        assert_eq!(resp.status(), 200, "round {round}");
        let body: Value = resp.json().await.unwrap();
        let want = if round == 0 { "completed" } else { "duplicate" };
        assert_eq!(body["outcome"], want, "{body}");
        let rec = &body["uploads"][0];
        assert_eq!(
            (
                rec["upload_id"].as_str(),
                rec["status"].as_str(),
                rec["size"].as_u64()
            ),
            (Some(id_a), Some("completed"), Some(5))
        );
        assert_eq!(
            rec["etag"].as_str().map(str::to_ascii_lowercase),
            Some(etag_a.to_ascii_lowercase())
        );
    }
    // SNS redelivers under a new MessageId too: still one completion.
    let resp = post_sns(&app, &notification(&event, "msg-a-again")).await;
    assert_eq!(resp.json::<Value>().await.unwrap()["outcome"], "duplicate");
    assert_eq!(events_of(&app, id_a).await, vec!["upload.completed"]);

    // The MinIO route, twice: one event.
    let b = presign(&app, "nina", "b.txt", 3).await;
    let id_b = b["upload_id"].as_str().unwrap();
    let etag_b = put(&app, &b, b"abc").await;
    let minio = s3_created(BUCKET, b["key"].as_str().unwrap(), 3, &etag_b, true);
    for want in ["completed", "duplicate"] {
        let resp = post_webhook(&app, Some(WEBHOOK_TOKEN), &minio).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap()["outcome"], want);
    }
    assert_eq!(events_of(&app, id_b).await, vec!["upload.completed"]);
    assert_eq!(status_of(&app, "nina", id_b).await, "completed");

    let text = app.metrics_text().await;
    for (source, outcome, n) in [
        ("s3-sns", "completed", 1),
        ("s3-sns", "duplicate", 2),
        ("s3-webhook", "completed", 1),
        ("s3-webhook", "duplicate", 1),
    ] {
        let line = format!(
            "upload_gateway_notifications_total{{outcome=\"{outcome}\",source=\"{source}\"}} {n}"
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
}

#[tokio::test]
async fn a_notification_that_storage_does_not_bear_out_completes_nothing() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let sns = SnsStandIn::start().await;
    let app = gateway(&g, &sns).await;

    // Notified before anything is stored (or after it was deleted): storage disagrees.
    let c = presign(&app, "omar", "c.txt", 4).await;
    let (id_c, key_c) = (c["upload_id"].as_str().unwrap(), c["key"].as_str().unwrap());
    let early = notification(
        &s3_created(BUCKET, key_c, 4, "d41d8cd98f00b204e9800998ecf8427e", false),
        "m-c",
    );
    let (s, code, _) = error_code(post_sns(&app, &early).await).await;
    assert_eq!((s, code.as_str()), (409, "notification-storage-disagrees"));

    // Somebody with the bucket's own key writes the upload's key without its binding: a
    // genuine notification for it, through either route, completes nothing.
    let p = g
        .signer()
        .presign_put(
            &g.location(),
            key_c,
            &Default::default(),
            time::OffsetDateTime::now_utc(),
            upload_gateway::providers::s3::Expiry::from_secs(600).unwrap(),
        )
        .unwrap();
    let put = app.client.put(&p.url).body("evil").send().await.unwrap();
    assert_eq!(put.status(), 200);
    let etag = put.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_string();
    let forged_object = s3_created(BUCKET, key_c, 4, &etag, false);
    let (s, code, _) =
        error_code(post_sns(&app, &notification(&forged_object, "m-c2")).await).await;
    assert_eq!((s, code.as_str()), (404, "notification-unknown-upload"));
    let mut minio = s3_created(BUCKET, key_c, 4, &etag, true);
    let (s, code, _) = error_code(post_webhook(&app, Some(WEBHOOK_TOKEN), &minio).await).await;
    assert_eq!((s, code.as_str()), (404, "notification-unknown-upload"));
    // A key under the profile's prefix that storage does not hold.
    minio["Records"][0]["s3"]["object"]["key"] = "s3docs/omar/stray.txt".into();
    let (s, code, _) = error_code(post_webhook(&app, Some(WEBHOOK_TOKEN), &minio).await).await;
    assert_eq!((s, code.as_str()), (409, "notification-storage-disagrees"));

    assert_eq!(status_of(&app, "omar", id_c).await, "issued");
    assert!(events_of(&app, id_c).await.is_empty());
    // Garage still holds the unbound object: the gateway deleted nothing.
    let head = g
        .signer()
        .head_object(&g.location(), key_c, time::OffsetDateTime::now_utc())
        .unwrap();
    assert_eq!(send(&head).await.unwrap().status(), 200);
}

/// Redis hung while a notification arrives: 503 and nothing acknowledged, so SNS delivers it
/// again; the redelivery, once Redis answers, completes the upload once.
#[tokio::test]
async fn a_notification_while_redis_hangs_is_not_acknowledged_and_its_redelivery_completes() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let sns = SnsStandIn::start().await;
    let redis = RedisServer::start();
    let endpoint = g.endpoint.clone();
    let app = spawn_app_on(&redis.url(), |raw| {
        crate::s3::add_s3_bucket(raw, &endpoint);
        sns.configure(raw, &[TOPIC]);
    })
    .await;
    let d = presign(&app, "pia", "d.txt", 2).await;
    let id = d["upload_id"].as_str().unwrap().to_string();
    let etag = put(&app, &d, b"ok").await;
    let sent = notification(
        &s3_created(BUCKET, d["key"].as_str().unwrap(), 2, &etag, false),
        "m-d",
    );

    redis.pause();
    let resp = post_sns(&app, &sent).await;
    redis.resume();
    let (s, code, _) = error_code(resp).await;
    assert_eq!((s, code.as_str()), (503, "store-unavailable"));

    let resp = post_sns(&app, &sent).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["outcome"], "completed");
    assert_eq!(status_of(&app, "pia", &id).await, "completed");
}

/// A multipart upload that storage completed without the gateway hearing back (its answer
/// lost): the object carries the binding set on CreateMultipartUpload, so the notification
/// settles the record, once.
#[tokio::test]
async fn a_multipart_upload_completed_behind_the_gateways_back_is_settled_by_its_notification() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let sns = SnsStandIn::start().await;
    let app = gateway(&g, &sns).await;
    const MIB: usize = 1024 * 1024;
    let size = 5 * MIB + 10;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let resp = app
        .as_user("quinn", Method::POST, "/v1/multipart")
        .json(&json!({"profile": "s3docs", "filename": "big.bin",
            "content_type": "application/octet-stream", "size": size, "part_size": 5 * MIB}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let m: Value = resp.json().await.unwrap();
    let (id, key) = (m["upload_id"].as_str().unwrap(), m["key"].as_str().unwrap());
    let resp = app
        .as_user("quinn", Method::POST, &format!("/v1/multipart/{id}/parts"))
        .json(&json!({"part_numbers": [1, 2]}))
        .send()
        .await
        .unwrap();
    let signed: Value = resp.json().await.unwrap();
    let mut parts = Vec::new();
    for (i, p) in signed["parts"].as_array().unwrap().iter().enumerate() {
        let chunk = &data[i * 5 * MIB..((i + 1) * 5 * MIB).min(size)];
        let etag = put(&app, p, chunk).await;
        parts.push(upload_gateway::providers::s3::CompletedPart {
            part_number: i as u32 + 1,
            etag: format!("\"{etag}\""),
        });
    }
    let done = g
        .signer()
        .complete_multipart(
            &g.location(),
            key,
            m["storage_upload_id"].as_str().unwrap(),
            &parts,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
    let resp = send(&done).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let etag = body
        .split("<ETag>")
        .nth(1)
        .and_then(|r| r.split("</ETag>").next())
        .unwrap()
        .replace("&quot;", "")
        .replace('"', "");
    assert_ne!(status_of(&app, "quinn", id).await, "completed");

    let mut event = s3_created(BUCKET, key, size as u64, &etag, true);
    event["Records"][0]["eventName"] = "s3:ObjectCreated:CompleteMultipartUpload".into();
    for want in ["completed", "duplicate"] {
        let resp = post_webhook(&app, Some(WEBHOOK_TOKEN), &event).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.json::<Value>().await.unwrap()["outcome"], want);
    }
    assert_eq!(status_of(&app, "quinn", id).await, "completed");
    assert_eq!(events_of(&app, id).await, vec!["upload.completed"]);
}
