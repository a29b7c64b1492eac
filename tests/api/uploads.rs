use crate::helpers::*;
use serde_json::Value;
use time::OffsetDateTime;
use upload_gateway::domain::{
    RecordTarget, UploadId, UploadKind, UploadRecord, UploadStatus, UserId,
};

fn record(user: &str, status: UploadStatus) -> UploadRecord {
    let now = OffsetDateTime::now_utc();
    let key = format!("avatars/{user}/x.png");
    let mut rec = UploadRecord::issued(
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
        now + time::Duration::minutes(15),
    );
    rec.status = status;
    rec.declared_size = Some(10);
    rec.content_type = Some("image/png".into());
    rec
}

#[tokio::test]
async fn owners_see_their_record_and_nobody_else_does() {
    let app = spawn_app().await;
    let rec = record("alice", UploadStatus::Issued);
    app.store().create_record(&rec).await.unwrap();

    let resp = app.get_upload("alice", rec.id.as_str()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], rec.id.as_str());
    assert_eq!(body["status"], "issued");
    assert_eq!(body["key"], "avatars/alice/x.png");

    for (user, id) in [
        ("mallory", rec.id.as_str().to_string()),
        ("alice", UploadId::new().as_str().to_string()),
        ("alice", "..%2F..%2Fetc".to_string()),
        ("alice", "ZZZ".to_string()),
    ] {
        let (status, code, _) = error_code(app.get_upload(user, &id).await).await;
        assert_eq!((status, code.as_str()), (404, "not-found"), "{user} {id}");
    }
}

#[tokio::test]
async fn listing_filters_by_status_and_pages_with_a_cursor() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let status = if i % 2 == 0 {
            UploadStatus::Completed
        } else {
            UploadStatus::Issued
        };
        let rec = record("carol", status);
        app.store().create_record(&rec).await.unwrap();
        ids.push(rec.id);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    app.store()
        .create_record(&record("dave", UploadStatus::Completed))
        .await
        .unwrap();

    let body: Value = app
        .list_uploads("carol", "?limit=3")
        .await
        .json()
        .await
        .unwrap();
    let page1: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        page1,
        vec![ids[6].as_str(), ids[5].as_str(), ids[4].as_str()],
        "newest first"
    );
    let cursor = body["next_cursor"].as_str().unwrap().to_string();

    let body: Value = app
        .list_uploads("carol", &format!("?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let page2: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        page2,
        vec![ids[3].as_str(), ids[2].as_str(), ids[1].as_str()]
    );

    let body: Value = app
        .list_uploads("carol", "?status=completed&limit=10")
        .await
        .json()
        .await
        .unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(
        items
            .iter()
            .all(|r| r["status"] == "completed" && r["user"] == "carol")
    );
    assert!(body["next_cursor"].is_null());
}

#[tokio::test]
async fn bad_list_parameters_are_explained() {
    let app = spawn_app().await;
    for q in [
        "?status=done",
        "?limit=0",
        "?limit=1000",
        "?limit=abc",
        "?cursor=nope",
        "?colour=red",
    ] {
        let (status, code, message) = error_code(app.list_uploads("carol", q).await).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "invalid-query"),
            "{q}: {message}"
        );
    }
}
