//! The callback receiver end to end: rights issued by the gateway, callbacks built and signed
//! as OSS builds them, keys served by a local allow-listed key server, a real redis-server
//! (stopped and frozen mid-test), and the real binary killed and restarted over its journal.

use crate::helpers::*;
use crate::oss_sim::{self, Callback, Issued, KeyServer, Stored};
use crate::store_harness::stream_events;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use upload_gateway::config::raw::RawSettings;

fn allow(raw: &mut RawSettings, keys: &KeyServer) {
    raw.callbacks.key_url_prefixes = vec![keys.prefix()];
}

async fn presign(app: &TestApp, user: &str, size: u64) -> (String, String, Issued) {
    let resp = app
        .as_user(user, Method::POST, "/v1/uploads/presign")
        .json(
            &json!({"profile": "avatars", "filename": "me.png", "content_type": "image/png",
                      "size": size, "vars": {"album": "summer"}}),
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

async fn events(app: &TestApp) -> Vec<HashMap<String, String>> {
    events_in(shared_redis(), &app.prefix).await
}

async fn events_in(redis: &RedisServer, prefix: &str) -> Vec<HashMap<String, String>> {
    let mut c = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    stream_events(&mut c, prefix).await
}

#[tokio::test]
async fn a_genuine_callback_completes_its_upload_exactly_once() {
    let keys = KeyServer::start().await;
    let app = spawn_app_with(|raw| {
        allow(raw, &keys);
        raw.callbacks.response_fields = vec!["image_info".into(), "vars".into()];
    })
    .await;
    let (id, key, issued) = presign(&app, "alice", 1234).await;
    let cb = oss_sim::callback(&keys, &issued, &stored(&key, "5B3C1A2E0F", 1234));

    let resp = cb.send(&app).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["upload_id"], id.as_str());
    assert_eq!(answer["key"], key.as_str());
    assert_eq!(answer["status"], "completed");
    assert_eq!(answer["size"], 1234);
    assert_eq!(answer["etag"], "5B3C1A2E0F");
    assert_eq!(answer["content_type"], "image/png");
    assert_eq!(answer["image_info"]["width"], 640);
    assert_eq!(answer["vars"]["album"], "summer");
    assert!(answer.get("user").is_none());

    let rec: Value = app.get_upload("alice", &id).await.json().await.unwrap();
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["size"], 1234);
    assert_eq!(rec["crc64"], "1234567890");
    assert_eq!(rec["image_info"]["format"], "png");
    assert!(rec["completed_at"].is_string());
    assert!(
        rec["vars"].get("ticket").is_none(),
        "the ticket is not a user var"
    );

    let evs = events(&app).await;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["type"], "upload.completed");
    assert_eq!(evs[0]["upload_id"], id);
    assert_eq!(evs[0]["user"], "alice");
    assert_eq!(evs[0]["key"], key);
    assert_eq!(evs[0]["size"], "1234");
    assert!(rec["event_id"].as_str().is_some());

    // Delivered again (a replay by anyone who captured it): same answer, nothing changes.
    let again = cb.send(&app).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), answer);
    assert_eq!(events(&app).await.len(), 1);
    let rec2: Value = app.get_upload("alice", &id).await.json().await.unwrap();
    assert_eq!(rec2["updated_at"], rec["updated_at"]);

    // Another object version for the same upload id is a conflict.
    let other = oss_sim::callback(&keys, &issued, &stored(&key, "FFFF0000", 1234));
    let (status, code, _) = error_code(other.send(&app).await).await;
    assert_eq!((status, code.as_str()), (409, "callback-conflict"));
    assert_eq!(events(&app).await.len(), 1);

    let text = app.metrics_text().await;
    for line in [
        r#"upload_gateway_callbacks_total{provider="oss",result="accepted"} 1"#,
        r#"upload_gateway_callbacks_total{provider="oss",result="duplicate"} 1"#,
        r#"upload_gateway_callbacks_total{provider="oss",result="conflict"} 1"#,
        r#"upload_gateway_callback_conflicts_total{provider="oss"} 1"#,
        r#"upload_gateway_callback_key_fetches_total{result="fetched"} 1"#,
    ] {
        assert!(text.contains(line), "missing {line}");
    }
    assert!(text.contains("upload_gateway_callback_duration_seconds_bucket"));
    assert_eq!(keys.hits(), 1, "the key is fetched once and cached");
}

