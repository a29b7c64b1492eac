//! The multipart relay end to end: the gateway against `oss-local` (the project's local
//! OSS-compatible store, which checks every signature and sends real signed callbacks back
//! to the gateway), with plain HTTP clients doing what a mobile app or Uppy would.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub const STORE_BUCKET: &str = "mp-bucket";
pub const STORE_AK: &str = "LTAI5tTestAccessKeyId0";
const MIB: usize = 1024 * 1024;

pub struct LocalStore {
    pub port: u16,
    pub store: Arc<oss_local::Store>,
    _dir: tempfile::TempDir,
}

impl LocalStore {
    pub async fn start() -> LocalStore {
        let dir = tempfile::tempdir().unwrap();
        let running = oss_local::start(oss_local::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            region: "local".into(),
            buckets: vec![STORE_BUCKET.into()],
            access_keys: vec![(STORE_AK.into(), OSS_ACCESS_KEY_SECRET.into())],
            callback_key_pem: None,
        })
        .await
        .unwrap();
        let (port, store) = (running.port, running.store.clone());
        tokio::spawn(running.server);
        LocalStore {
            port,
            store,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The gateway configured against `store`, on a fixed port so the callback URL it hands out
/// reaches it.
pub async fn gateway_for(store: &LocalStore, signature: &str) -> TestApp {
    gateway_with(store, signature, |_| {}).await
}

pub async fn gateway_with(
    store: &LocalStore,
    signature: &str,
    more: impl FnOnce(&mut upload_gateway::config::raw::RawSettings),
) -> TestApp {
    let port = free_port();
    let store_url = store.url();
    let signature = signature.to_string();
    spawn_app_with(move |raw| {
        raw.server.listen = format!("127.0.0.1:{port}");
        raw.server.public_url = format!("http://127.0.0.1:{port}");
        use_store(raw, &store_url, &signature);
        raw.uppy.profile = Some("documents".into());
        raw.cors.allowed_origins = vec!["http://127.0.0.1:1".into()];
        more(raw);
    })
    .await
}

/// Points the `main` bucket at a [`LocalStore`] (by its URL).
pub fn use_store(
    raw: &mut upload_gateway::config::raw::RawSettings,
    store_url: &str,
    signature: &str,
) {
    let b = raw.buckets.get_mut("main").unwrap();
    b.bucket = STORE_BUCKET.into();
    b.endpoint = store_url.to_string();
    b.region = "local".into();
    b.url_style = Some("path".into());
    b.signature_version = Some(signature.to_string());
    raw.callbacks.key_url_prefixes = vec![format!("{store_url}/_oss-local/")];
}

pub async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// PUTs one part to its presigned URL, as a client would, and returns the ETag.
async fn put_part(app: &TestApp, part: &Value, data: Vec<u8>) -> reqwest::Response {
    let mut req = app.client.put(part["url"].as_str().unwrap()).body(data);
    for (k, v) in part["headers"].as_object().unwrap() {
        if !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k, v.as_str().unwrap());
        }
    }
    req.send().await.unwrap()
}

