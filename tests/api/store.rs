//! The store against a real redis-server: concurrent identical deliveries append one event,
//! leftovers in the deadline index cannot stall the background jobs, job locks are held by a
//! token.

use crate::helpers::*;
use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with};
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::store_harness::stream_events;
use crate::sts_standin::{Behaviour, StsStandIn};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
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
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    (
        body["upload_id"].as_str().unwrap().to_string(),
        body["key"].as_str().unwrap().to_string(),
        Issued::from_url(body["url"].as_str().unwrap()),
    )
}

fn stored(key: &str, etag: &str) -> Stored {
    Stored {
        bucket: STORE_BUCKET.into(),
        object: key.into(),
        etag: etag.into(),
        size: 100,
        mime_type: "image/png".into(),
    }
}

/// The 100-byte PNG a callback reports, really in storage.
pub async fn put(storage: &LocalStore, key: &str) {
    storage
        .store
        .put_object(STORE_BUCKET, key, "image/png", &[7; 100])
        .await
        .unwrap();
}

/// Sends `n` copies of one callback at once; every copy must get the same 200 answer.
async fn deliver_at_once(app: &TestApp, cb: &oss_sim::Callback, n: usize) -> Value {
    let sends = (0..n).map(|_| async {
        let resp = cb.send(app).await;
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()
    });
    let answers = futures_util::future::join_all(sends).await;
    for a in &answers[1..] {
        assert_eq!(a, &answers[0]);
    }
    answers[0].clone()
}

fn per_upload(events: &[HashMap<String, String>]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for e in events {
        *n.entry(e["upload_id"].clone()).or_default() += 1;
    }
    n
}

#[tokio::test]
async fn identical_callbacks_delivered_at_once_append_one_event_per_upload() {
    let keys = KeyServer::start().await;
    let sts = StsStandIn::start(Behaviour::default()).await;
    let sts_url = sts.url.clone();
    // STS shares the prefix, so every arrival is checked against storage: the objects are
    // really there.
    let storage = LocalStore::start().await;
    let app = gateway_with(&storage, "v4", |raw| {
        raw.callbacks.key_url_prefixes = vec![keys.prefix()];
        // Every delivery reaches Redis: a journaled one is answered before its record exists,
        // which is not the race under test.
        raw.callbacks.redis_timeout_ms = 20_000;
        raw.redis.command_timeout_ms = 20_000;
        crate::rights::with_sts(raw, &sts_url, 3000);
    })
    .await;
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // 40 presigned uploads, each completed by eight identical deliveries racing each other.
    let mut ids = Vec::new();
    let mut callbacks = Vec::new();
    for i in 0..40 {
        let (id, key, issued) = presign(&app, "racer").await;
        put(&storage, &key).await;
        callbacks.push(oss_sim::callback(
            &keys,
            &issued,
            &stored(&key, &format!("E{i}")),
        ));
        ids.push(id);
    }
    // One upload at a time, its eight deliveries at once: the race is between identical
    // deliveries, not a load test of the machine.
    let mut answers = Vec::new();
    for cb in &callbacks {
        answers.push(deliver_at_once(&app, cb, 8).await);
    }
    for (id, a) in ids.iter().zip(&answers) {
        assert_eq!(a["upload_id"], id.as_str());
        assert_eq!(a["status"], "completed");
    }
    let events = stream_events(&mut c, &app.prefix).await;
    let counts = per_upload(&events);
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "doubled events: {doubled:?}");
    assert_eq!(events.len(), 40);
    for id in &ids {
        let rec: Value = app.get_upload("racer", id).await.json().await.unwrap();
        let event_id = rec["event_id"].as_str().expect("event id recorded");
        // The id in the record is the id of the one event in the upload's stream.
        let stream = app.store().keys().events_for(&UploadId::parse(id).unwrap());
        let found: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(&stream)
            .arg(event_id)
            .arg(event_id)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(found.ids.len(), 1);
    }

    // Objects under an STS grant: twenty identical deliveries each, one record and one
    // event per object.
    let resp = app
        .as_user("racer", Method::POST, "/v1/credentials")
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
    for i in 0..10 {
        put(&storage, &format!("avatars/racer/g{i}.png")).await;
    }
    let objects: Vec<_> = (0..10)
        .map(|i| {
            oss_sim::callback(
                &keys,
                &issued,
                &stored(&format!("avatars/racer/g{i}.png"), &format!("G{i}")),
            )
        })
        .collect();
    let mut answers = Vec::new();
    for cb in &objects {
        answers.push(deliver_at_once(&app, cb, 20).await);
    }
    let events = stream_events(&mut c, &app.prefix).await;
    let counts = per_upload(&events);
    for a in &answers {
        let id = a["upload_id"].as_str().unwrap();
        assert_eq!(counts.get(id), Some(&1), "object record {id}");
    }
    assert_eq!(events.len(), 50);
}