#[tokio::test]
async fn forged_rebound_and_malformed_callbacks_are_refused_and_nothing_is_recorded() {
    let keys = KeyServer::start().await;
    let app = spawn_app_with(|raw| allow(raw, &keys)).await;
    let (id, key, issued) = presign(&app, "alice", 10).await;
    let (bob_id, bob_key, bob_issued) = presign(&app, "bob", 10).await;
    let good = oss_sim::callback(&keys, &issued, &stored(&key, "E1", 10));

    let expect = |status: u16, code: &'static str| (status, code.to_string());
    let mut cases: Vec<(&str, Callback, (u16, String))> = Vec::new();

    let mut tampered = good.clone();
    tampered.body = String::from_utf8(tampered.body)
        .unwrap()
        .replace("\"size\":10", "\"size\":11")
        .into_bytes();
    cases.push((
        "body changed after signing",
        tampered,
        expect(403, "callback-bad-signature"),
    ));

    let mut query_added = good.clone();
    query_added.target.push_str("?x=1");
    cases.push((
        "query added",
        query_added,
        expect(403, "callback-bad-signature"),
    ));

    // Alice's ticket with bob's upload id, signed by "OSS": the ticket does not cover it.
    let mut rebound = issued.clone();
    rebound.vars.insert("x:upload_id".into(), bob_id.clone());
    let rebound = oss_sim::callback(&keys, &rebound, &stored(&bob_key, "E1", 10));
    cases.push((
        "ticket re-pointed",
        rebound,
        expect(403, "callback-binding-mismatch"),
    ));

    // Bob's genuine variables attached to an object under alice's prefix.
    let wrong_object = oss_sim::callback(&keys, &bob_issued, &stored(&key, "E1", 10));
    cases.push((
        "wrong object",
        wrong_object,
        expect(403, "callback-binding-mismatch"),
    ));

    let mut other_bucket = stored(&key, "E1", 10);
    other_bucket.bucket = "elsewhere".into();
    cases.push((
        "wrong bucket",
        oss_sim::callback(&keys, &issued, &other_bucket),
        expect(403, "callback-binding-mismatch"),
    ));

    let mut no_ticket = issued.clone();
    no_ticket.vars.remove("x:ticket");
    cases.push((
        "no ticket",
        oss_sim::callback(&keys, &no_ticket, &stored(&key, "E1", 10)),
        expect(400, "callback-malformed"),
    ));

    // A valid ticket for an upload id the gateway never recorded.
    let ghost = upload_gateway::domain::UploadId::new();
    let ticket = upload_gateway::domain::ticket::issue(
        TICKET_SECRET.as_bytes(),
        "alice",
        &upload_gateway::domain::ticket::TicketScope::Object {
            upload_id: ghost.as_str(),
            key: &key,
            declared_size: issued
                .vars
                .get("x:declared_size")
                .map(|n| n.parse().unwrap()),
        },
    );
    let mut ghost_vars = issued.clone();
    ghost_vars
        .vars
        .insert("x:upload_id".into(), ghost.to_string());
    ghost_vars.vars.insert("x:ticket".into(), ticket);
    cases.push((
        "unknown upload",
        oss_sim::callback(&keys, &ghost_vars, &stored(&key, "E1", 10)),
        expect(404, "not-found"),
    ));

    let mut no_sig = good.clone();
    no_sig.authorization = "%%%".into();
    cases.push((
        "signature not base64",
        no_sig,
        expect(400, "callback-malformed"),
    ));

    let mut wrong_type = good.clone();
    wrong_type.content_type = "text/plain".into();
    cases.push((
        "wrong content type",
        wrong_type.resign(),
        expect(415, "unsupported-media-type"),
    ));

    for url in [
        "http://gosspublic.alicdn.com.evil.example/callback_pub_key_v1.pem",
        "http://gosspublic.alicdn.com@evil.example/x.pem",
        "http://127.0.0.2/key.pem",
        &format!("http://127.0.0.1:{}@evil.example/key.pem", keys.port),
        "file:///etc/passwd",
        "ftp://127.0.0.1/key.pem",
        // Allowed for OSS, but this deployment's allow-list names only the local server.
        "http://gosspublic.alicdn.com/callback_pub_key_v1.pem",
    ] {
        let mut c = good.clone();
        c.pub_key_url_b64 = STANDARD.encode(url);
        cases.push(("key url", c, expect(400, "callback-key-url-rejected")));
    }

    for (name, cb, want) in cases {
        let resp = cb.send(&app).await;
        let (status, code, message) = error_code(resp).await;
        assert_eq!((status, code.clone()), want, "{name}: {message}");
        assert!(!message.is_empty());
    }
    assert_eq!(
        keys.hits(),
        1,
        "only the allow-listed key was fetched (once); nothing else"
    );

    // Headers missing, body too large.
    let resp = app
        .client
        .post(app.url("/v1/callbacks/oss"))
        .body("bucket=b")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await.1, "callback-malformed");
    let resp = app
        .client
        .post(app.url("/v1/callbacks/oss"))
        .header("authorization", &good.authorization)
        .header("x-oss-pub-key-url", &good.pub_key_url_b64)
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await.0, 413);

    for (user, id) in [("alice", &id), ("bob", &bob_id)] {
        let rec: Value = app.get_upload(user, id).await.json().await.unwrap();
        assert_eq!(rec["status"], "issued", "{user}'s upload untouched");
    }
    assert!(events(&app).await.is_empty());
    let text = app.metrics_text().await;
    for result in [
        "bad_signature",
        "binding_mismatch",
        "key_url_rejected",
        "malformed",
        "unknown_upload",
    ] {
        // Every result is exported from start-up at 0, so the count must have moved.
        let line =
            format!(r#"upload_gateway_callbacks_total{{provider="oss",result="{result}"}} "#);
        assert!(
            text.lines()
                .any(|l| l.starts_with(&line) && !l.ends_with(" 0")),
            "{result} not counted"
        );
    }

    // The genuine one still works afterwards.
    assert_eq!(good.send(&app).await.status(), 200);
}