async fn start_upload(app: &TestApp, user: &str, size: usize, part_size: Option<u64>) -> Value {
    let mut body = json!({"profile": "documents", "filename": "report.pdf",
        "content_type": "application/pdf", "size": size});
    if let Some(p) = part_size {
        body["part_size"] = json!(p);
    }
    let (status, v) = json_of(
        app.as_user(user, Method::POST, "/v1/multipart")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn sign(app: &TestApp, user: &str, id: &str, numbers: &[u32]) -> (u16, Value) {
    json_of(
        app.as_user(user, Method::POST, &format!("/v1/multipart/{id}/parts"))
            .json(&json!({ "part_numbers": numbers }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn initiate_sign_upload_resume_and_complete_through_the_callback() {
    let store = LocalStore::start().await;
    let app = gateway_for(&store, "v4").await;
    let size = 2 * MIB + 12_345;
    let data = bytes(size, 7);
    let started = start_upload(&app, "alice", size, Some(MIB as u64)).await;
    assert_eq!(started["part_size"], MIB);
    assert_eq!(started["part_count"], 3);
    let id = started["upload_id"].as_str().unwrap();
    let key = started["key"].as_str().unwrap();
    assert!(key.starts_with("docs/alice/"), "{key}");
    assert_eq!(store.store.stats.get("InitiateMultipartUpload"), 1);

    // Parts 1 and 2, then the client "crashes".
    let (status, signed) = sign(&app, "alice", id, &[1, 2]).await;
    assert_eq!(status, 200, "{signed}");
    let parts = signed["parts"].as_array().unwrap();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["method"], "PUT");
        let chunk = data[i * MIB..(i + 1) * MIB].to_vec();
        let r = put_part(&app, p, chunk).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    // A part of the wrong size does not fit its URL (V4 pins Content-Length).
    let r = put_part(&app, &parts[0], data[..1000].to_vec()).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("SignatureDoesNotMatch"));

    // Resume: the in-progress list and ListParts tell what is there.
    let (_, mine) = json_of(
        app.as_user("alice", Method::GET, "/v1/multipart")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], id);
    let (status, listed) = json_of(
        app.as_user("alice", Method::GET, &format!("/v1/multipart/{id}/parts"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let have: Vec<u64> = listed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part_number"].as_u64().unwrap())
        .collect();
    assert_eq!(have, vec![1, 2]);
    assert_eq!(listed["parts"][0]["size"], MIB);

    let (_, signed) = sign(&app, "alice", id, &[3]).await;
    let r = put_part(&app, &signed["parts"][0], data[2 * MIB..].to_vec()).await;
    assert_eq!(r.status(), 200);

    // Complete with the ETags from ListParts (as a resumed client has them).
    let (_, listed) = json_of(
        app.as_user("alice", Method::GET, &format!("/v1/multipart/{id}/parts"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let list: Vec<Value> = listed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"part_number": p["part_number"], "etag": p["etag"]}))
        .collect();
    let (status, done) = json_of(
        app.as_user(
            "alice",
            Method::POST,
            &format!("/v1/multipart/{id}/complete"),
        )
        .json(&json!({ "parts": list }))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["size"], size);
    // The callback went store → gateway, and its answer came back through the store.
    assert_eq!(store.store.stats.get("CallbackSucceeded"), 1);
    assert_eq!(done["callback"]["upload_id"], id);
    assert_eq!(done["callback"]["status"], "completed");
    assert!(done["etag"].as_str().unwrap().ends_with("-3"));
    let (_, rec) = json_of(app.get_upload("alice", id).await).await;
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["etag"], done["etag"]);

    // The object holds exactly the bytes uploaded.
    let got = fetch(&store, key).await;
    assert_eq!(got.len(), data.len());
    assert!(got == data, "object bytes differ");

    // Completing again answers the same record; nothing more happens upstream.
    let (status, again) = json_of(
        app.as_user(
            "alice",
            Method::POST,
            &format!("/v1/multipart/{id}/complete"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again["etag"], done["etag"]);
    assert_eq!(store.store.stats.get("CompleteMultipartUpload"), 1);
    let text = app.metrics_text().await;
    assert!(
        text.contains(r#"upload_gateway_multipart_total{operation="complete",outcome="ok"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"upload_gateway_upstream_request_duration_seconds_count{operation="CompleteMultipartUpload",provider="oss"} 1"#));
}

/// The stored object's bytes, read from the store's disk.
async fn fetch(store: &LocalStore, key: &str) -> Vec<u8> {
    let (_, data) = store
        .store
        .read_object(STORE_BUCKET, key)
        .await
        .unwrap()
        .expect("object stored");
    data
}

#[tokio::test]
async fn bad_input_foreign_users_abort_and_complete_after_abort() {
    let store = LocalStore::start().await;
    let app = gateway_for(&store, "v1").await;
    let size = 300 * 1024;
    let started = start_upload(&app, "alice", size, Some(200 * 1024)).await;
    let id = started["upload_id"].as_str().unwrap();
    assert_eq!(started["part_count"], 2);

    // Part numbers outside the plan, none, repeated.
    for numbers in [vec![0], vec![3], vec![], vec![1, 1], vec![10_001]] {
        let (status, e) = sign(&app, "alice", id, &numbers).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (400, Some("invalid-argument")),
            "{numbers:?}: {e}"
        );
    }
    // A preferred part size under storage's minimum, a file over the profile's limit.
    let r = app
        .as_user("alice", Method::POST, "/v1/multipart")
        .json(
            &json!({"profile": "documents", "filename": "a.pdf", "content_type": "application/pdf",
            "size": 1_000_000, "part_size": 1024}),
        )
        .send()
        .await
        .unwrap();
    let (status, code, msg) = error_code(r).await;
    assert_eq!((status, code.as_str()), (400, "invalid-argument"));
    assert!(msg.contains("part_size"), "{msg}");
    let r = app
        .as_user("alice", Method::POST, "/v1/multipart")
        .json(
            &json!({"profile": "documents", "filename": "a.pdf", "content_type": "application/pdf",
            "size": 200u64 << 20}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "size-too-large");

    // Another user sees nothing of alice's upload, under any route.
    let (status, e) = sign(&app, "mallory", id, &[1]).await;
    assert_eq!((status, e["code"].as_str()), (404, Some("not-found")));
    for (m, path) in [
        (Method::GET, format!("/v1/multipart/{id}/parts")),
        (Method::POST, format!("/v1/multipart/{id}/complete")),
        (Method::DELETE, format!("/v1/multipart/{id}")),
    ] {
        let r = app.as_user("mallory", m, &path).send().await.unwrap();
        assert_eq!(error_code(r).await.1, "not-found", "{path}");
    }

    // V1: the signed part URLs work; parts uploaded; an unordered list is refused before
    // storage is asked.
    let (_, signed) = sign(&app, "alice", id, &[1, 2]).await;
    let mut etags = vec![];
    for (i, p) in signed["parts"].as_array().unwrap().iter().enumerate() {
        let len = if i == 0 {
            200 * 1024
        } else {
            size - 200 * 1024
        };
        let r = put_part(&app, p, bytes(len, i as u8)).await;
        assert_eq!(r.status(), 200);
        etags.push(r.headers()["etag"].to_str().unwrap().to_string());
    }
    let completes_before = store.store.stats.get("CompleteMultipartUpload");
    let r = app
        .as_user("alice", Method::POST, &format!("/v1/multipart/{id}/complete"))
        .json(&json!({"parts": [{"part_number": 2, "etag": etags[1]}, {"part_number": 1, "etag": etags[0]}]}))
        .send()
        .await
        .unwrap();
    let (status, code, msg) = error_code(r).await;
    assert_eq!((status, code.as_str()), (400, "invalid-argument"), "{msg}");
    // A wrong ETag is storage's InvalidPart, passed on with a stable code.
    let r = app
        .as_user("alice", Method::POST, &format!("/v1/multipart/{id}/complete"))
        .json(&json!({"parts": [{"part_number": 1, "etag": etags[0]}, {"part_number": 2, "etag": "\"00000000000000000000000000000000\""}]}))
        .send()
        .await
        .unwrap();
    let (status, code, msg) = error_code(r).await;
    assert_eq!((status, code.as_str()), (400, "parts-rejected"), "{msg}");
    assert!(msg.contains("InvalidPart"));
    assert_eq!(
        store.store.stats.get("CompleteMultipartUpload"),
        completes_before
    );
    let (_, rec) = json_of(app.get_upload("alice", id).await).await;
    assert_eq!(
        rec["status"], "uploading",
        "a failed complete never claims success"
    );

    // Abort, twice (idempotent); then complete and signing are refused.
    let (status, rec) = json_of(
        app.as_user("alice", Method::DELETE, &format!("/v1/multipart/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, rec["status"].as_str()), (200, Some("aborted")));
    let (status, _) = json_of(
        app.as_user("alice", Method::DELETE, &format!("/v1/multipart/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(store.store.stats.get("AbortMultipartUpload"), 1);
    let r = app
        .as_user(
            "alice",
            Method::POST,
            &format!("/v1/multipart/{id}/complete"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "conflict");
    assert_eq!(sign(&app, "alice", id, &[1]).await.1["code"], "conflict");
}

#[tokio::test]
async fn upstream_errors_map_to_stable_codes() {
    let store = LocalStore::start().await;
    let app = gateway_for(&store, "v4").await;
    let started = start_upload(&app, "alice", 10, None).await;
    let id = started["upload_id"].as_str().unwrap();
    // Storage forgets the upload behind the gateway's back (e.g. a lifecycle rule).
    let key = started["key"].as_str().unwrap();
    let storage_id = started["storage_upload_id"].as_str().unwrap();
    store
        .store
        .forget_upload(STORE_BUCKET, storage_id)
        .await
        .unwrap();
    let _ = key;
    let r = app
        .as_user("alice", Method::GET, &format!("/v1/multipart/{id}/parts"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "storage-upload-gone");

    // Storage unreachable: 502 without internals, and the record unchanged.
    let down = gateway_with(&store, "v4", |raw| {
        raw.buckets.get_mut("main").unwrap().endpoint = "http://127.0.0.1:1".into();
    })
    .await;
    let r = down
        .as_user("alice", Method::POST, "/v1/multipart")
        .json(&json!({"profile": "documents", "filename": "a.pdf", "content_type": "application/pdf", "size": 10}))
        .send()
        .await
        .unwrap();
    let (status, code, msg) = error_code(r).await;
    assert_eq!((status, code.as_str()), (502, "upstream-failed"));
    assert!(!msg.contains("127.0.0.1"), "{msg}");
    let text = down.metrics_text().await;
    assert!(text.contains(r#"upload_gateway_upstream_errors_total{class="connect",operation="InitiateMultipartUpload",provider="oss"} 1"#), "{text}");
}

/// The requests `@uppy/aws-s3` sends to a Companion-style backend, in its order.
#[tokio::test]
async fn uppy_routes_complete_an_upload_with_the_shapes_uppy_uses() {
    let store = LocalStore::start().await;
    let app = gateway_for(&store, "v4").await;
    let data = bytes(5 * MIB + 1000, 3);

    // Preflight from a browser origin.
    let r = app
        .request(Method::OPTIONS, "/s3/multipart")
        .header("origin", "http://127.0.0.1:1")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, uppy-auth-token",
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("uppy-auth-token") && allowed.contains("authorization"),
        "{allowed}"
    );

    let (status, created) = json_of(
        app.as_user("uppy-user", Method::POST, "/s3/multipart")
            .json(
                &json!({"filename": "big.bin", "type": "application/octet-stream",
                "metadata": {"name": "big.bin", "type": "application/octet-stream"}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let upload_id = created["uploadId"].as_str().unwrap().to_string();
    let key = created["key"].as_str().unwrap().to_string();
    assert_eq!(created["bucket"], STORE_BUCKET);
    let enc_key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();

    // A key that is not the upload's is refused as an unknown upload (Companion trusts it).
    let r = app
        .as_user(
            "uppy-user",
            Method::GET,
            &format!("/s3/multipart/{upload_id}/1?key=docs%2Fother%2Fx"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "not-found");

    // Part 1 via the single-part route, part 2 via batch.
    let (status, one) = json_of(
        app.as_user(
            "uppy-user",
            Method::GET,
            &format!("/s3/multipart/{upload_id}/1?key={enc_key}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{one}");
    assert!(one["expires"].as_i64().unwrap() > 0);
    let r = app
        .client
        .put(one["url"].as_str().unwrap())
        .body(data[..5 * MIB].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag1 = r.headers()["etag"].to_str().unwrap().to_string();
    let (_, batch) = json_of(
        app.as_user(
            "uppy-user",
            Method::GET,
            &format!("/s3/multipart/{upload_id}/batch?key={enc_key}&partNumbers=2"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let url2 = batch["presignedUrls"]["2"].as_str().unwrap();
    let r = app
        .client
        .put(url2)
        .body(data[5 * MIB..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag2 = r.headers()["etag"].to_str().unwrap().to_string();

    let (_, parts) = json_of(
        app.as_user(
            "uppy-user",
            Method::GET,
            &format!("/s3/multipart/{upload_id}?key={enc_key}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(parts.as_array().unwrap().len(), 2, "{parts}");
    assert_eq!(parts[0]["PartNumber"], 1);
    assert_eq!(parts[1]["Size"], 1000);

    let (status, done) = json_of(
        app.as_user(
            "uppy-user",
            Method::POST,
            &format!("/s3/multipart/{upload_id}/complete?key={enc_key}"),
        )
        .json(
            &json!({"parts": [{"PartNumber": 1, "ETag": etag1}, {"PartNumber": 2, "ETag": etag2}]}),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert!(
        done["location"]
            .as_str()
            .unwrap()
            .ends_with(&key.replace(' ', "%20")),
        "{done}"
    );
    let (_, rec) = json_of(app.get_upload("uppy-user", &upload_id).await).await;
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["size"], data.len());
    assert!(fetch(&store, &key).await == data);

    // Uppy's abort on another upload answers `{}`.
    let (_, other) = json_of(
        app.as_user("uppy-user", Method::POST, "/s3/multipart")
            .json(&json!({"filename": "x.bin", "type": "application/octet-stream", "metadata": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let k: String =
        url::form_urlencoded::byte_serialize(other["key"].as_str().unwrap().as_bytes()).collect();
    let (status, body) = json_of(
        app.as_user(
            "uppy-user",
            Method::DELETE,
            &format!(
                "/s3/multipart/{}?key={k}",
                other["uploadId"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));

    // `/s3/params`: a PostObject form, url ending in '/', fields.key set.
    let (status, form) = json_of(
        app.as_user(
            "uppy-user",
            Method::GET,
            "/s3/params?filename=a.txt&type=text%2Fplain&metadata%5Bname%5D=a.txt",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{form}");
    assert_eq!(form["method"], "POST");
    assert!(form["url"].as_str().unwrap().ends_with('/'));
    assert!(
        form["fields"]["key"]
            .as_str()
            .unwrap()
            .starts_with("docs/uppy-user/")
    );
    assert!(form["fields"]["policy"].is_string());
}

/// Two gateway replicas sweep at once; the abandoned upload is aborted upstream exactly once
/// and marked expired; an orphan (no record) older than the orphan age is aborted too.
#[tokio::test]
async fn sweeper_aborts_abandoned_uploads_once_across_replicas() {
    let store = LocalStore::start().await;
    let a = gateway_with(&store, "v4", |raw| {
        raw.multipart.upload_expires_secs = 1;
        raw.multipart.orphan_age_secs = 2;
        raw.multipart.sweep_interval_secs = 3600;
    })
    .await;
    let prefix = a.prefix.clone();
    let b = spawn_app_with(move |raw| {
        // Same Redis prefix: the second replica of the same deployment.
        raw.redis.key_prefix = prefix;
        let b = raw.buckets.get_mut("main").unwrap();
        b.bucket = STORE_BUCKET.into();
        b.endpoint = format!("http://127.0.0.1:{}", store.port);
        b.region = "local".into();
        b.url_style = Some("path".into());
        b.signature_version = Some("v4".into());
        raw.multipart.upload_expires_secs = 1;
        raw.multipart.orphan_age_secs = 2;
        raw.multipart.sweep_interval_secs = 3600;
    })
    .await;
    let started = start_upload(&a, "alice", 10, None).await;
    let id = started["upload_id"].as_str().unwrap();
    // An orphan: initiated upstream, never recorded.
    let orphan = a
        .app_state
        .uploads
        .providers()
        .get("main")
        .unwrap()
        .multipart()
        .unwrap()
        .initiate("docs/ghost/orphan.bin", "application/octet-stream", None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let (ra, rb) = tokio::join!(
        a.app_state.uploads.sweep_once(),
        b.app_state.uploads.sweep_once()
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.ran ^ rb.ran, "exactly one replica sweeps: {ra:?} {rb:?}");
    let a_swept = ra.ran;
    let swept = if ra.ran { ra } else { rb };
    assert_eq!(
        (swept.expired, swept.orphans, swept.errors),
        (1, 1, 0),
        "{swept:?}"
    );
    assert_eq!(store.store.stats.get("AbortMultipartUpload"), 2);
    let (_, rec) = json_of(a.get_upload("alice", id).await).await;
    assert_eq!(rec["status"], "expired");
    let _ = orphan;
    let text = if a_swept {
        a.metrics_text().await
    } else {
        b.metrics_text().await
    };
    assert!(
        text.contains(r#"upload_gateway_sweeper_aborted_total{reason="expired"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"upload_gateway_sweeper_aborted_total{reason="orphan"} 1"#));
}

/// The store's callback is refused (the gateway does not trust the store's key URL here), so
/// the store answers CompleteMultipartUpload with 203 CallbackFailed; the gateway then checks
/// storage itself, and the client still gets the completed record.
#[tokio::test]
async fn a_failed_callback_still_completes_through_storage() {
    let store = LocalStore::start().await;
    let app = gateway_with(&store, "v4", |raw| {
        raw.callbacks.key_url_prefixes = vec!["https://gosspublic.alicdn.com/".into()];
    })
    .await;
    let started = start_upload(&app, "alice", 1000, None).await;
    let id = started["upload_id"].as_str().unwrap();
    let (_, signed) = sign(&app, "alice", id, &[1]).await;
    assert_eq!(
        put_part(&app, &signed["parts"][0], bytes(1000, 1))
            .await
            .status(),
        200
    );
    let (status, done) = json_of(
        app.as_user(
            "alice",
            Method::POST,
            &format!("/v1/multipart/{id}/complete"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(store.store.stats.get("CallbackFailed"), 1);
    assert_eq!(done["status"], "completed");
    assert_eq!(done["size"], 1000);
    assert!(done.get("callback").is_none());
    let text = app.metrics_text().await;
    assert!(
        text.contains(
            r#"upload_gateway_reconciliations_total{outcome="completed",trigger="complete"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"upload_gateway_upstream_request_duration_seconds_count{operation="HeadObject",provider="oss"} 1"#));
}
