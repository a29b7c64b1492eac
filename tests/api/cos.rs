//! Every route for a COS bucket, end to end: the gateway against the local store's COS
//! listener (which checks q-sign exactly, keeps `x-cos-meta-*`, answers the chunked
//! CompleteMultipartUpload and runs a TC3 STS stand-in), with plain HTTP clients.

use crate::helpers::*;
use crate::multipart::{STORE_AK, json_of};
use figment::providers::Format;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use upload_gateway::providers::cos::{BucketName, CosLocation, Credentials, KeyTime, presign};

pub const COS_BUCKET: &str = "cosbucket-1250000000";
pub const COS_REGION: &str = "ap-guangzhou";
const MIB: usize = 1024 * 1024;

pub struct CosStore {
    pub port: u16,
    pub store: Arc<oss_local::Store>,
    /// The COS listener's own state (its STS stand-in's grants).
    pub cos: Arc<oss_local::cos::CosState>,
    _dir: tempfile::TempDir,
}

impl CosStore {
    pub async fn start() -> CosStore {
        let dir = tempfile::tempdir().unwrap();
        let running = oss_local::start(oss_local::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_path_buf(),
            region: "local".into(),
            buckets: vec![],
            access_keys: vec![(STORE_AK.into(), OSS_ACCESS_KEY_SECRET.into())],
            callback_key_pem: None,
        })
        .await
        .unwrap();
        let store = running.store.clone();
        tokio::spawn(running.server);
        let cos = oss_local::cos::start(
            store.clone(),
            oss_local::cos::CosConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                buckets: vec![COS_BUCKET.into()],
                region: COS_REGION.into(),
            },
        )
        .await
        .unwrap();
        let (port, state) = (cos.port, cos.state.clone());
        tokio::spawn(cos.server);
        CosStore {
            port,
            store,
            cos: state,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn bytes(&self, key: &str) -> Option<Vec<u8>> {
        self.store
            .read_object(COS_BUCKET, key)
            .await
            .unwrap()
            .map(|(_, b)| b)
    }
}

/// A gateway whose `cos` bucket is the local store, with a `cosdocs` profile for presigned,
/// form, append and multipart uploads and a `cossts` one for temporary credentials.
pub async fn cos_gateway(store: &CosStore) -> TestApp {
    let url = store.url();
    spawn_app_with(move |raw| add_cos_bucket(raw, &url)).await
}

/// Adds the `cos` bucket (at `url`) and its `cosdocs` and `cossts` profiles.
pub fn add_cos_bucket(raw: &mut upload_gateway::config::raw::RawSettings, url: &str) {
    {
        let extra: upload_gateway::config::raw::RawSettings = figment::Figment::new()
            .merge(figment::providers::Toml::string(&format!(
                r#"
[buckets.cos]
provider = "cos"
bucket = "{COS_BUCKET}"
endpoint = "{url}"
region = "{COS_REGION}"
access_key_id = "{STORE_AK}"
access_key_secret = "{OSS_ACCESS_KEY_SECRET}"
[buckets.cos.sts]
endpoint = "{url}"
duration_secs = 1800

[profiles.cosdocs]
bucket = "cos"
key_template = "cosdocs/{{user}}/{{upload_id}}-{{filename}}"
max_size_bytes = 104857600
content_types = ["text/*", "application/octet-stream"]
kinds = ["presign", "append", "form", "multipart"]

[profiles.cossts]
bucket = "cos"
key_template = "cossts/{{user}}/{{uuid}}{{ext}}"
max_size_bytes = 10485760
kinds = ["sts"]

[profiles.cosimg]
bucket = "cos"
key_template = "cosimg/{{user}}/{{uuid}}{{ext}}"
max_size_bytes = 2097152
content_types = ["image/*", "text/plain"]
kinds = ["sts", "append"]
allow_sts_shared_prefix = true
"#
            )))
            .extract()
            .unwrap();
        raw.buckets.extend(extra.buckets);
        raw.profiles.extend(extra.profiles);
    }
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
/// HTTP client's), as curl would.
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

#[tokio::test]
async fn a_presigned_cos_put_then_confirm_completes_and_a_wrong_content_type_is_refused_by_cos() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (status, r) = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "cosdocs",
        "filename": "notes.txt", "content_type": "text/plain", "size": 6}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert!(r["url"].as_str().unwrap().contains("q-sign-algorithm=sha1"));
    assert!(r["headers"]["x-cos-meta-ugw-binding"].is_string(), "{r}");

    // The same URL with another Content-Type: COS refuses the signature.
    let mut wrong = r.clone();
    wrong["headers"]["Content-Type"] = json!("text/html");
    assert_eq!(
        send_signed(&app, &wrong, b"hello\n".to_vec())
            .await
            .status(),
        403
    );
    // Without the binding header: refused too (the store names the missing signed header).
    let mut unbound = r.clone();
    unbound["headers"]
        .as_object_mut()
        .unwrap()
        .remove("x-cos-meta-ugw-binding");
    let status = send_signed(&app, &unbound, b"hello\n".to_vec())
        .await
        .status();
    assert!(matches!(status.as_u16(), 400 | 403), "{status}");

    let id = r["upload_id"].as_str().unwrap();
    let (status, missing) = confirm(&app, "alice", id).await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (409, Some("object-missing"))
    );
    assert_eq!(
        send_signed(&app, &r, b"hello\n".to_vec()).await.status(),
        200
    );
    let (status, done) = confirm(&app, "alice", id).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["size"], 6);
    assert_eq!(
        store.bytes(r["key"].as_str().unwrap()).await.unwrap(),
        b"hello\n"
    );
}

