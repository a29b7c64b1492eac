//! Every final status appends its event: expiry and abort as well as completion and failure,
//! each exactly once, in the step that makes the record final (what webhooks deliver).

use crate::helpers::*;
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::store_harness::stream_events;
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use upload_gateway::domain::UploadStatus;
use upload_gateway::domain::{RecordTarget, UploadId, UploadKind, UploadRecord, UserId};

pub fn issued_record(user: &str, i: usize) -> UploadRecord {
    let now = OffsetDateTime::now_utc();
    let key = format!("avatars/{user}/{i}.png");
    UploadRecord::issued(
        UploadId::new(),
        UserId::parse(user).unwrap(),
        UploadKind::Presign,
        RecordTarget {
            profile: "avatars",
            provider: "oss",
            bucket: "examplebucket",
            key: &key,
        },
        now,
        now + time::Duration::hours(1),
    )
}

async fn events(app: &TestApp) -> Vec<std::collections::HashMap<String, String>> {
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    stream_events(&mut c, &app.prefix).await
}

#[tokio::test]
async fn expiring_and_aborting_a_record_append_one_event_each() {
    let app = spawn_app().await;
    let store = app.store();
    let expired = issued_record("erin", 1);
    let aborted = issued_record("erin", 2);
    store.create_record(&expired).await.unwrap();
    store.create_record(&aborted).await.unwrap();

    store
        .finish_record(&expired.id, UploadStatus::Expired)
        .await
        .unwrap();
    store
        .finish_record(&aborted.id, UploadStatus::Aborted)
        .await
        .unwrap();
    // Racing or repeated finishers: the record is final already, nothing more is appended.
    for _ in 0..3 {
        store
            .finish_record(&expired.id, UploadStatus::Expired)
            .await
            .unwrap();
        store
            .finish_record(&aborted.id, UploadStatus::Aborted)
            .await
            .unwrap();
    }

    let evs = events(&app).await;
    assert_eq!(evs.len(), 2, "{evs:?}");
    for (rec, kind, status) in [
        (&expired, "upload.expired", "expired"),
        (&aborted, "upload.aborted", "aborted"),
    ] {
        let e = evs
            .iter()
            .find(|e| e["upload_id"] == rec.id.as_str())
            .unwrap();
        assert_eq!(e["type"], kind);
        assert_eq!(e["status"], status);
        assert_eq!(e["user"], "erin");
        assert_eq!(e["key"], rec.key);
        let stored = store.get_record(&rec.id).await.unwrap().unwrap();
        assert!(stored.event_id.is_some(), "the record points at its event");
    }
}

#[tokio::test]
async fn a_late_callback_for_an_expired_upload_appends_its_completion_event_too() {
    let keys = KeyServer::start().await;
    let app = spawn_app_with(|raw| raw.callbacks.key_url_prefixes = vec![keys.prefix()]).await;
    let resp = app
        .as_user("frank", Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "avatars", "filename": "me.png",
                      "content_type": "image/png", "size": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let id = body["upload_id"].as_str().unwrap().to_string();
    let key = body["key"].as_str().unwrap().to_string();
    let issued = Issued::from_url(body["url"].as_str().unwrap());
    let uid = UploadId::parse(&id).unwrap();
    app.store()
        .finish_record(&uid, UploadStatus::Expired)
        .await
        .unwrap();

    let obj = Stored {
        bucket: "examplebucket".into(),
        object: key,
        etag: "E1".into(),
        size: 100,
        mime_type: "image/png".into(),
    };
    let cb = oss_sim::callback(&keys, &issued, &obj);
    assert_eq!(cb.send(&app).await.status(), 200);
    assert_eq!(
        cb.send(&app).await.status(),
        200,
        "a duplicate changes nothing"
    );

    let types: Vec<String> = events(&app)
        .await
        .into_iter()
        .filter(|e| e["upload_id"] == id)
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, ["upload.expired", "upload.completed"]);
}
