//! The pre-upload hook end to end: the gateway asks a backend (tests/hooks/pre_upload.py,
//! which verifies every request with the Standard Webhooks reference library) before each
//! right, and honours its answer: allow, deny, overrides; slow, down and garbage answers
//! refuse the right unless the hook fails open.

use crate::helpers::*;
use crate::rights::with_sts;
use crate::webhook_harness::{NEW_SECRET, SECRET};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use upload_gateway::config::raw::RawSettings;

pub struct HookServer {
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
    child: Child,
}

impl Drop for HookServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HookServer {
    /// The receiver knowing `secret` (the gateway signs with [`SECRET`]).
    pub fn start(secret: &str) -> HookServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("hook.jsonl");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hooks/pre_upload.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--port", &port.to_string(), "--secret", secret])
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = spawn_tied(cmd);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the hook needs `standardwebhooks` (scripts/test.sh installs it with pip)"
        );
        HookServer {
            port,
            log,
            _dir: dir,
            child,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every request the receiver saw, in order.
    pub fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Profiles `avatars` and `documents` ask the hook at `url`.
pub fn with_hook(raw: &mut RawSettings, url: &str, fail_open: bool) {
    raw.pre_upload.timeout_ms = 500;
    raw.pre_upload.hooks.insert(
        "app".into(),
        upload_gateway::config::raw::HookSection {
            url: url.into(),
            // Signed with both during a rotation: the receiver knows one of them.
            secrets: vec![SECRET.to_string().into(), NEW_SECRET.to_string().into()],
            secrets_file: None,
            fail_open,
            allow_http: false,
        },
    );
    for p in ["avatars", "documents"] {
        raw.profiles.get_mut(p).unwrap().pre_upload_hook = Some("app".into());
    }
    raw.uppy.profile = Some("avatars".into());
}

async fn post(app: &TestApp, user: &str, path: &str, body: Value) -> reqwest::Response {
    app.as_user(user, Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn presign_body(filename: &str, size: u64) -> Value {
    json!({"profile": "avatars", "filename": filename, "content_type": "image/png",
           "size": size, "vars": {"album": "summer"}})
}

async fn presign(app: &TestApp, filename: &str) -> reqwest::Response {
    post(
        app,
        "alice",
        "/v1/uploads/presign",
        presign_body(filename, 1234),
    )
    .await
}

#[tokio::test]
async fn an_allowed_right_is_issued_after_a_request_the_reference_library_verifies() {
    let hook = HookServer::start(SECRET);
    let app = spawn_app_with(|raw| with_hook(raw, &hook.url(), false)).await;
    let resp = presign(&app, "allow.png").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert!(body["key"].as_str().unwrap().starts_with("avatars/alice/"));

    let lines = hook.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0]["id"].as_str().unwrap().starts_with("hook_"));
    assert_eq!(
        lines[0]["payload"],
        json!({"user": "alice", "profile": "avatars", "kind": "presign", "filename": "allow.png",
               "content_type": "image/png", "size": 1234, "metadata": {"album": "summer"}})
    );
    // The hook's time is the app's, not the gateway's: the presign's own time leaves it out.
    let text = app.metrics_text().await;
    let value = |series: &str| -> f64 {
        sample(&text, series).unwrap_or_else(|| panic!("{series} missing from\n{text}"))
    };
    let route = r#"{route="/v1/uploads/presign"}"#;
    let total = value(&format!(
        "upload_gateway_http_request_duration_seconds_sum{route}"
    ));
    let own = value(&format!(
        "upload_gateway_http_own_duration_seconds_sum{route}"
    ));
    let hook_time =
        value(r#"upload_gateway_pre_upload_hook_duration_seconds_sum{profile="avatars"}"#);
    assert!(hook_time > 0.0);
    assert!(
        (own - (total - hook_time)).abs() < 1e-6,
        "own {own}, total {total}, hook {hook_time}"
    );

    // A backend holding neither secret refuses the request (401): the signature is checked,
    // and a hook that refuses that way is an outage to the gateway, not a denial.
    let stranger = HookServer::start("whsec_c3RyYW5nZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNk");
    let app = spawn_app_with(|raw| with_hook(raw, &stranger.url(), false)).await;
    let (status, code, _) = error_code(presign(&app, "allow.png").await).await;
    assert_eq!((status, code.as_str()), (503, "hook-unavailable"));
    assert!(stranger.lines()[0]["invalid"].is_string());
}

#[tokio::test]
async fn every_issuing_path_asks_the_hook_and_the_client_sees_its_reason() {
    let hook = HookServer::start(SECRET);
    let app = spawn_app_with(|raw| {
        with_hook(raw, &hook.url(), false);
        // Never reached: the hook is asked before STS.
        with_sts(raw, "http://127.0.0.1:1", 1000);
        crate::cos::add_cos_bucket(raw, "http://127.0.0.1:1");
        raw.profiles.get_mut("cossts").unwrap().pre_upload_hook = Some("app".into());
        raw.profiles
            .get_mut("documents")
            .unwrap()
            .client_chosen_name = true;
    })
    .await;
    let pdf = |f: &str| json!({"profile": "documents", "filename": f, "content_type": "application/pdf", "size": 10});
    let asks = [
        post(&app, "alice", "/v1/uploads/presign", presign_body("deny.png", 10)).await,
        post(&app, "alice", "/v1/uploads/form", presign_body("deny.png", 10)).await,
        post(&app, "alice", "/v1/uploads", pdf("deny.pdf")).await,
        post(&app, "alice", "/v1/multipart", pdf("deny.pdf")).await,
        post(
            &app,
            "alice",
            "/v1/uploads/append",
            json!({"profile": "avatars", "filename": "deny.png", "content_type": "image/png", "size": 10}),
        )
        .await,
        app.as_user("alice", Method::GET, "/s3/params?filename=deny.png&type=image/png")
            .send()
            .await
            .unwrap(),
        post(&app, "alice", "/s3/multipart", json!({"filename": "deny.png", "type": "image/png"})).await,
        post(&app, "denied-sts", "/v1/credentials", json!({"profile": "avatars"})).await,
        app.as_user("denied-app", Method::GET, "/v1/uploads/form/oss-app-server?profile=documents")
            .send()
            .await
            .unwrap(),
    ];
    for resp in asks {
        let url = resp.url().path().to_string();
        let (status, code, message) = error_code(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "hook-denied"),
            "{url}: {message}"
        );
        // Controls gone, whitespace folded, capped at max_message_chars (200).
        assert!(
            message.starts_with(
                "the upload was refused by the app: Storage plan full: upgrade to upload more. xxx"
            ),
            "{url}: {message}"
        );
        assert!(
            message.ends_with('…') && message.chars().count() < 260,
            "{message}"
        );
    }
    // The SDK credential routes answer in their SDKs' shapes, with the same code.
    let sdk = [
        app.as_user(
            "denied-sts",
            Method::GET,
            "/v1/credentials/oss-sdk?profile=avatars",
        ),
        app.as_user(
            "denied-sts",
            Method::GET,
            "/v1/credentials/cos-sdk?profile=cossts",
        ),
        app.as_user(
            "denied-sts",
            Method::POST,
            "/v1/credentials/cos-sdk?profile=cossts",
        )
        .json(&json!({"Scope": []})),
    ];
    for req in sdk {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 403, "{body}");
        let text = body.to_string();
        assert!(
            text.contains("hook-denied") && text.contains("Storage plan full"),
            "{text}"
        );
    }
    let kinds: Vec<String> = hook
        .lines()
        .iter()
        .map(|l| l["payload"]["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "presign",
            "form",
            "presign",
            "multipart",
            "append",
            "form",
            "multipart",
            "sts",
            "form",
            "sts",
            "sts",
            "sts"
        ]
    );
    let sts = &hook.lines()[7]["payload"];
    assert_eq!(sts["filename"], Value::Null);
    assert_eq!(sts["user"], "denied-sts");
    let listed: Value = app.list_uploads("alice", "").await.json().await.unwrap();
    assert_eq!(
        listed["items"],
        json!([]),
        "a denied right leaves no record"
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(
            r#"upload_gateway_pre_upload_hook_total{outcome="denied",profile="avatars"} 7"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn overrides_put_the_key_under_the_prefix_lower_the_limit_and_add_metadata() {
    let hook = HookServer::start(SECRET);
    // Failing open changes nothing here: these are answers, not outages.
    let app = spawn_app_with(|raw| {
        with_hook(raw, &hook.url(), true);
        with_sts(raw, "http://127.0.0.1:1", 1000);
    })
    .await;

    let body: Value = presign(&app, "suffix.png").await.json().await.unwrap();
    assert_eq!(body["key"], "avatars/alice/from-hook/suffix.png", "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(
        url.contains("/avatars/alice/from-hook/suffix.png?"),
        "signed for that key"
    );
    let rec: Value = app
        .get_upload("alice", body["upload_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rec["key"], "avatars/alice/from-hook/suffix.png");
    assert_eq!(rec["hook_metadata"], json!({"plan": "pro"}));

    // A suffix that climbs out of the prefix is refused, fail-open or not; so are overrides
    // STS credentials cannot carry.
    let (status, code, message) = error_code(presign(&app, "escape.png").await).await;
    assert_eq!((status, code.as_str()), (503, "hook-unavailable"));
    assert!(message.contains("outside the user's prefix"), "{message}");
    let resp = post(
        &app,
        "override-sts",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await;
    let (status, code, message) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (503, "hook-unavailable"));
    assert!(
        message.contains("STS credentials cannot carry"),
        "{message}"
    );

    // A smaller limit: a larger declared size is refused, and a form without one is signed
    // for at most the hook's limit.
    let (status, code, message) = error_code(presign(&app, "small.png").await).await;
    assert_eq!((status, code.as_str()), (413, "size-too-large"));
    assert!(message.contains("limit of 100 bytes"), "{message}");
    let resp = post(
        &app,
        "alice",
        "/v1/uploads/form",
        json!({"profile": "avatars", "filename": "small.png", "content_type": "image/png"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let form: Value = resp.json().await.unwrap();
    let policy = form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "policy")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    let policy: Value = serde_json::from_slice(&STANDARD.decode(policy).unwrap()).unwrap();
    let range = policy["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c[0] == "content-length-range")
        .unwrap()
        .clone();
    assert_eq!(range, json!(["content-length-range", 1, 100]));
    let rec: Value = app
        .get_upload("alice", form["upload_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rec["max_size"], 100);
}

async fn timed_presign(app: &TestApp, filename: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let resp = presign(app, filename).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    let code = body["code"].as_str().unwrap_or("").to_string();
    (status, code, started.elapsed())
}

#[tokio::test]
async fn a_slow_hook_fails_closed_within_the_timeout_and_open_when_configured() {
    let hook = HookServer::start(SECRET);
    let closed = spawn_app_with(|raw| with_hook(raw, &hook.url(), false)).await;
    let (status, code, took) = timed_presign(&closed, "slow.png").await;
    assert_eq!((status, code.as_str()), (503, "hook-unavailable"));
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let open = spawn_app_with(|raw| with_hook(raw, &hook.url(), true)).await;
    let (status, _, took) = timed_presign(&open, "slow.png").await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_millis(2500), "{took:?}");
    let metrics = closed.metrics_text().await;
    assert!(
        metrics.contains(
            r#"upload_gateway_pre_upload_hook_total{outcome="timeout",profile="avatars"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "upload_gateway_pre_upload_hook_duration_seconds_count{profile=\"avatars\"} 1"
        )
    );
}

#[tokio::test]
async fn a_hook_that_is_down_or_answers_garbage_fails_closed_unless_it_fails_open() {
    let hook = HookServer::start(SECRET);
    let down = format!("http://127.0.0.1:{}/hook", free_port());
    for fail_open in [false, true] {
        let up = spawn_app_with(|raw| with_hook(raw, &hook.url(), fail_open)).await;
        let gone = spawn_app_with(|raw| with_hook(raw, &down, fail_open)).await;
        let cases = [
            (&gone, "allow.png"),
            (&up, "garbage.png"),
            (&up, "huge.png"),
            (&up, "redirect.png"),
        ];
        for (app, file) in cases {
            let (status, code, _) = timed_presign(app, file).await;
            if fail_open {
                assert_eq!(status, 200, "{file}");
            } else {
                assert_eq!((status, code.as_str()), (503, "hook-unavailable"), "{file}");
            }
        }
        // Counted by outcome (every outcome is exported from 0, so the counts are checked).
        for (app, outcome, n) in [
            (&gone, "unreachable", 1),
            (&up, "invalid_answer", 2),
            (&up, "bad_status", 1),
            (&up, "allowed", 0),
        ] {
            let line = format!(
                "upload_gateway_pre_upload_hook_total{{outcome=\"{outcome}\",profile=\"avatars\"}} {n}\n"
            );
            assert!(app.metrics_text().await.contains(&line), "{line}");
        }
    }
    // Only the configured URL was called: the redirect's target never was.
    assert!(hook.lines().iter().all(|l| l["id"].is_string()));
}

#[tokio::test]
async fn an_object_put_to_the_hooks_key_lands_there_and_its_callback_completes_the_record() {
    use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with};
    let hook = HookServer::start(SECRET);
    let storage = LocalStore::start().await;
    let url = hook.url();
    let app = gateway_with(&storage, "v4", |raw| with_hook(raw, &url, false)).await;
    let data = std::fs::read(fixtures().join("content/tiny.png")).unwrap();
    let resp = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "avatars", "filename": "suffix.png", "content_type": "image/png", "size": data.len()}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let mut put = app
        .client
        .put(body["url"].as_str().unwrap())
        .body(data.clone());
    for (k, v) in body["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    let stored = put.send().await.unwrap();
    assert_eq!(stored.status(), 200, "{}", stored.text().await.unwrap());
    let rec: Value = app
        .get_upload("alice", body["upload_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rec["status"], "completed", "{rec}");
    assert_eq!(rec["key"], "avatars/alice/from-hook/suffix.png");
    let (_, bytes) = storage
        .store
        .read_object(STORE_BUCKET, "avatars/alice/from-hook/suffix.png")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes, data);
}