#[tokio::test]
async fn key_fetches_are_bounded_single_flight_and_never_follow_redirects() {
    let keys = KeyServer::start().await;
    let app = spawn_app_with(|raw| {
        allow(raw, &keys);
        raw.callbacks.key_fetch_timeout_ms = 500;
        raw.callbacks.key_max_bytes = 4096;
    })
    .await;
    let (_, key, issued) = presign(&app, "carol", 10).await;
    let good = oss_sim::callback(&keys, &issued, &stored(&key, "E1", 10));

    for path in ["redirect.pem", "big.pem", "slow.pem", "missing.pem"] {
        let mut c = good.clone();
        c.pub_key_url_b64 = keys.url_b64(path);
        let started = Instant::now();
        let (status, code, message) = error_code(c.send(&app).await).await;
        assert_eq!(
            (status, code.as_str()),
            (502, "callback-key-unavailable"),
            "{path}"
        );
        assert!(
            !message.contains("127.0.0.1"),
            "no internals in the answer: {message}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path} bounded by the timeout"
        );
    }
    let after_failures = keys.hits();
    assert_eq!(after_failures, 4, "the redirect was not followed");

    // Ten callbacks at once on a cold cache: one fetch.
    let sends = (0..10).map(|_| good.send(&app));
    let answers = futures_util::future::join_all(sends).await;
    let ok = answers.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 10);
    assert_eq!(keys.hits(), after_failures + 1);
}

