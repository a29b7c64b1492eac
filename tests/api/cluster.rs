//! The gateway on a real Redis Cluster (three masters on loopback): a user's records spread
//! over the nodes, and listing, completing, claiming, reconciling and locking all work
//! without a cross-slot error.

use crate::helpers::*;
use crate::multipart::{LocalStore, use_store};
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::store_harness::{shared_cluster, spawn_app_on_cluster, stream_events};
use crate::sts_standin::{Behaviour, StsStandIn};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use time::OffsetDateTime;
use upload_gateway::domain::{
    RecordTarget, UploadId, UploadKind, UploadRecord, UploadStatus, UserId,
};
use upload_gateway::store::DueKind;

async fn presign(app: &TestApp, user: &str) -> (String, String, Issued) {
    let resp = app
        .as_user(user, Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "avatars", "filename": "me.png",
                      "content_type": "image/png", "size": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    (
        body["upload_id"].as_str().unwrap().to_string(),
        body["key"].as_str().unwrap().to_string(),
        Issued::from_url(body["url"].as_str().unwrap()),
    )
}

fn stored(key: &str, etag: &str) -> Stored {
    Stored {
        bucket: crate::multipart::STORE_BUCKET.into(),
        object: key.into(),
        etag: etag.into(),
        size: 100,
        mime_type: "image/png".into(),
    }
}

fn multipart_record(user: &str, i: usize) -> UploadRecord {
    let now = OffsetDateTime::now_utc();
    let key = format!("avatars/{user}/big-{i}.png");
    let mut rec = UploadRecord::issued(
        UploadId::new(),
        UserId::parse(user).unwrap(),
        UploadKind::Multipart,
        RecordTarget {
            profile: "avatars",
            provider: "oss",
            bucket: "examplebucket",
            key: &key,
        },
        now,
        now + time::Duration::hours(1),
    );
    rec.status = UploadStatus::Uploading;
    rec.storage_upload_id = Some(format!("storage-{i}"));
    rec
}

async fn list_all(app: &TestApp, user: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("{query}&cursor={c}"),
            None => query.to_string(),
        };
        let resp = app.list_uploads(user, &q).await;
        assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        let page: Value = resp.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn on_a_redis_cluster_uploads_are_listed_completed_and_reconciled_without_cross_slot_errors()
{
    let keys = KeyServer::start().await;
    let sts = StsStandIn::start(Behaviour::default()).await;
    let sts_url = sts.url.clone();
    let storage = LocalStore::start().await;
    let store_url = storage.url();
    let app = spawn_app_on_cluster(|raw| {
        use_store(raw, &store_url, "v4");
        raw.callbacks.key_url_prefixes = vec![keys.prefix()];
        crate::rights::with_sts(raw, &sts_url, 3000);
    })
    .await;
    let cluster = shared_cluster();
    let ready = app.request(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // Eight presigned uploads through the API, three multipart uploads in progress.
    let mut presigned = Vec::new();
    for _ in 0..8 {
        presigned.push(presign(&app, "clara").await);
    }
    let mut ids: Vec<String> = presigned.iter().map(|p| p.0.clone()).collect();
    for i in 0..3 {
        let rec = multipart_record("clara", i);
        app.store().create_record(&rec).await.unwrap();
        ids.push(rec.id.to_string());
    }
    let record_keys: Vec<String> = ids
        .iter()
        .map(|id| app.store().keys().record(&UploadId::parse(id).unwrap()))
        .collect();
    assert!(
        cluster.nodes_holding(&record_keys) >= 2,
        "one user's records live on several nodes"
    );

    // Five complete by callback, each delivered three times at once.
    for (i, (_, key, issued)) in presigned.iter().take(5).enumerate() {
        crate::store::put(&storage, key).await;
        let cb = oss_sim::callback(&keys, issued, &stored(key, &format!("C{i}")));
        let sends = (0..3).map(|_| cb.send(&app));
        for resp in futures_util::future::join_all(sends).await {
            assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
        }
    }
    // Two objects arrive under an STS grant (the per-object claim on the cluster).
    let resp = app
        .as_user("clara", Method::POST, "/v1/credentials")
        .json(&json!({"profile": "avatars"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let grant: Value = resp.json().await.unwrap();
    let issued = Issued::from_params(
        grant["callback"]["callback"].as_str().unwrap(),
        grant["callback"]["callback-var"].as_str().unwrap(),
    );
    for i in 0..2 {
        crate::store::put(&storage, &format!("avatars/clara/sts-{i}.png")).await;
        let cb = oss_sim::callback(
            &keys,
            &issued,
            &stored(&format!("avatars/clara/sts-{i}.png"), &format!("S{i}")),
        );
        let first: Value = cb.send(&app).await.json().await.unwrap();
        let again: Value = cb.send(&app).await.json().await.unwrap();
        assert_eq!(first["upload_id"], again["upload_id"]);
        ids.push(first["upload_id"].as_str().unwrap().to_string());
    }

    // Everything the user has, page by page (two per page), newest first.
    let listed = list_all(&app, "clara", "?limit=2").await;
    let listed_ids: Vec<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.push(grant["grant_id"].as_str().unwrap());
    let as_set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(as_set(&listed_ids), as_set(&expected));
    assert_eq!(listed_ids.len(), expected.len());
    let mut sorted = listed_ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed_ids, sorted, "newest first");
    let completed = list_all(&app, "clara", "?status=completed").await;
    assert_eq!(completed.len(), 7);

    let resp = app
        .as_user("clara", Method::GET, "/v1/multipart")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let mp: Value = resp.json().await.unwrap();
    assert_eq!(mp["items"].as_array().unwrap().len(), 3);
    let one: Value = app
        .get_upload("clara", &presigned[0].0)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["status"], "completed");

    // One event per completed upload, spread over the shard streams.
    let mut c = cluster.connection().await;
    let events = stream_events(&mut c, &app.prefix).await;
    assert_eq!(events.len(), 7);
    let evented: BTreeSet<&str> = events.iter().map(|e| e["upload_id"].as_str()).collect();
    assert_eq!(evented.len(), 7);

    // The background jobs' reads and locks, shard by shard.
    let later = OffsetDateTime::now_utc() + time::Duration::days(1);
    let due = app
        .store()
        .due_uploads_of(later, 100, DueKind::Any)
        .await
        .unwrap();
    assert_eq!(
        due.len(),
        3 + 3 + 1,
        "3 presigned left, 3 multipart, the grant"
    );
    let mp_due = app
        .store()
        .due_uploads_of(later, 100, DueKind::Multipart)
        .await
        .unwrap();
    assert_eq!(mp_due.len(), 3);
    let store = app.store();
    let ran = store
        .with_lock("cluster-job", Duration::from_secs(5), async { 1 })
        .await
        .unwrap();
    assert_eq!(ran, Some(1));
    let expired = store
        .finish_record(&due[0], UploadStatus::Expired)
        .await
        .unwrap();
    assert!(matches!(
        expired,
        upload_gateway::store::TransitionOutcome::Applied(..)
    ));
    let due_after = store
        .due_uploads_of(later, 100, DueKind::Any)
        .await
        .unwrap();
    assert_eq!(due_after.len(), 6);
}