fn record(
    user: &str,
    kind: UploadKind,
    status: UploadStatus,
    expires: OffsetDateTime,
) -> UploadRecord {
    let key = format!("avatars/{user}/x.png");
    let mut rec = UploadRecord::issued(
        UploadId::new(),
        UserId::parse(user).unwrap(),
        kind,
        RecordTarget {
            profile: "avatars",
            provider: "oss",
            bucket: "examplebucket",
            key: &key,
        },
        expires - time::Duration::minutes(15),
        expires,
    );
    rec.status = status;
    rec
}

/// 500 final records left in the deadline index (a removal lost in a failover) and a few
/// entries whose record is gone, all older than `fresh`, an STS grant past its expiry.
async fn leave_leftovers(app: &TestApp) -> UploadRecord {
    let store = app.store();
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let long_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    let finals = [
        UploadStatus::Completed,
        UploadStatus::Failed,
        UploadStatus::Expired,
        UploadStatus::Aborted,
    ];
    for i in 0..505 {
        let rec = record("stuck", UploadKind::Presign, finals[i % 4], long_ago);
        if i < 500 {
            store.create_record(&rec).await.unwrap();
        }
        let _: () = redis::cmd("ZADD")
            .arg(store.keys().deadlines_for(&rec.id))
            .arg(long_ago.unix_timestamp() - i as i64)
            .arg(rec.id.as_str())
            .query_async(&mut c)
            .await
            .unwrap();
    }
    let now = OffsetDateTime::now_utc();
    let fresh = record(
        "stuck",
        UploadKind::Sts,
        UploadStatus::Issued,
        now - Duration::from_secs(5),
    );
    store.create_record(&fresh).await.unwrap();
    fresh
}

async fn deadline_entries(app: &TestApp) -> usize {
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut n = 0;
    for s in 0..upload_gateway::store::SHARDS {
        let k: usize = redis::cmd("ZCARD")
            .arg(app.store().keys().deadlines(s))
            .query_async(&mut c)
            .await
            .unwrap();
        n += k;
    }
    n
}

#[tokio::test]
async fn final_or_vanished_records_left_in_the_deadline_index_cannot_hide_a_due_upload() {
    let app = spawn_app().await;
    let fresh = leave_leftovers(&app).await;
    assert_eq!(deadline_entries(&app).await, 506);
    let now = OffsetDateTime::now_utc();
    let due = app
        .store()
        .due_uploads_of(now, 100, DueKind::NotMultipart)
        .await
        .unwrap();
    assert_eq!(due, vec![fresh.id.clone()]);
    // The leftovers are gone for good; the unfinished upload stays until it is final.
    assert_eq!(deadline_entries(&app).await, 1);
    assert_eq!(
        app.store().due_uploads(now, 100).await.unwrap(),
        vec![fresh.id.clone()]
    );
    let only_multipart = app
        .store()
        .due_uploads_of(now, 100, DueKind::Multipart)
        .await
        .unwrap();
    assert!(only_multipart.is_empty());
}

