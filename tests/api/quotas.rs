//! Per-user quotas end to end on a real redis-server (and the shared Redis Cluster): exact
//! admission under 50 parallel requests, settlement with the size storage reports, release
//! on abort, expiry, delete, and after a crash between a record's final step and its quota
//! step.

use crate::helpers::*;
use crate::multipart::{LocalStore, gateway_with, json_of};
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::store_harness::spawn_app_on_cluster;
use redis::AsyncCommands;
use reqwest::Method;
use serde_json::{Value, json};
use upload_gateway::config::raw::{QuotaSection, RawSettings};
use upload_gateway::domain::{UploadId, UploadStatus};

fn quotas(raw: &mut RawSettings, bytes: Option<u64>, objects: Option<u64>) {
    // Fifty requests at once from one user: the rate limit is not what is tested here.
    raw.rate_limit.enabled = false;
    raw.profiles.get_mut("avatars").unwrap().quota = Some(QuotaSection { bytes, objects });
}

fn presign_body(size: u64) -> Value {
    json!({"profile": "avatars", "filename": "me.png", "content_type": "image/png", "size": size})
}

async fn presign(app: &TestApp, user: &str, size: u64) -> reqwest::Response {
    app.as_user(user, Method::POST, "/v1/uploads/presign")
        .json(&presign_body(size))
        .send()
        .await
        .unwrap()
}

/// The caller's usage of `scope`.
async fn usage(app: &TestApp, user: &str, scope: &str) -> Value {
    let (status, v) = json_of(
        app.as_user(user, Method::GET, "/v1/quota")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["scope"] == scope)
        .cloned()
        .unwrap_or_else(|| panic!("no scope {scope} in {v}"))
}

async fn parallel_presigns(app: &TestApp, user: &str, size: u64, n: usize) -> (usize, Vec<Value>) {
    let asks = (0..n).map(|_| presign(app, user, size));
    let mut admitted = 0;
    let mut refusals = Vec::new();
    for resp in futures_util::future::join_all(asks).await {
        match resp.status().as_u16() {
            200 => admitted += 1,
            403 => refusals.push(resp.json::<Value>().await.unwrap()),
            other => panic!("unexpected {other}: {}", resp.text().await.unwrap()),
        }
    }
    (admitted, refusals)
}

#[tokio::test]
async fn fifty_parallel_rights_against_a_small_quota_admit_exactly_what_fits() {
    // 7 objects; and for bob 1000 bytes, i.e. three rights of 300.
    let app = spawn_app_with(|raw| {
        quotas(raw, None, Some(7));
        raw.quota = Some(QuotaSection {
            bytes: Some(1000),
            objects: None,
        });
    })
    .await;
    let (admitted, refusals) = parallel_presigns(&app, "alice", 10, 50).await;
    assert_eq!(admitted, 7);
    assert_eq!(refusals.len(), 43);
    for r in &refusals {
        assert_eq!(r["code"], "quota-exceeded", "{r}");
        assert_eq!(r["quota"]["scope"], "profile:avatars", "{r}");
        assert_eq!(r["quota"]["objects_limit"], 7);
        assert_eq!(r["quota"]["objects_remaining"], 0);
        assert!(
            r["message"].as_str().unwrap().contains("0 objects left"),
            "{r}"
        );
    }
    let u = usage(&app, "alice", "profile:avatars").await;
    assert_eq!(
        (u["used_objects"].as_u64(), u["objects_remaining"].as_u64()),
        (Some(7), Some(0))
    );
    assert_eq!(usage(&app, "alice", "all").await["used_bytes"], 70);

    let (admitted, refusals) = parallel_presigns(&app, "bob", 300, 50).await;
    assert_eq!(admitted, 3);
    assert_eq!(refusals[0]["quota"]["scope"], "all");
    assert_eq!(refusals[0]["quota"]["bytes_remaining"], 100);
    assert_eq!(refusals[0]["quota"]["requested_bytes"], 300);
    let u = usage(&app, "bob", "all").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["bytes_remaining"].as_u64()),
        (Some(900), Some(100))
    );
    // What is left still fits a smaller right.
    assert_eq!(presign(&app, "bob", 100).await.status(), 200);
    assert_eq!(presign(&app, "bob", 1).await.status(), 403);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"upload_gateway_quota_refused_total{profile="avatars"} 91"#),
        "{metrics}"
    );
}

/// Posts a form as a browser would: the returned fields in order, the file last.
async fn post_form(answer: &Value, file: &std::path::Path) -> (u16, String) {
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["-s", "-o", "-", "-w", "\n%{http_code}"]);
    for f in answer["fields"].as_array().unwrap() {
        let (k, v) = (f["name"].as_str().unwrap(), f["value"].as_str().unwrap());
        cmd.args(["--form-string", &format!("{k}={v}")]);
    }
    cmd.args(["-F", &format!("file=@{};type=image/png", file.display())]);
    let out = cmd
        .arg(answer["url"].as_str().unwrap())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

