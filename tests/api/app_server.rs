//! Alibaba's app-server shape end to end: the JSON its H5/JavaScript direct-upload page asks
//! for, and a form built exactly as that page builds it (`key, policy, OSSAccessKeyId,
//! success_action_status, callback, signature, file`, nothing else), posted with curl to
//! `oss-local`, which checks the V1 policy and sends its signed callback to the gateway.

use crate::helpers::*;
use crate::multipart::{LocalStore, STORE_BUCKET, gateway_with, json_of};
use reqwest::Method;
use serde_json::Value;

/// What the page does with the answer: `key = dir + "${filename}"` ("local name"), then a
/// multipart POST to `host` with the file last.
async fn post_like_the_h5_sample(
    answer: &Value,
    key: &str,
    file: &std::path::Path,
) -> (u16, String) {
    let field = |k: &str| answer[k].as_str().unwrap().to_string();
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(["--form-string", &format!("key={key}")])
        .args(["--form-string", &format!("policy={}", field("policy"))])
        .args([
            "--form-string",
            &format!("OSSAccessKeyId={}", field("accessid")),
        ])
        .args(["--form-string", "success_action_status=200"])
        .args(["--form-string", &format!("callback={}", field("callback"))])
        .args([
            "--form-string",
            &format!("signature={}", field("signature")),
        ])
        .args(["-F", &format!("file=@{}", file.display())])
        .arg(field("host"))
        .output()
        .await
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

#[tokio::test]
async fn alibabas_h5_sample_form_uploads_through_oss_local_and_completes_the_record() {
    let storage = LocalStore::start().await;
    let app = gateway_with(&storage, "v4", |raw| {
        let avatars = raw.profiles.get_mut("avatars").unwrap();
        avatars.client_chosen_name = true;
        avatars.content_check = true;
    })
    .await;
    let ask = |profile: &str| {
        app.as_user(
            "alice",
            Method::GET,
            &format!("/v1/uploads/form/oss-app-server?profile={profile}"),
        )
        .send()
    };
    let (status, answer) = json_of(ask("avatars").await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    for k in ["accessid", "host", "policy", "signature", "callback", "dir"] {
        assert!(
            answer[k].as_str().is_some_and(|v| !v.is_empty()),
            "{k}: {answer}"
        );
    }
    let expire = answer["expire"].as_i64().unwrap();
    assert!(expire > now() + 800 && expire <= now() + 900, "{answer}");
    let dir = answer["dir"].as_str().unwrap();
    assert_eq!(dir, "avatars/alice/");
    let file = fixtures().join("content/tiny.png");

    // Another user's directory: the policy's starts-with refuses it at the store.
    let (code, body) = post_like_the_h5_sample(&answer, "avatars/bob/${filename}", &file).await;
    assert_eq!(code, 403, "{body}");

    let (code, body) =
        post_like_the_h5_sample(&answer, &format!("{dir}${{filename}}"), &file).await;
    assert_eq!(code, 200, "{body}");
    let relayed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(relayed["status"], "completed", "{relayed}");
    assert_eq!(relayed["key"], "avatars/alice/tiny.png");
    let id = answer["upload_id"].as_str().unwrap();
    assert_eq!(relayed["upload_id"], id);
    let rec: Value = app.get_upload("alice", id).await.json().await.unwrap();
    assert_eq!(rec["status"], "completed");
    assert_eq!(rec["kind"], "form");
    assert_eq!(rec["detected_type"], "image/png");
    let stored = storage
        .store
        .read_object(STORE_BUCKET, "avatars/alice/tiny.png")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.1, std::fs::read(&file).unwrap());

    // A profile whose names the server picks cannot hand out this shape.
    let (status, code, _) = error_code(ask("documents").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "invalid-argument"));
    assert_eq!(
        error_code(ask("nope").await.unwrap()).await.1,
        "unknown-profile"
    );
}
