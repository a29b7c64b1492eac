//! Every route for an S3 bucket, end to end: the gateway against Garage (a real S3 server
//! that checks SigV4 on presigned PUTs, UploadPart and POST policies), with plain HTTP
//! clients sending exactly what the gateway answered.

use crate::garage::{ACCESS_KEY, BUCKET, Garage, REGION, SECRET_KEY, send, spawn_garage};
use crate::helpers::*;
use crate::multipart::json_of;
use figment::providers::Format;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const MIB: usize = 1024 * 1024;

/// Adds the `s3` bucket (at `endpoint`, path style) and its `s3docs` profile (presign, form
/// and multipart; no append, which S3 does not have).
pub fn add_s3_bucket(raw: &mut upload_gateway::config::raw::RawSettings, endpoint: &str) {
    let extra: upload_gateway::config::raw::RawSettings = figment::Figment::new()
        .merge(figment::providers::Toml::string(&format!(
            r#"
[buckets.s3]
provider = "s3"
bucket = "{BUCKET}"
endpoint = "{endpoint}"
region = "{REGION}"
url_style = "path"
access_key_id = "{ACCESS_KEY}"
access_key_secret = "{SECRET_KEY}"
upstream_timeout_ms = 1500

[profiles.s3docs]
bucket = "s3"
key_template = "s3docs/{{user}}/{{upload_id}}-{{filename}}"
max_size_bytes = 104857600
content_types = ["text/*", "application/octet-stream"]
kinds = ["presign", "form", "multipart"]
"#
        )))
        .extract()
        .unwrap();
    raw.buckets.extend(extra.buckets);
    raw.profiles.extend(extra.profiles);
}

pub async fn s3_gateway(endpoint: &str) -> TestApp {
    let endpoint = endpoint.to_string();
    spawn_app_with(move |raw| add_s3_bucket(raw, &endpoint)).await
}

pub async fn post(app: &TestApp, user: &str, path: &str, body: Value) -> (u16, Value) {
    json_of(
        app.as_user(user, Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Sends a signed URL's request with exactly the headers it lists (Content-Length is the
/// HTTP client's, from the body), as curl would.
pub async fn send_signed(app: &TestApp, v: &Value, body: Vec<u8>) -> reqwest::Response {
    let method = Method::from_bytes(v["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut req = app.client.request(method, v["url"].as_str().unwrap());
    for (k, val) in v["headers"].as_object().unwrap() {
        if !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k, val.as_str().unwrap());
        }
    }
    req.body(body).send().await.unwrap()
}

async fn confirm(app: &TestApp, user: &str, id: &str) -> (u16, Value) {
    post(app, user, &format!("/v1/uploads/{id}/confirm"), json!({})).await
}

/// The object's bytes as Garage holds them (read with the bucket's own key).
async fn stored(g: &Garage, key: &str) -> Option<Vec<u8>> {
    let req = g
        .signer()
        .get_object(&g.location(), key, time::OffsetDateTime::now_utc())
        .unwrap();
    let r = send(&req).await.unwrap();
    match r.status().as_u16() {
        200 => Some(r.bytes().await.unwrap().to_vec()),
        404 => None,
        s => panic!("GetObject answered {s}"),
    }
}

#[tokio::test]
async fn a_presigned_s3_put_is_refused_by_garage_unless_exact_and_confirm_then_completes() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let (status, r) = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "s3docs",
        "filename": "notes.txt", "content_type": "text/plain", "size": 6}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let url = r["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"), "{url}");
    assert!(!url.to_ascii_lowercase().contains("checksum"), "{url}");
    assert!(r["headers"]["x-amz-meta-ugw-binding"].is_string(), "{r}");
    assert_eq!(r["headers"]["Content-Length"], "6");

    // Another Content-Type, another size, no binding header: Garage refuses each.
    let mut wrong_type = r.clone();
    wrong_type["headers"]["Content-Type"] = json!("text/html");
    let mut unbound = r.clone();
    unbound["headers"]
        .as_object_mut()
        .unwrap()
        .remove("x-amz-meta-ugw-binding");
    for (what, v, body) in [
        ("another type", &wrong_type, b"hello\n".to_vec()),
        ("another size", &r, b"hello, longer\n".to_vec()),
        ("no binding", &unbound, b"hello\n".to_vec()),
    ] {
        let resp = send_signed(&app, v, body).await;
        let status = resp.status().as_u16();
        assert!(
            matches!(status, 400 | 403),
            "{what}: {status} {}",
            resp.text().await.unwrap()
        );
    }
    let key = r["key"].as_str().unwrap();
    assert_eq!(stored(&g, key).await, None);

    let id = r["upload_id"].as_str().unwrap();
    let (status, missing) = confirm(&app, "alice", id).await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (409, Some("object-missing"))
    );
    let resp = send_signed(&app, &r, b"hello\n".to_vec()).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let (status, done) = confirm(&app, "alice", id).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["size"], 6);
    assert_eq!(done["provider"], "s3");
    assert_eq!(stored(&g, key).await.unwrap(), b"hello\n");
    // A second confirm changes nothing.
    let (status, again) = confirm(&app, "alice", id).await;
    assert_eq!((status, again["status"].as_str()), (200, Some("completed")));
}

