//! A callback Redis cannot take gets the answer it would get with Redis up: the profile's
//! rules (size bounds, the declared size the ticket binds, content types) are applied before
//! anything is journaled, and what breaks them is refused and never journaled.

use crate::helpers::*;
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn presign(app: &TestApp, user: &str, size: u64) -> (String, String, Issued) {
    let resp = app
        .as_user(user, Method::POST, "/v1/uploads/presign")
        .json(
            &json!({"profile": "avatars", "filename": "me.png", "content_type": "image/png",
                      "size": size}),
        )
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

fn stored(key: &str, etag: &str, size: u64) -> Stored {
    Stored {
        bucket: "examplebucket".into(),
        object: key.into(),
        etag: etag.into(),
        size,
        mime_type: "image/png".into(),
    }
}

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
}

async fn journal_depth(app: &TestApp) -> f64 {
    metric(
        &app.metrics_text().await,
        "upload_gateway_callback_journal_depth ",
    )
    .unwrap()
}

async fn status_of(app: &TestApp, user: &str, id: &str) -> String {
    let rec: Value = app.get_upload(user, id).await.json().await.unwrap();
    rec["status"].as_str().unwrap().to_string()
}

async fn app_with_journal(redis: &RedisServer, keys: &KeyServer) -> TestApp {
    spawn_app_on(&redis.url(), |raw| {
        raw.callbacks.key_url_prefixes = vec![keys.prefix()];
        raw.callbacks.redis_timeout_ms = 300;
        raw.callbacks.replay_interval_ms = 200;
    })
    .await
}

#[tokio::test]
async fn a_size_off_the_declared_one_is_refused_alike_with_redis_stalled_and_not_journaled() {
    let keys = KeyServer::start().await;
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let app = app_with_journal(&redis, &keys).await;
    let (up_id, up_key, up_issued) = presign(&app, "omar", 100).await;
    let (off_id, off_key, off_issued) = presign(&app, "omar", 100).await;
    let (ok_id, ok_key, ok_issued) = presign(&app, "omar", 100).await;
    // The declared size travels in the callback, bound by the ticket.
    assert_eq!(
        off_issued.vars.get("x:declared_size").map(String::as_str),
        Some("100"),
        "{:?}",
        off_issued.vars.keys()
    );

    // Redis up: one byte more than declared is refused and the record fails.
    let with_redis = error_code(
        oss_sim::callback(&keys, &up_issued, &stored(&up_key, "E0", 101))
            .send(&app)
            .await,
    )
    .await;
    assert_eq!(
        (with_redis.0, with_redis.1.as_str()),
        (422, "upload-rejected")
    );
    assert!(with_redis.2.contains("declared"), "{}", with_redis.2);
    assert_eq!(status_of(&app, "omar", &up_id).await, "failed");

    // Redis stalled (SIGSTOP): the same refusal, and nothing journaled for it.
    redis.pause();
    let stalled = error_code(
        oss_sim::callback(&keys, &off_issued, &stored(&off_key, "E1", 101))
            .send(&app)
            .await,
    )
    .await;
    assert_eq!(stalled, with_redis);
    let text = app.metrics_text().await;
    assert!(
        text.contains("upload_gateway_callback_journal_depth 0"),
        "refused before journaling"
    );
    // A callback whose declared size was edited fails its ticket instead.
    let mut edited = off_issued.clone();
    edited.vars.insert("x:declared_size".into(), "101".into());
    let (status, _, _) = error_code(
        oss_sim::callback(&keys, &edited, &stored(&off_key, "E1", 101))
            .send(&app)
            .await,
    )
    .await;
    assert!(matches!(status, 400..=499), "{status}");
    assert_eq!(journal_depth(&app).await, 0.0);

    // A valid one is journaled and answered as it will be recorded.
    let resp = oss_sim::callback(&keys, &ok_issued, &stored(&ok_key, "E2", 100))
        .send(&app)
        .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["status"], "completed");
    assert_eq!(journal_depth(&app).await, 1.0);

    redis.resume();
    let drained = eventually(Duration::from_secs(15), || async {
        (journal_depth(&app).await == 0.0).then_some(())
    })
    .await;
    assert!(drained.is_some(), "journal replayed");
    assert_eq!(status_of(&app, "omar", &ok_id).await, "completed");
    // The refused one was never recorded completed; storage settles it on expiry.
    assert_eq!(status_of(&app, "omar", &off_id).await, "issued");
}

#[tokio::test]
async fn a_callback_over_the_profile_limits_is_refused_unjournaled_while_redis_is_down() {
    let keys = KeyServer::start().await;
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let app = app_with_journal(&redis, &keys).await;
    let (_, key0, issued0) = presign(&app, "erin", 100).await;
    let (id1, key1, issued1) = presign(&app, "erin", 100).await;
    let (id2, key2, issued2) = presign(&app, "erin", 100).await;
    // Warm the key cache so that only Redis is in play.
    let warm = oss_sim::callback(&keys, &issued0, &stored(&key0, "E0", 100));
    assert_eq!(warm.send(&app).await.status(), 200);

    redis.stop();
    let big = oss_sim::callback(&keys, &issued1, &stored(&key1, "E1", 20 * 1024 * 1024));
    let (status, code, message) = error_code(big.send(&app).await).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    assert!(message.contains("exceeds the limit"), "{message}");
    let mut pdf = stored(&key2, "E2", 100);
    pdf.mime_type = "application/pdf".into();
    let (status, code, _) =
        error_code(oss_sim::callback(&keys, &issued2, &pdf).send(&app).await).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    let text = app.metrics_text().await;
    assert!(text.contains("upload_gateway_callback_journal_depth 0"));
    assert!(
        text.contains(r#"upload_gateway_callbacks_total{provider="oss",result="rejected"} 2"#),
        "{}",
        text.lines()
            .filter(|l| l.contains("callbacks_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    redis.launch_again();
    eventually(Duration::from_secs(15), || async {
        app.get_upload("erin", &id1)
            .await
            .status()
            .is_success()
            .then_some(())
    })
    .await
    .expect("redis back");
    for id in [id1, id2] {
        assert_eq!(status_of(&app, "erin", &id).await, "issued", "{id}");
    }
}
