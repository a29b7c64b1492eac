//! Callbacks whose template the client wrote (STS credentials attach any `x-oss-callback`):
//! storage signs whatever the template says, so the gateway records what its own signed
//! HeadObject answers, against `oss-local`, which holds the real objects.

use crate::helpers::*;
use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with};
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::sts_standin::{Behaviour, StsStandIn};
use reqwest::Method;
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

struct Setup {
    keys: KeyServer,
    storage: LocalStore,
    app: TestApp,
    _sts: StsStandIn,
}

async fn setup() -> Setup {
    let keys = KeyServer::start().await;
    let storage = LocalStore::start().await;
    let sts = StsStandIn::start(Behaviour::default()).await;
    let (sts_url, prefix) = (sts.url.clone(), keys.prefix());
    let app = gateway_with(&storage, "v4", move |raw| {
        raw.callbacks.key_url_prefixes = vec![prefix];
        crate::rights::with_sts(raw, &sts_url, 3000);
    })
    .await;
    Setup {
        keys,
        storage,
        app,
        _sts: sts,
    }
}

/// What the client's own template makes storage send: the client's words.
fn claimed(key: &str, size: u64, mime: &str) -> Stored {
    Stored {
        bucket: STORE_BUCKET.into(),
        object: key.into(),
        etag: "D41D8CD98F00B204E9800998ECF8427E".into(),
        size,
        mime_type: mime.into(),
    }
}

async fn grant(app: &TestApp, user: &str) -> Issued {
    let resp = app
        .as_user(user, Method::POST, "/v1/credentials")
        .json(&json!({"profile": "avatars"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let g: Value = resp.json().await.unwrap();
    Issued::from_params(
        g["callback"]["callback"].as_str().unwrap(),
        g["callback"]["callback-var"].as_str().unwrap(),
    )
}

async fn event_count(app: &TestApp) -> usize {
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    crate::store_harness::stream_events(&mut c, &app.prefix)
        .await
        .len()
}

#[tokio::test]
async fn sts_callbacks_are_recorded_with_what_storage_holds_not_what_the_template_claims() {
    let s = setup().await;
    let issued = grant(&s.app, "ivy").await;
    let held = s
        .storage
        .store
        .put_object(STORE_BUCKET, "avatars/ivy/a.png", "image/png", &[7; 10])
        .await
        .unwrap();
    let cb = oss_sim::callback(
        &s.keys,
        &issued,
        &claimed("avatars/ivy/a.png", 10, "image/png"),
    );
    let resp = cb.send(&s.app).await;
    assert_eq!(resp.status(), 200);
    let first: Value = resp.json().await.unwrap();
    let id = first["upload_id"].as_str().unwrap().to_string();
    assert_eq!(first["etag"], held.etag.as_str());
    let rec: Value = s.app.get_upload("ivy", &id).await.json().await.unwrap();
    assert_eq!(
        (rec["kind"].as_str(), rec["status"].as_str()),
        (Some("sts"), Some("completed"))
    );
    assert_eq!(rec["key"], "avatars/ivy/a.png");
    // The same delivery again names the same record.
    let again: Value = cb.send(&s.app).await.json().await.unwrap();
    assert_eq!(again["upload_id"], id.as_str());

    // 11 MiB of an executable under a 10 MiB image profile, claimed as a 1 KiB PNG.
    let key = "avatars/ivy/big.png";
    s.storage
        .store
        .put_object(
            STORE_BUCKET,
            key,
            "application/x-msdownload",
            &vec![1; 11 * MIB],
        )
        .await
        .unwrap();
    let lie = oss_sim::callback(&s.keys, &issued, &claimed(key, 1024, "image/png"));
    let (status, code, message) = error_code(lie.send(&s.app).await).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    assert!(message.contains("exceeds the limit"), "{message}");
    let failed: Value = s
        .app
        .list_uploads("ivy", "?status=failed")
        .await
        .json()
        .await
        .unwrap();
    let items = failed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["size"], 11 * MIB);
    assert_eq!(items[0]["content_type"], "application/x-msdownload");

    // A callback for an object storage does not hold records nothing.
    let ghost = oss_sim::callback(
        &s.keys,
        &issued,
        &claimed("avatars/ivy/ghost.png", 5, "image/png"),
    );
    let (status, code, _) = error_code(ghost.send(&s.app).await).await;
    assert_eq!((status, code.as_str()), (409, "object-missing"));
    assert_eq!(event_count(&s.app).await, 2);
}

#[tokio::test]
async fn sts_object_keys_obey_the_object_key_rules_and_stay_inside_the_prefix() {
    let s = setup().await;
    let issued = grant(&s.app, "ivy").await;
    let long = format!("avatars/ivy/{}.png", "a".repeat(2000));
    for object in [
        "avatars/eve/x.png",
        "avatars/ivy/",
        "avatars/ivyx/y.png",
        "avatars/ivy/../bob/evil.png",
        "avatars/ivy/./x.png",
        "avatars/ivy/a\u{0}b.png",
        "avatars/ivy/a\u{1b}[31m.png",
        "avatars/ivy/a\\b.png",
        "avatars/ivy//x.png",
        long.as_str(),
    ] {
        let cb = oss_sim::callback(&s.keys, &issued, &claimed(object, 10, "image/png"));
        let (status, code, _) = error_code(cb.send(&s.app).await).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "callback-binding-mismatch"),
            "{object:?}"
        );
    }
    let all: Value = s.app.list_uploads("ivy", "").await.json().await.unwrap();
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        1,
        "only the grant: {all}"
    );
    assert_eq!(event_count(&s.app).await, 0);
    // Nothing was asked of storage for them either.
    assert_eq!(s.storage.store.stats.get("HeadObject"), 0);
}

#[tokio::test]
async fn a_presign_ticket_replayed_through_sts_is_judged_by_what_storage_holds() {
    let s = setup().await;
    let resp = s
        .app
        .as_user("mallory", Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "avatars", "filename": "me.png", "content_type": "image/png", "size": 1024}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let (id, key) = (
        body["upload_id"].as_str().unwrap(),
        body["key"].as_str().unwrap(),
    );
    // The ticket sits in the presigned URL; with STS credentials the client PUTs 2.6 MB of
    // PHP at the same key, with its own template carrying that ticket and a matching claim.
    let issued = Issued::from_url(body["url"].as_str().unwrap());
    s.storage
        .store
        .put_object(STORE_BUCKET, key, "text/x-php", &vec![b'<'; 2_600_000])
        .await
        .unwrap();
    let lie = oss_sim::callback(&s.keys, &issued, &claimed(key, 1024, "image/png"));
    let (status, code, _) = error_code(lie.send(&s.app).await).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    let rec: Value = s.app.get_upload("mallory", id).await.json().await.unwrap();
    assert_eq!(rec["status"], "failed");
    assert_eq!(rec["size"], 2_600_000);
    assert_eq!(rec["content_type"], "text/x-php");
}