#[tokio::test]
async fn a_form_reserves_the_size_limit_and_settles_to_what_storage_stored_until_deleted() {
    let storage = LocalStore::start().await;
    let app = gateway_with(&storage, "v4", |raw| quotas(raw, Some(25 << 20), Some(10))).await;
    let (status, form) = json_of(
        app.as_user("alice", Method::POST, "/v1/uploads/form")
            .json(
                &json!({"profile": "avatars", "filename": "tiny.png", "content_type": "image/png"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{form}");
    // No declared size: the profile's max_size_bytes (10 MiB) is held.
    let held = usage(&app, "alice", "profile:avatars").await;
    assert_eq!(held["used_bytes"], 10 << 20);

    let file = fixtures().join("content/tiny.png");
    let real = std::fs::metadata(&file).unwrap().len();
    let (code, body) = post_form(&form, &file).await;
    assert_eq!(code, 200, "{body}");
    let id = form["upload_id"].as_str().unwrap();
    let rec: Value = app.get_upload("alice", id).await.json().await.unwrap();
    assert_eq!(rec["status"], "completed", "{rec}");
    assert_eq!(rec["size"], real);
    let settled = usage(&app, "alice", "profile:avatars").await;
    assert_eq!(
        (
            settled["used_bytes"].as_u64(),
            settled["used_objects"].as_u64()
        ),
        (Some(real), Some(1))
    );

    // Settling again (a replayed callback, the reconciler) changes nothing.
    let r = app
        .store()
        .get_record(&UploadId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store().settle_quota(&r).await.unwrap(),
        upload_gateway::store::Settled::Nothing
    );
    assert_eq!(
        usage(&app, "alice", "profile:avatars").await["used_bytes"],
        real
    );

    let resp = app
        .as_user("alice", Method::DELETE, &format!("/v1/uploads/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let gone = usage(&app, "alice", "profile:avatars").await;
    assert_eq!(
        (gone["used_bytes"].as_u64(), gone["used_objects"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn an_abort_and_an_expiry_give_the_quota_back() {
    let storage = LocalStore::start().await;
    let app = gateway_with(&storage, "v4", |raw| {
        quotas(raw, Some(1 << 20), Some(5));
        raw.profiles.get_mut("documents").unwrap().quota = Some(QuotaSection {
            bytes: Some(1 << 30),
            objects: Some(5),
        });
    })
    .await;
    // A multipart upload, aborted.
    let (status, mp) = json_of(
        app.as_user("alice", Method::POST, "/v1/multipart")
            .json(&json!({"profile": "documents", "filename": "r.pdf", "content_type": "application/pdf", "size": 12345}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{mp}");
    assert_eq!(
        usage(&app, "alice", "profile:documents").await["used_bytes"],
        12345
    );
    let id = mp["upload_id"].as_str().unwrap();
    let resp = app
        .as_user("alice", Method::DELETE, &format!("/v1/multipart/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let u = usage(&app, "alice", "profile:documents").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["used_objects"].as_u64()),
        (Some(0), Some(0))
    );

    // A presigned upload that never arrives: the reconciler expires it and releases it.
    let body: Value = presign(&app, "alice", 4321).await.json().await.unwrap();
    let id = UploadId::parse(body["upload_id"].as_str().unwrap()).unwrap();
    assert_eq!(
        usage(&app, "alice", "profile:avatars").await["used_bytes"],
        4321
    );
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = c
        .zadd(app.store().keys().deadlines_for(&id), id.as_str(), 0)
        .await
        .unwrap();
    app.app_state.uploads.reconcile_once().await.unwrap();
    let rec = app.store().get_record(&id).await.unwrap().unwrap();
    assert_eq!(rec.status, UploadStatus::Expired);
    let u = usage(&app, "alice", "profile:avatars").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["used_objects"].as_u64()),
        (Some(0), Some(0))
    );
}

#[tokio::test]
async fn a_crash_between_the_final_step_and_the_quota_step_is_repaired_after_the_deadline() {
    let app = spawn_app_with(|raw| quotas(raw, Some(1000), None)).await;
    let body: Value = presign(&app, "carol", 600).await.json().await.unwrap();
    let id = UploadId::parse(body["upload_id"].as_str().unwrap()).unwrap();
    // The record goes final behind the gateway's back (as if the process died right after
    // the transition): the reservation is still held, so 600 more do not fit.
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = app.store().keys().record(&id);
    let json: String = c.get(&key).await.unwrap();
    let mut rec: Value = serde_json::from_str(&json).unwrap();
    rec["status"] = json!("aborted");
    let _: () = c.set(&key, rec.to_string()).await.unwrap();
    assert_eq!(presign(&app, "carol", 600).await.status(), 403);
    // Once the reservation's deadline has passed, the next refusal (or GET /v1/quota)
    // settles it by the record's status, and the right is admitted.
    let [_, _, _, due] = app
        .store()
        .keys()
        .quota(&upload_gateway::domain::UserId::parse("carol").unwrap());
    let _: () = c.zadd(&due, id.as_str(), 0).await.unwrap();
    assert_eq!(presign(&app, "carol", 600).await.status(), 200);
    assert_eq!(
        usage(&app, "carol", "profile:avatars").await["used_bytes"],
        600
    );
}

#[tokio::test]
async fn on_a_redis_cluster_reservations_are_exact_and_settle_on_completion() {
    let keys = KeyServer::start().await;
    let storage = LocalStore::start().await;
    let store_url = storage.url();
    let app = spawn_app_on_cluster(|raw| {
        crate::multipart::use_store(raw, &store_url, "v4");
        raw.callbacks.key_url_prefixes = vec![keys.prefix()];
        quotas(raw, Some(1 << 20), Some(5));
    })
    .await;
    let user = format!("dana-{}", uuid::Uuid::new_v4().simple());
    let asks = (0..20).map(|_| presign(&app, &user, 100));
    let mut issued = Vec::new();
    for resp in futures_util::future::join_all(asks).await {
        if resp.status() == 200 {
            issued.push(resp.json::<Value>().await.unwrap());
        } else {
            assert_eq!(error_code(resp).await.1, "quota-exceeded");
        }
    }
    assert_eq!(issued.len(), 5);
    // One completes by callback (the record's slot, then the user's slot).
    let first = &issued[0];
    let key = first["key"].as_str().unwrap();
    crate::store::put(&storage, key).await;
    let cb = oss_sim::callback(
        &keys,
        &Issued::from_url(first["url"].as_str().unwrap()),
        &Stored {
            bucket: crate::multipart::STORE_BUCKET.into(),
            object: key.into(),
            etag: "E1".into(),
            size: 100,
            mime_type: "image/png".into(),
        },
    );
    assert_eq!(cb.send(&app).await.status(), 200);
    // One is aborted through the store (a final transition on the cluster).
    let second = UploadId::parse(issued[1]["upload_id"].as_str().unwrap()).unwrap();
    app.store()
        .finish_record(&second, UploadStatus::Aborted)
        .await
        .unwrap();
    let u = usage(&app, &user, "profile:avatars").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["used_objects"].as_u64()),
        (Some(400), Some(4))
    );
    let v: Value = app
        .as_user(&user, Method::GET, "/v1/quota")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["pending_uploads"], 3, "{v}");
}

#[tokio::test]
async fn an_sts_grant_holds_one_limit_and_objects_under_it_are_charged_as_they_arrive() {
    use crate::multipart::STORE_BUCKET;
    use crate::sts_standin::{Behaviour, StsStandIn};
    let keys = KeyServer::start().await;
    let storage = LocalStore::start().await;
    let sts = StsStandIn::start(Behaviour::default()).await;
    let (sts_url, key_prefix) = (sts.url.clone(), keys.prefix());
    let app = gateway_with(&storage, "v4", move |raw| {
        raw.callbacks.key_url_prefixes = vec![key_prefix];
        crate::rights::with_sts(raw, &sts_url, 3000);
        quotas(raw, Some(25 << 20), Some(5));
    })
    .await;
    let credentials = || async {
        let (status, g) = json_of(
            app.as_user("ivy", Method::POST, "/v1/credentials")
                .json(&json!({"profile": "avatars"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{g}");
        g
    };
    let g = credentials().await;
    // A cached grant is the same right: nothing more is reserved.
    credentials().await;
    let u = usage(&app, "ivy", "profile:avatars").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["used_objects"].as_u64()),
        (Some(10 << 20), Some(1))
    );

    let issued = Issued::from_params(
        g["callback"]["callback"].as_str().unwrap(),
        g["callback"]["callback-var"].as_str().unwrap(),
    );
    storage
        .store
        .put_object(STORE_BUCKET, "avatars/ivy/a.png", "image/png", &[7; 10])
        .await
        .unwrap();
    // The template claims 999 bytes; storage holds 10, and 10 are charged, once.
    let cb = oss_sim::callback(
        &keys,
        &issued,
        &Stored {
            bucket: STORE_BUCKET.into(),
            object: "avatars/ivy/a.png".into(),
            etag: "E1".into(),
            size: 999,
            mime_type: "image/png".into(),
        },
    );
    for _ in 0..2 {
        assert_eq!(cb.send(&app).await.status(), 200);
    }
    let u = usage(&app, "ivy", "profile:avatars").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["used_objects"].as_u64()),
        (Some((10 << 20) + 10), Some(2))
    );

    // The grant expires (reconciler): its hold is released, the object stays counted.
    let grant = UploadId::parse(g["grant_id"].as_str().unwrap()).unwrap();
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = c
        .zadd(app.store().keys().deadlines_for(&grant), grant.as_str(), 0)
        .await
        .unwrap();
    app.app_state.uploads.reconcile_once().await.unwrap();
    let u = usage(&app, "ivy", "profile:avatars").await;
    assert_eq!(
        (u["used_bytes"].as_u64(), u["used_objects"].as_u64()),
        (Some(10), Some(1))
    );
}