#[tokio::test]
async fn an_s3_object_written_without_the_uploads_binding_is_not_confirmed() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let (_, r) = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "s3docs",
        "filename": "a.txt", "content_type": "text/plain", "size": 3}),
    )
    .await;
    // Somebody with the bucket's own key writes the key without the binding.
    let p = g
        .signer()
        .presign_put(
            &g.location(),
            r["key"].as_str().unwrap(),
            &Default::default(),
            time::OffsetDateTime::now_utc(),
            upload_gateway::providers::s3::Expiry::from_secs(600).unwrap(),
        )
        .unwrap();
    let resp = app.client.put(&p.url).body("abc").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let id = r["upload_id"].as_str().unwrap();
    let (status, v) = confirm(&app, "alice", id).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("object-binding-mismatch")),
        "{v}"
    );
    let (_, rec) = json_of(app.get_upload("alice", id).await).await;
    assert_ne!(rec["status"], "completed");
}

pub fn form_body(fields: &[Value], file: &[u8], content_type: &str) -> (String, Vec<u8>) {
    let boundary = "ugws3boundary1234";
    let mut b = Vec::new();
    for f in fields {
        b.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                f["name"].as_str().unwrap(),
                f["value"].as_str().unwrap()
            )
            .as_bytes(),
        );
    }
    b.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
    b.extend_from_slice(file);
    b.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

#[tokio::test]
async fn an_s3_post_policy_form_is_enforced_by_garage_and_confirm_completes() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let (status, f) = post(
        &app,
        "bob",
        "/v1/uploads/form",
        json!({"profile": "s3docs",
        "filename": "f.txt", "content_type": "text/plain", "size": 5}),
    )
    .await;
    assert_eq!(status, 200, "{f}");
    let fields = f["fields"].as_array().unwrap();
    assert!(
        fields.iter().any(|x| x["name"] == "x-amz-meta-ugw-binding"),
        "{f}"
    );
    let url = f["url"].as_str().unwrap();
    // The policy pins the size: six bytes are refused.
    let (ct, body) = form_body(fields, b"form!!", "text/plain");
    let resp = app
        .client
        .post(url)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(resp.status().as_u16(), 400 | 403),
        "{}",
        resp.status()
    );

    let (ct, body) = form_body(fields, b"form!", "text/plain");
    let resp = app
        .client
        .post(url)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let (status, done) = confirm(&app, "bob", f["upload_id"].as_str().unwrap()).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    assert_eq!(
        stored(&g, f["key"].as_str().unwrap()).await.unwrap(),
        b"form!"
    );
}

