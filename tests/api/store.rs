//! The store against a real redis-server: concurrent identical deliveries append one event,
//! leftovers in the deadline index cannot stall the background jobs, job locks are held by a
//! token.

use crate::helpers::*;
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::store_harness::stream_events;
use crate::sts_standin::{Behaviour, StsStandIn};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use upload_gateway::domain::UploadId;

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
        bucket: "examplebucket".into(),
        object: key.into(),
        etag: etag.into(),
        size: 100,
        mime_type: "image/png".into(),
    }
}

/// Sends `n` copies of one callback at once; every copy must get the same 200 answer.
async fn deliver_at_once(app: &TestApp, cb: &oss_sim::Callback, n: usize) -> Value {
    let sends = (0..n).map(|_| async {
        let resp = cb.send(app).await;
        assert_eq!(resp.status(), 200);
        resp.json::<Value>().await.unwrap()
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
    let app = spawn_app_with(|raw| {
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
        callbacks.push(oss_sim::callback(
            &keys,
            &issued,
            &stored(&key, &format!("E{i}")),
        ));
        ids.push(id);
    }
    let rounds = callbacks.iter().map(|cb| deliver_at_once(&app, cb, 8));
    let answers = futures_util::future::join_all(rounds).await;
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
        let stream = app
            .store()
            .keys()
            .events_for(&UploadId::parse(id).unwrap());
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