#[tokio::test]
async fn an_object_not_written_with_the_uploads_rights_is_not_confirmed() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (_, r) = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "cosdocs",
        "filename": "a.txt", "content_type": "text/plain", "size": 3}),
    )
    .await;
    // Somebody with the bucket's own key writes the key without the binding.
    let loc = CosLocation::with_endpoint(
        BucketName::parse(COS_BUCKET).unwrap(),
        COS_REGION,
        &store.url(),
    )
    .unwrap();
    let creds = Credentials {
        secret_id: STORE_AK,
        secret_key: OSS_ACCESS_KEY_SECRET,
        security_token: None,
    };
    let p = presign::presign_upload(
        &loc,
        creds,
        &presign::UploadRequest {
            op: presign::UploadOp::Put,
            key: r["key"].as_str().unwrap(),
            content_type: None,
            content_md5: None,
            content_length: None,
            extra_headers: &[],
            key_time: KeyTime::around(now(), 600, 60),
        },
    );
    assert_eq!(
        app.client
            .put(&p.url)
            .body("abc")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, v) = confirm(&app, "alice", r["upload_id"].as_str().unwrap()).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("object-binding-mismatch")),
        "{v}"
    );
    let (_, rec) = json_of(
        app.get_upload("alice", r["upload_id"].as_str().unwrap())
            .await,
    )
    .await;
    assert_ne!(rec["status"], "completed");
}

fn form_body(fields: &[Value], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "ugwcosboundary1234";
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
    b.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
    b.extend_from_slice(file);
    b.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

#[tokio::test]
async fn a_cos_post_object_form_then_confirm_completes() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (status, f) = post(
        &app,
        "bob",
        "/v1/uploads/form",
        json!({"profile": "cosdocs",
        "filename": "f.txt", "content_type": "text/plain", "size": 5}),
    )
    .await;
    assert_eq!(status, 200, "{f}");
    let (ct, body) = form_body(f["fields"].as_array().unwrap(), b"form!");
    let resp = app
        .client
        .post(f["url"].as_str().unwrap())
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
        store.bytes(f["key"].as_str().unwrap()).await.unwrap(),
        b"form!"
    );
}

#[tokio::test]
async fn cos_appends_at_the_next_position_confirm_and_a_wrong_position_gets_a_stable_409() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (status, a) = post(
        &app,
        "carol",
        "/v1/uploads/append",
        json!({"profile": "cosdocs",
        "filename": "log.txt", "content_type": "text/plain", "size": 4}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    let resp = send_signed(&app, &a, b"one\n".to_vec()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-cos-next-append-position"], "4");
    let id = a["upload_id"].as_str().unwrap();

    let (status, wrong) = post(
        &app,
        "carol",
        "/v1/uploads/append",
        json!({"upload_id": id, "position": 2, "size": 4}),
    )
    .await;
    assert_eq!(
        (status, wrong["code"].as_str()),
        (409, Some("append-position-mismatch")),
        "{wrong}"
    );

    let (status, b) = post(
        &app,
        "carol",
        "/v1/uploads/append",
        json!({"upload_id": id, "position": 4, "size": 4}),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(send_signed(&app, &b, b"two\n".to_vec()).await.status(), 200);
    // The first chunk's URL again, at position 0: COS itself refuses it.
    assert_eq!(send_signed(&app, &a, b"one\n".to_vec()).await.status(), 409);

    let (status, done) = confirm(&app, "carol", id).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("completed")),
        "{done}"
    );
    assert_eq!(done["size"], 8);
    assert_eq!(
        store.bytes(a["key"].as_str().unwrap()).await.unwrap(),
        b"one\ntwo\n"
    );
}

#[tokio::test]
async fn a_cos_multipart_upload_through_the_gateway_completes_with_identical_bytes() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let size = 2 * MIB + 1000;
    let data: Vec<u8> = (0..size).map(|i| (i as u8).wrapping_mul(7)).collect();
    let (status, m) = post(
        &app,
        "dave",
        "/v1/multipart",
        json!({"profile": "cosdocs",
        "filename": "big.bin", "content_type": "application/octet-stream", "size": size,
        "part_size": MIB}),
    )
    .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["part_count"], 3);
    let id = m["upload_id"].as_str().unwrap();
    let (status, signed) = post(
        &app,
        "dave",
        &format!("/v1/multipart/{id}/parts"),
        json!({"part_numbers": [1, 2, 3]}),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    for (i, part) in signed["parts"].as_array().unwrap().iter().enumerate() {
        let chunk = data[i * MIB..((i + 1) * MIB).min(size)].to_vec();
        let mut req = app.client.put(part["url"].as_str().unwrap()).body(chunk);
        for (k, v) in part["headers"].as_object().unwrap() {
            if !k.eq_ignore_ascii_case("content-length") {
                req = req.header(k, v.as_str().unwrap());
            }
        }
        assert_eq!(req.send().await.unwrap().status(), 200);
    }
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
        store.bytes(m["key"].as_str().unwrap()).await.unwrap() == data,
        "bytes differ"
    );
}