/// Signs parts 1..=n through the gateway and PUTs `data` in `part` sized pieces.
async fn put_parts(app: &TestApp, user: &str, id: &str, data: &[u8], part: usize) {
    let n = data.len().div_ceil(part);
    let numbers: Vec<usize> = (1..=n).collect();
    let (status, signed) = post(
        app,
        user,
        &format!("/v1/multipart/{id}/parts"),
        json!({ "part_numbers": numbers }),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    for (i, p) in signed["parts"].as_array().unwrap().iter().enumerate() {
        let chunk = data[i * part..((i + 1) * part).min(data.len())].to_vec();
        let resp = send_signed(app, p, chunk).await;
        assert_eq!(resp.status(), 200, "part {}", i + 1);
    }
}

#[tokio::test]
async fn an_s3_multipart_upload_through_the_gateway_completes_with_identical_bytes() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let size = 10 * MIB + 1000;
    let data: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(7)).collect();
    // S3's limits: parts under 5 MiB are refused before anything is initiated.
    let (status, small) = post(
        &app,
        "dave",
        "/v1/multipart",
        json!({"profile": "s3docs", "filename": "big.bin",
        "content_type": "application/octet-stream", "size": size, "part_size": MIB}),
    )
    .await;
    assert_eq!(status, 400, "{small}");
    let (status, m) = post(
        &app,
        "dave",
        "/v1/multipart",
        json!({"profile": "s3docs", "filename": "big.bin",
        "content_type": "application/octet-stream", "size": size, "part_size": 5 * MIB}),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["part_count"], 3);
    let id = m["upload_id"].as_str().unwrap();
    put_parts(&app, "dave", id, &data, 5 * MIB).await;

    let (status, listed) = json_of(
        app.as_user("dave", Method::GET, &format!("/v1/multipart/{id}/parts"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["parts"].as_array().unwrap().len(), 3, "{listed}");

    let (status, done) = post(
        &app,
        "dave",
        &format!("/v1/multipart/{id}/complete"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["size"], size);
    assert!(done["etag"].as_str().unwrap().ends_with("-3"), "{done}");
    assert!(
        stored(&g, m["key"].as_str().unwrap()).await.unwrap() == data,
        "bytes differ"
    );
    // The in-progress list no longer holds it.
    let (_, list) = json_of(
        app.as_user("dave", Method::GET, "/v1/multipart")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!list.to_string().contains(id), "{list}");
}

#[tokio::test]
async fn the_sweeper_aborts_an_abandoned_s3_multipart_upload_on_garage() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let endpoint = g.endpoint.clone();
    let app = spawn_app_with(move |raw| {
        add_s3_bucket(raw, &endpoint);
        // Only the S3 profile: the base config's OSS bucket is unreachable on purpose.
        raw.profiles.retain(|name, _| name == "s3docs");
        raw.multipart.upload_expires_secs = 1;
        raw.multipart.orphan_age_secs = 2;
        raw.multipart.sweep_interval_secs = 3600;
    })
    .await;
    let (status, m) = post(
        &app,
        "erin",
        "/v1/multipart",
        json!({"profile": "s3docs", "filename": "left.bin",
        "content_type": "application/octet-stream", "size": 6 * MIB, "part_size": 5 * MIB}),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    let id = m["upload_id"].as_str().unwrap();
    let mp = app
        .app_state
        .uploads
        .providers()
        .get("s3")
        .unwrap()
        .multipart()
        .unwrap();
    // An orphan too: initiated on Garage under the profile's prefix, never recorded.
    mp.initiate("s3docs/ghost/orphan.bin", "application/octet-stream", None)
        .await
        .unwrap();
    let listed = mp.list_uploads("s3docs/", None).await.unwrap();
    assert_eq!(listed.uploads.len(), 2, "both in progress on Garage");
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let swept = app.app_state.uploads.sweep_once().await.unwrap();
    assert_eq!(
        (swept.expired, swept.orphans, swept.errors),
        (1, 1, 0),
        "{swept:?}"
    );
    let listed = mp.list_uploads("s3docs/", None).await.unwrap();
    assert!(listed.uploads.is_empty(), "Garage still lists uploads");
    let (_, rec) = json_of(app.get_upload("erin", id).await).await;
    assert_eq!(rec["status"], "expired");
}

#[tokio::test]
async fn append_on_an_s3_bucket_is_refused_with_a_stable_code() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let app = s3_gateway(&g.endpoint).await;
    let resp = app
        .as_user("alice", Method::POST, "/v1/uploads/append")
        .json(&json!({"profile": "s3docs",
        "filename": "log.txt", "content_type": "text/plain", "size": 4}))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (403, "upload-kind-not-allowed"));
    assert!(message.contains("append"), "{message}");
}

#[tokio::test]
async fn unreachable_or_slow_s3_storage_gets_502_and_504_without_internals() {
    // Nothing listens on this port: connections are refused.
    let closed = format!("http://127.0.0.1:{}", free_port());
    // This one accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    for (endpoint, want_status, want_code) in [
        (closed, 502, "upstream-failed"),
        (silent_url, 504, "upstream-timeout"),
    ] {
        let app = s3_gateway(&endpoint).await;
        let (_, r) = post(
            &app,
            "alice",
            "/v1/uploads/presign",
            json!({"profile": "s3docs",
            "filename": "n.txt", "content_type": "text/plain", "size": 1}),
        )
        .await;
        let id = r["upload_id"].as_str().unwrap();
        let resp = app
            .as_user("alice", Method::POST, &format!("/v1/uploads/{id}/confirm"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let (status, code, message) = error_code(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (want_status, want_code),
            "{message}"
        );
        for leak in ["127.0.0.1", "HeadObject", "X-Amz", "Connection refused"] {
            assert!(!message.contains(leak), "{leak} in {message}");
        }
        let resp = app
            .as_user("alice", Method::POST, "/v1/multipart")
            .json(&json!({"profile": "s3docs", "filename": "big.bin",
            "content_type": "application/octet-stream", "size": 6 * MIB}))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(resp).await.0, want_status);
    }
    drop(silent);
}