#[tokio::test]
async fn the_reconciler_expires_a_due_upload_behind_500_leftovers_within_two_intervals() {
    let app = spawn_app_with(|raw| raw.callbacks.reconcile_interval_secs = 1).await;
    let fresh = leave_leftovers(&app).await;
    let expired = eventually(Duration::from_secs(3), || async {
        let r = app.store().get_record(&fresh.id).await.unwrap().unwrap();
        (r.status == UploadStatus::Expired).then_some(r)
    })
    .await;
    assert!(expired.is_some(), "the due upload was not reconciled");
    assert_eq!(deadline_entries(&app).await, 0);
}

#[tokio::test]
async fn job_locks_belong_to_one_token_are_renewed_while_the_job_runs_and_released_after() {
    let app = spawn_app().await;
    let store = app.store().clone();
    let ttl = Duration::from_millis(300);
    let a = store
        .try_lock_token("job", ttl)
        .await
        .unwrap()
        .expect("free");
    assert!(store.try_lock_token("job", ttl).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = store
        .try_lock_token("job", ttl)
        .await
        .unwrap()
        .expect("lapsed");
    assert!(
        !store.renew(&a).await.unwrap(),
        "a lapsed holder cannot renew"
    );
    assert!(
        !store.release(a).await.unwrap(),
        "nor release the next holder's lock"
    );
    assert!(store.try_lock_token("job", ttl).await.unwrap().is_none());
    assert!(store.renew(&b).await.unwrap());
    assert!(store.release(b).await.unwrap());

    // A job three TTLs long keeps its lock throughout, and frees it when done.
    let other = store.clone();
    let job = async move {
        for _ in 0..9 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(other.try_lock_token("job", ttl).await.unwrap().is_none());
        }
        "done"
    };
    assert_eq!(
        store.with_lock("job", ttl, job).await.unwrap(),
        Some("done")
    );
    let held = store.try_lock_token("job", ttl).await.unwrap();
    assert!(held.is_some(), "released after the job");
    // Held by someone else: the job does not run.
    let ran = store.with_lock("job", ttl, async { "ran" }).await.unwrap();
    assert_eq!(ran, None);
    assert!(store.release(held.unwrap()).await.unwrap());
}

#[tokio::test]
async fn a_confirm_the_client_should_not_have_sent_is_counted_as_refused_not_as_an_error() {
    let app = spawn_app().await;
    let grant = record(
        "rita",
        UploadKind::Sts,
        UploadStatus::Issued,
        OffsetDateTime::now_utc() + time::Duration::minutes(15),
    );
    app.store().create_record(&grant).await.unwrap();
    let resp = app
        .as_user(
            "rita",
            Method::POST,
            &format!("/v1/uploads/{}/confirm", grant.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let text = app.metrics_text().await;
    let line = |outcome: &str| {
        format!(
            r#"upload_gateway_reconciliations_total{{outcome="{outcome}",trigger="confirm"}} 1"#
        )
    };
    assert!(text.contains(&line("refused")), "{text}");
    assert!(!text.contains(&line("error")));
}

#[tokio::test]
async fn creating_a_record_twice_keeps_the_first_and_indexes_it_once() {
    let app = spawn_app().await;
    let store = app.store();
    let now = OffsetDateTime::now_utc();
    let first = record("twice", UploadKind::Presign, UploadStatus::Issued, now);
    store.create_record(&first).await.unwrap();
    let mut second = first.clone();
    second.key = "twice/other-key".into();
    let err = store.create_record(&second).await.unwrap_err();
    assert!(
        matches!(err, upload_gateway::store::StoreError::AlreadyExists(_)),
        "{err:?}"
    );
    let stored = store.get_record(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.key, first.key, "the first record is left as it was");
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let deadline: Option<f64> = redis::cmd("ZSCORE")
        .arg(store.keys().deadlines_for(&first.id))
        .arg(first.id.as_str())
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(deadline, Some(first.expires_at.unix_timestamp() as f64));
    let listed = store
        .list_records(
            &first.user,
            &upload_gateway::store::ListQuery {
                status: None,
                limit: 10,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}