#[tokio::test]
async fn callbacks_are_journaled_while_redis_is_down_or_hung_and_replayed_once() {
    let keys = KeyServer::start().await;
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let app = spawn_app_on(&redis.url(), |raw| {
        allow(raw, &keys);
        raw.callbacks.redis_timeout_ms = 300;
        raw.callbacks.replay_interval_ms = 200;
    })
    .await;
    let mut uploads = Vec::new();
    for i in 0..4u64 {
        let (id, key, issued) = presign(&app, "dave", 100 + i).await;
        uploads.push((
            id,
            oss_sim::callback(&keys, &issued, &stored(&key, &format!("E{i}"), 100 + i)),
        ));
    }
    // Warm the key cache so that only Redis is in play.
    assert_eq!(uploads[0].1.send(&app).await.status(), 200);

    // Hung: the connection stays open and nothing answers.
    redis.pause();
    let started = Instant::now();
    let resp = uploads[1].1.send(&app).await;
    assert_eq!(resp.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "answered within the budget: {:?}",
        started.elapsed()
    );
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["upload_id"], uploads[1].0.as_str());
    assert_eq!(answer["status"], "completed");

    // Down.
    redis.resume();
    redis.stop();
    for (_, cb) in &uploads[2..] {
        let started = Instant::now();
        assert_eq!(cb.send(&app).await.status(), 200);
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    // The same callback twice while down: journaled twice, recorded once.
    assert_eq!(uploads[3].1.send(&app).await.status(), 200);
    let text = app.metrics_text().await;
    assert!(
        text.contains("upload_gateway_callback_journal_depth 4"),
        "{}",
        grep(&text, "journal")
    );
    assert!(
        text.contains(r#"upload_gateway_callbacks_total{provider="oss",result="journaled"} 4"#)
    );

    // Redis is back with what it had (append-only file, fsync always): replay completes the
    // journaled uploads, once each.
    redis.launch_again();
    let done = eventually(Duration::from_secs(15), || async {
        let t = app.metrics_text().await;
        t.contains("upload_gateway_callback_journal_depth 0")
            .then_some(t)
    })
    .await
    .expect("journal drained");
    let replayed =
        |r: &str| format!(r#"upload_gateway_callback_journal_replayed_total{{result="{r}"}} "#);
    assert!(
        done.contains(&(replayed("applied") + "3")),
        "{}",
        grep(&done, "replayed")
    );
    assert!(
        done.contains(&(replayed("duplicate") + "1")),
        "{}",
        grep(&done, "replayed")
    );
    for (id, _) in &uploads {
        let rec: Value = app.get_upload("dave", id).await.json().await.unwrap();
        assert_eq!(rec["status"], "completed", "{id}");
    }
    let evs = events_in(&redis, &app.prefix).await;
    assert_eq!(evs.len(), 4, "one event per upload, none doubled");
    // Sent again now: duplicates, still four events.
    for (_, cb) in &uploads {
        assert_eq!(cb.send(&app).await.status(), 200);
    }
    assert_eq!(events_in(&redis, &app.prefix).await.len(), 4);
}

fn grep(text: &str, what: &str) -> String {
    text.lines()
        .filter(|l| l.contains(what))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn confirm_and_the_reconciler_complete_uploads_whose_callback_never_came() {
    use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with};
    // oss-local checks the signature of every HeadObject the gateway sends.
    let storage = LocalStore::start().await;
    let put = |key: String, size: usize, etag_seed: u8| {
        let store = storage.store.clone();
        async move {
            store
                .put_object(STORE_BUCKET, &key, "image/png", &vec![etag_seed; size])
                .await
                .unwrap()
        }
    };
    let app = gateway_with(&storage, "v4", |_| {}).await;
    let (id, key, _) = presign(&app, "alice", 1234).await;
    let confirm = |user: &'static str, id: String| {
        app.as_user(user, Method::POST, &format!("/v1/uploads/{id}/confirm"))
            .send()
    };

    let (status, code, _) = error_code(confirm("alice", id.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "object-missing"));
    assert_eq!(
        error_code(confirm("bob", id.clone()).await.unwrap())
            .await
            .0,
        404
    );

    let stored = put(key.clone(), 1234, 1).await;
    let resp = confirm("alice", id.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let rec: Value = resp.json().await.unwrap();
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["size"], 1234);
    assert_eq!(rec["etag"], stored.etag);
    assert_eq!(rec["crc64"], stored.crc64.to_string());
    let again: Value = confirm("alice", id.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["updated_at"], rec["updated_at"]);
    assert_eq!(events(&app).await.len(), 1);
    // The gateway asked with signed HEADs, which the store verified before answering (the
    // 404 of the first confirm comes after the signature check too); a final record is not
    // asked about again.
    assert_eq!(storage.store.stats.get("HeadObject"), 1);

    // An object of another size than declared fails the upload.
    let (id2, key2, _) = presign(&app, "alice", 1234).await;
    put(key2.clone(), 999, 2).await;
    let (status, code, _) = error_code(confirm("alice", id2.clone()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    let rec: Value = app.get_upload("alice", &id2).await.json().await.unwrap();
    assert_eq!(rec["status"], "failed");
    assert!(rec["failure"].as_str().unwrap().contains("declared"));

    // The reconciler: uploads past their expiry are completed from storage or expired.
    let app2 = gateway_with(&storage, "v4", |raw| {
        raw.callbacks.reconcile_interval_secs = 1;
    })
    .await;
    let (landed, landed_key, _) = presign(&app2, "zoe", 5).await;
    let (never, _, _) = presign(&app2, "zoe", 5).await;
    // Time passes: both deadlines are now behind us.
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    for id in [&landed, &never] {
        let id = upload_gateway::domain::UploadId::parse(id).unwrap();
        let _: () = redis::cmd("ZADD")
            .arg(app2.store().keys().deadlines_for(&id))
            .arg(past)
            .arg(id.as_str())
            .query_async(&mut c)
            .await
            .unwrap();
    }
    put(landed_key.clone(), 5, 3).await;
    let settled = eventually(Duration::from_secs(10), || async {
        let a: Value = app2.get_upload("zoe", &landed).await.json().await.unwrap();
        let b: Value = app2.get_upload("zoe", &never).await.json().await.unwrap();
        (a["status"] != "issued" && b["status"] != "issued").then_some((a, b))
    })
    .await
    .expect("reconciled");
    assert_eq!(settled.0["status"], "completed");
    assert_eq!(settled.1["status"], "expired");
    // The counter moves just after the record does.
    let text = eventually(Duration::from_secs(5), || async {
        let t = app2.metrics_text().await;
        t.contains(r#"outcome="expired",trigger="reconciler"}"#)
            .then_some(t)
    })
    .await
    .unwrap_or_default();
    assert!(
        text.contains(
            r#"upload_gateway_reconciliations_total{outcome="completed",trigger="reconciler"} 1"#
        ),
        "{}",
        grep(&text, "reconcil")
    );
    assert!(
        text.contains(
            r#"upload_gateway_reconciliations_total{outcome="expired",trigger="reconciler"} 1"#
        ),
        "{}",
        grep(&text, "reconcil")
    );
}

/// The real binary, killed with SIGKILL while its journal holds acknowledged callbacks, and
/// started again: nothing acknowledged is lost.
#[tokio::test]
async fn a_killed_gateway_replays_its_journal_when_started_again() {
    let keys = KeyServer::start().await;
    let redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let prefix = unique_prefix();
    let port = free_port();
    let journal = journal_dir(&prefix);
    let config = base_config(&redis.url(), &prefix).replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    ) + &format!(
        "\n[callbacks]\nkey_url_prefixes = [\"{}\"]\njournal_dir = \"{}\"\nreplay_interval_ms = 200\n",
        keys.prefix(),
        journal.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config).unwrap();
    let start = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_upload-gateway"));
        cmd.arg("--config").arg(&path).arg("serve");
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        spawn_tied(cmd)
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = upload_gateway::http_client::builder().build().unwrap();
    let ready = || async {
        eventually(Duration::from_secs(20), || async {
            let r = client.get(format!("{base}/readyz")).send().await.ok()?;
            (r.status() == 200).then_some(())
        })
        .await
        .expect("gateway ready")
    };

    let mut first = start();
    ready().await;
    let mut sent = Vec::new();
    for i in 0..3u64 {
        let body: Value = client
            .post(format!("{base}/v1/uploads/presign"))
            .bearer_auth(token_for("kim"))
            .json(&json!({"profile": "avatars", "filename": "k.png", "content_type": "image/png", "size": 7 + i}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let issued = Issued::from_url(body["url"].as_str().unwrap());
        let key = body["key"].as_str().unwrap();
        let cb = oss_sim::callback(&keys, &issued, &stored(key, &format!("K{i}"), 7 + i));
        sent.push((body["upload_id"].as_str().unwrap().to_string(), cb));
    }
    redis.stop();
    for (_, cb) in &sent {
        let r = client
            .post(format!("{base}{}", cb.target))
            .header("authorization", &cb.authorization)
            .header("x-oss-pub-key-url", &cb.pub_key_url_b64)
            .header("content-type", &cb.content_type)
            .body(cb.body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged from the journal");
    }
    first.kill().unwrap();
    first.wait().unwrap();

    redis.launch_again();
    let mut second = start();
    ready().await;
    for (id, _) in &sent {
        let rec = eventually(Duration::from_secs(15), || async {
            let r: Value = client
                .get(format!("{base}/v1/uploads/{id}"))
                .bearer_auth(token_for("kim"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (r["status"] == "completed").then_some(r)
        })
        .await;
        assert!(rec.is_some(), "{id} completed after the restart");
    }
    assert_eq!(events_in(&redis, &prefix).await.len(), 3);
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test]
async fn a_callback_neither_redis_nor_the_journal_can_take_is_not_acknowledged() {
    let keys = KeyServer::start().await;
    let redis = RedisServer::start();
    let app = spawn_app_on(&redis.url(), |raw| allow(raw, &keys)).await;
    let (id, key, issued) = presign(&app, "lee", 10).await;
    let cb = oss_sim::callback(&keys, &issued, &stored(&key, "E1", 10));
    // The journal's file cannot be opened (a directory stands where it would go).
    std::fs::create_dir_all(journal_dir(&app.prefix).join("active.jsonl")).unwrap();
    redis.stop();
    let (status, code, message) = error_code(cb.send(&app).await).await;
    assert_eq!((status, code.as_str()), (503, "callback-not-recorded"));
    assert!(!message.contains("active.jsonl"), "no internals: {message}");
    let text = app.metrics_text().await;
    assert!(
        text.contains(r#"upload_gateway_callbacks_total{provider="oss",result="not_recorded"} 1"#),
        "{}",
        grep(&text, "callbacks_total")
    );
    assert!(text.contains("upload_gateway_callback_journal_depth 0"));
    let _ = id;
}
