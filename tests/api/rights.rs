//! Issuing upload rights through HTTP: presigned PUT and append URLs, PostObject forms and
//! STS credentials, with the callback that binds each to its upload.

use crate::helpers::*;
use crate::sts_standin::{Behaviour, STS_ACCESS_KEY_ID, STS_ACCESS_KEY_SECRET, StsStandIn};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use upload_gateway::config::raw::StsSection;
use upload_gateway::domain::ticket::{self, TicketScope};

async fn post(app: &TestApp, user: &str, path: &str, body: Value) -> reqwest::Response {
    app.as_user(user, Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn query(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn b64_json(s: &str) -> Value {
    serde_json::from_slice(&STANDARD.decode(s).unwrap()).unwrap()
}

#[tokio::test]
async fn a_presigned_put_carries_the_signed_headers_and_a_bound_callback() {
    let app = spawn_app().await;
    let resp = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "avatars", "filename": "../../Me & you.PNG", "content_type": "image/png", "size": 1234, "vars": {"album": "summer"}}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let id = body["upload_id"].as_str().unwrap();
    let key = body["key"].as_str().unwrap();
    assert!(
        key.starts_with("avatars/alice/") && key.ends_with(".png"),
        "{key}"
    );
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["bucket"], "examplebucket");
    assert_eq!(body["headers"]["Content-Type"], "image/png");
    assert_eq!(
        body["headers"]["Content-Length"], "1234",
        "V4 pins the declared size"
    );

    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("http://127.0.0.1:1/{key}?")),
        "{url}"
    );
    let q = query(url);
    assert_eq!(q["x-oss-signature-version"], "OSS4-HMAC-SHA256");
    assert_eq!(q["x-oss-expires"], "900");
    assert_eq!(q["x-oss-additional-headers"], "content-length");
    assert!(q["x-oss-credential"].starts_with("LTAI5tTestAccessKeyId0/"));

    let cb = b64_json(&q["callback"]);
    assert_eq!(cb["callbackUrl"], "http://127.0.0.1:1/v1/callbacks/oss");
    assert_eq!(cb["callbackBodyType"], "application/json");
    let cb_body = cb["callbackBody"].as_str().unwrap();
    for var in [
        "${bucket}",
        "${object}",
        "${etag}",
        "${size}",
        "${mimeType}",
        "${crc64}",
        "${x:ticket}",
        "${x:album}",
        "${imageInfo.width}",
    ] {
        assert!(cb_body.contains(var), "{var} missing from {cb_body}");
    }
    let vars = b64_json(&q["callback-var"]);
    assert_eq!(vars["x:upload_id"], id);
    assert_eq!(vars["x:album"], "summer");
    let t = vars["x:ticket"].as_str().unwrap();
    assert_eq!(
        vars["x:declared_size"], "1234",
        "the ticket binds the declared size"
    );
    let scope = TicketScope::Object {
        upload_id: id,
        key,
        declared_size: Some(1234),
    };
    assert!(ticket::verify(TICKET_SECRET.as_bytes(), "alice", &scope, t));
    assert!(!ticket::verify(
        TICKET_SECRET.as_bytes(),
        "mallory",
        &scope,
        t
    ));

    // The record exists, issued, for alice only.
    let rec: Value = app.get_upload("alice", id).await.json().await.unwrap();
    assert_eq!(rec["status"], "issued");
    assert_eq!(rec["kind"], "presign");
    assert_eq!(rec["key"], key);
    assert_eq!(rec["declared_size"], 1234);
    assert_eq!(rec["vars"]["album"], "summer");
    assert_eq!(app.get_upload("bob", id).await.status(), 404);

    let text = app.metrics_text().await;
    assert!(text.contains(r#"upload_gateway_credentials_issued_total{kind="presign",profile="avatars",provider="oss"} 1"#), "{text}");
}

#[tokio::test]
async fn v1_buckets_sign_with_hmac_sha1_and_md5_is_signed_when_given() {
    let app = spawn_app_with(|raw| {
        raw.buckets.get_mut("main").unwrap().signature_version = Some("v1".into());
    })
    .await;
    let body: Value = post(
        &app,
        "alice",
        "/v1/uploads/presign",
        json!({"profile": "documents", "filename": "report.pdf", "content_type": "application/pdf", "size": 10, "content_md5": "eB5eJF1ptWaXm4bijSPyxw=="}),
    )
    .await
    .json()
    .await
    .unwrap();
    let q = query(body["url"].as_str().unwrap());
    assert_eq!(q["OSSAccessKeyId"], "LTAI5tTestAccessKeyId0");
    assert!(q.contains_key("Signature") && q.contains_key("Expires"));
    assert_eq!(body["headers"]["Content-MD5"], "eB5eJF1ptWaXm4bijSPyxw==");
    assert!(
        body["headers"].get("Content-Length").is_none(),
        "V1 cannot pin a length"
    );
    assert!(body["key"].as_str().unwrap().ends_with("-report.pdf"));
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_signed_or_recorded() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"profile": "nope", "filename": "a.png", "content_type": "image/png", "size": 1}),
            400,
            "unknown-profile",
        ),
        (
            json!({"profile": "avatars", "filename": "a.pdf", "content_type": "application/pdf", "size": 1}),
            400,
            "content-type-not-allowed",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 10485761}),
            413,
            "size-too-large",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 0}),
            400,
            "size-too-small",
        ),
        (
            json!({"profile": "avatars", "filename": "../..", "content_type": "image/png", "size": 1}),
            400,
            "invalid-filename",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "not a type", "size": 1}),
            400,
            "invalid-argument",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 1, "content_md5": "abc"}),
            400,
            "invalid-argument",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 1, "vars": {"Upper": "x"}}),
            400,
            "invalid-argument",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 1, "vars": {"ticket": "forged"}}),
            400,
            "invalid-argument",
        ),
        (
            json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png"}),
            400,
            "invalid-json",
        ),
    ];
    for (body, status, code) in cases {
        let resp = post(&app, "carol", "/v1/uploads/presign", body.clone()).await;
        let (s, c, msg) = error_code(resp).await;
        assert_eq!((s, c.as_str()), (status, code), "{body}: {msg}");
    }
    let listed: Value = app.list_uploads("carol", "").await.json().await.unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        0,
        "nothing recorded"
    );
    // Unauthenticated.
    let resp = app
        .request(Method::POST, "/v1/uploads/presign")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await.1, "missing-credentials");
}

#[tokio::test]
async fn profiles_limit_the_kinds_of_rights() {
    let app = spawn_app_with(|raw| {
        raw.profiles.get_mut("avatars").unwrap().kinds = Some(vec!["form".into()]);
    })
    .await;
    let resp = post(
        &app,
        "dave",
        "/v1/uploads/presign",
        json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 1}),
    )
    .await;
    assert_eq!(
        error_code(resp).await,
        (
            403,
            "upload-kind-not-allowed".into(),
            "profile 'avatars' does not allow presign uploads".into()
        )
    );
}

#[tokio::test]
async fn a_postobject_form_pins_key_size_type_and_callback() {
    let app = spawn_app().await;
    let resp = post(
        &app,
        "erin",
        "/v1/uploads/form",
        json!({"profile": "avatars", "filename": "cat.jpg", "content_type": "image/jpeg"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["url"], "http://127.0.0.1:1/");
    assert_eq!(body["method"], "POST");
    let fields: BTreeMap<String, String> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let key = body["key"].as_str().unwrap();
    assert_eq!(fields["key"], key);
    assert_eq!(fields["Content-Type"], "image/jpeg");
    assert_eq!(fields["success_action_status"], "200");
    assert_eq!(fields["x-oss-signature-version"], "OSS4-HMAC-SHA256");
    assert_eq!(fields["x:upload_id"], body["upload_id"].as_str().unwrap());
    assert_eq!(fields["x-oss-signature"].len(), 64);
    let policy = b64_json(&fields["policy"]);
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&json!(["eq", "$key", key])));
    assert!(conditions.contains(&json!(["content-length-range", 1, 10485760])));
    assert!(conditions.contains(&json!(["eq", "$Content-Type", "image/jpeg"])));
    assert!(conditions.contains(&json!({"callback": fields["callback"]})));
    assert!(conditions.contains(&json!({"x:ticket": fields["x:ticket"]})));
    assert!(conditions.contains(&json!({"x-oss-date": fields["x-oss-date"]})));
    assert!(policy["expiration"].as_str().unwrap().ends_with(".000Z"));
}

#[tokio::test]
async fn a_form_with_a_client_chosen_name_is_bound_to_the_prefix() {
    let app = spawn_app_with(|raw| {
        let p = raw.profiles.get_mut("avatars").unwrap();
        p.client_chosen_name = true;
        raw.buckets.get_mut("main").unwrap().signature_version = Some("v1".into());
    })
    .await;
    let body: Value = post(
        &app,
        "fay",
        "/v1/uploads/form",
        json!({"profile": "avatars", "filename": "x.png", "content_type": "image/png", "size": 99}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["key"], "avatars/fay/");
    assert_eq!(body["key_is_prefix"], true);
    let fields: BTreeMap<String, String> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!fields.contains_key("key"));
    assert!(fields.contains_key("OSSAccessKeyId") && fields.contains_key("Signature"));
    let conditions = b64_json(&fields["policy"])["conditions"]
        .as_array()
        .unwrap()
        .clone();
    assert!(conditions.contains(&json!(["starts-with", "$key", "avatars/fay/"])));
    assert!(conditions.contains(&json!(["content-length-range", 99, 99])));
    let scope = TicketScope::Prefix {
        grant_id: body["upload_id"].as_str().unwrap(),
        prefix: "avatars/fay/",
    };
    assert!(ticket::verify(
        TICKET_SECRET.as_bytes(),
        "fay",
        &scope,
        &fields["x:ticket"]
    ));
}

#[tokio::test]
async fn append_urls_follow_the_position() {
    let app = spawn_app().await;
    let first: Value = post(&app, "gus", "/v1/uploads/append", json!({"profile": "documents", "filename": "log.txt", "content_type": "text/plain", "size": 100}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["method"], "POST");
    assert_eq!(first["position"], 0);
    let q = query(first["url"].as_str().unwrap());
    assert_eq!(q["position"], "0");
    assert!(q.contains_key("append"));
    assert!(
        !q.contains_key("callback"),
        "AppendObject takes no callback"
    );
    let id = first["upload_id"].as_str().unwrap();

    let next: Value = post(
        &app,
        "gus",
        "/v1/uploads/append",
        json!({"upload_id": id, "position": 100, "size": 50}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(next["key"], first["key"]);
    assert_eq!(query(next["url"].as_str().unwrap())["position"], "100");
    assert_eq!(next["headers"]["Content-Type"], "text/plain");

    // Somebody else's upload id is not found; a chunk past the limit is refused.
    let resp = post(
        &app,
        "hal",
        "/v1/uploads/append",
        json!({"upload_id": id, "position": 150, "size": 1}),
    )
    .await;
    assert_eq!(error_code(resp).await.1, "not-found");
    let resp = post(
        &app,
        "gus",
        "/v1/uploads/append",
        json!({"upload_id": id, "position": 104857600, "size": 1}),
    )
    .await;
    assert_eq!(error_code(resp).await.1, "size-too-large");
    let resp = post(&app, "gus", "/v1/uploads/append", json!({"size": 1})).await;
    assert_eq!(error_code(resp).await.1, "invalid-argument");
}

pub(crate) fn with_sts(
    raw: &mut upload_gateway::config::raw::RawSettings,
    url: &str,
    timeout_ms: u64,
) {
    raw.buckets.get_mut("main").unwrap().sts = Some(StsSection {
        endpoint: Some(url.to_string()),
        role_arn: "acs:ram::1234567890123456:role/upload-gateway".into(),
        action: None,
        region: None,
        duration_secs: 3600,
        timeout_ms,
        access_key_id: Some(STS_ACCESS_KEY_ID.into()),
        access_key_secret: Some(STS_ACCESS_KEY_SECRET.to_string().into()),
        access_key_secret_file: None,
    });
    // STS is opt-in per profile; avatars shares its prefix with its presigned uploads.
    let avatars = raw.profiles.get_mut("avatars").unwrap();
    avatars.kinds = Some(
        ["presign", "append", "form", "multipart", "sts"]
            .map(String::from)
            .to_vec(),
    );
    avatars.allow_sts_shared_prefix = true;
}

#[tokio::test]
async fn sts_credentials_are_scoped_cached_and_single_flight() {
    let sts = StsStandIn::start(Behaviour::default()).await;
    let url = sts.url.clone();
    let app = spawn_app_with(|raw| with_sts(raw, &url, 3000)).await;

    let resp = post(
        &app,
        "ivy",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["access_key_id"]
            .as_str()
            .unwrap()
            .starts_with("STS.Standin")
    );
    assert_eq!(body["prefix"], "avatars/ivy/");
    assert_eq!(body["bucket"], "examplebucket");
    assert_eq!(body["region"], "cn-hangzhou");
    assert_eq!(body["endpoint"], "http://127.0.0.1:1");
    let vars = b64_json(body["callback"]["callback-var"].as_str().unwrap());
    let scope = TicketScope::Prefix {
        grant_id: body["grant_id"].as_str().unwrap(),
        prefix: "avatars/ivy/",
    };
    assert!(ticket::verify(
        TICKET_SECRET.as_bytes(),
        "ivy",
        &scope,
        vars["x:ticket"].as_str().unwrap()
    ));

    // The inline policy grants the upload actions on the user's prefix and nothing else.
    let policy = sts.last_policy.lock().unwrap().clone().unwrap();
    let st = &policy["Statement"];
    assert_eq!(st.as_array().unwrap().len(), 1);
    assert_eq!(st[0]["Effect"], "Allow");
    assert_eq!(
        st[0]["Resource"],
        json!(["acs:oss:*:*:examplebucket/avatars/ivy/*"])
    );
    let mut actions: Vec<&str> = st[0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "oss:AbortMultipartUpload",
            "oss:CompleteMultipartUpload",
            "oss:InitiateMultipartUpload",
            "oss:ListParts",
            "oss:PutObject",
            "oss:UploadPart"
        ]
    );
    let session = sts.last_session.lock().unwrap().clone().unwrap();
    assert!(
        !session.contains("ivy"),
        "no user id in the cloud's audit log: {session}"
    );

    // Cached: the same credentials, no second STS call.
    let again: Value = post(
        &app,
        "ivy",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["access_key_id"], body["access_key_id"]);
    assert_eq!(sts.calls(), 1);

    // A burst for a new user makes one call.
    let burst = (0..10).map(|_| {
        post(
            &app,
            "jay",
            "/v1/credentials",
            json!({"profile": "avatars"}),
        )
    });
    let answers = futures_util::future::join_all(burst).await;
    assert!(answers.iter().all(|r| r.status() == 200));
    assert_eq!(sts.calls(), 2);

    // The grant is recorded for its owner.
    let rec: Value = app
        .get_upload("ivy", body["grant_id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rec["kind"], "sts");
    assert_eq!(rec["key"], "avatars/ivy/");

    let text = app.metrics_text().await;
    assert!(
        text.contains(r#"upload_gateway_sts_cache_total{result="hit"}"#),
        "{text}"
    );
    assert!(text.contains("upload_gateway_sts_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn the_oss_mobile_sdk_endpoint_answers_in_the_sdk_shape() {
    let sts = StsStandIn::start(Behaviour::default()).await;
    let url = sts.url.clone();
    let app = spawn_app_with(|raw| with_sts(raw, &url, 3000)).await;
    let resp = app
        .as_user(
            "kim",
            Method::GET,
            "/v1/credentials/oss-sdk?profile=avatars",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["StatusCode"], json!(200), "a JSON number");
    for f in [
        "AccessKeyId",
        "AccessKeySecret",
        "SecurityToken",
        "Expiration",
    ] {
        assert!(body[f].is_string(), "{f}");
    }
    let exp = body["Expiration"].as_str().unwrap();
    assert!(
        exp.len() == 20 && exp.ends_with('Z'),
        "yyyy-MM-ddTHH:mm:ssZ: {exp}"
    );

    let resp = app
        .request(Method::GET, "/v1/credentials/oss-sdk?profile=avatars")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["StatusCode"], 401);
    assert_eq!(body["ErrorCode"], "missing-credentials");
    assert!(body["ErrorMessage"].is_string());
    let resp = app
        .as_user("kim", Method::GET, "/v1/credentials/oss-sdk?profile=nope")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["ErrorCode"], "unknown-profile");
}

#[tokio::test]
async fn sts_failures_become_502_and_504_without_secrets() {
    let refused = StsStandIn::start(Behaviour {
        fail_with: Some("NoPermission"),
        ..Default::default()
    })
    .await;
    let url = refused.url.clone();
    let app = spawn_app_with(|raw| with_sts(raw, &url, 3000)).await;
    let resp = post(
        &app,
        "lou",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await;
    let (status, code, message) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (502, "upstream-failed"));
    assert!(!message.contains("NoPermission") && !message.contains(STS_ACCESS_KEY_SECRET));

    let slow = StsStandIn::start(Behaviour {
        delay: Some(std::time::Duration::from_secs(3)),
        ..Default::default()
    })
    .await;
    let url = slow.url.clone();
    let app = spawn_app_with(|raw| with_sts(raw, &url, 200)).await;
    let resp = post(
        &app,
        "lou",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await;
    assert_eq!(error_code(resp).await.1, "upstream-timeout");

    let app = spawn_app_with(|raw| with_sts(raw, "http://127.0.0.1:9/", 500)).await;
    let resp = post(
        &app,
        "lou",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await;
    assert_eq!(error_code(resp).await.0, 502);
    let text = app.metrics_text().await;
    assert!(
        text.contains(r#"upload_gateway_sts_errors_total{class="unreachable",provider="oss"} 1"#),
        "{text}"
    );

    // Without an [sts] section the profile cannot hand out credentials.
    let app = spawn_app().await;
    let resp = post(
        &app,
        "lou",
        "/v1/credentials",
        json!({"profile": "avatars"}),
    )
    .await;
    assert_eq!(error_code(resp).await.1, "upload-kind-not-allowed");
}

#[tokio::test]
async fn issuing_routes_are_rate_limited_per_user() {
    let app = spawn_app_with(|raw| {
        raw.rate_limit.per_minute = 1;
        raw.rate_limit.burst = 2;
    })
    .await;
    let ask =
        json!({"profile": "avatars", "filename": "a.png", "content_type": "image/png", "size": 1});
    let mut codes = vec![];
    for _ in 0..4 {
        codes.push(
            post(&app, "max", "/v1/uploads/presign", ask.clone())
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(codes[..2], [200, 200]);
    let resp = post(&app, "max", "/v1/uploads/presign", ask.clone()).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // Another user is unaffected.
    assert_eq!(
        post(&app, "ned", "/v1/uploads/presign", ask).await.status(),
        200
    );
}

#[tokio::test]
async fn the_stock_mobile_sdk_provider_gets_credentials_from_a_bare_get_to_its_url() {
    let sts = StsStandIn::start(Behaviour::default()).await;
    let url = sts.url.clone();
    let app = spawn_app_with(|raw| with_sts(raw, &url, 3000)).await;
    let resp = app
        .as_user("kim", Method::POST, "/v1/credentials/oss-sdk/url")
        .json(&json!({"profile": "avatars"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let minted: Value = resp.json().await.unwrap();
    let full = url::Url::parse(minted["url"].as_str().unwrap()).unwrap();
    assert_eq!(full.path(), "/v1/credentials/oss-sdk");
    let path_and_query = format!("{}?{}", full.path(), full.query().unwrap());

    // What OSSAuthCredentialsProvider sends: a GET with no headers of ours.
    let bare = reqwest::Client::new();
    let resp = bare.get(app.url(&path_and_query)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["StatusCode"], json!(200), "{body}");
    assert!(body["AccessKeyId"].is_string() && body["SecurityToken"].is_string());
    let exp = body["Expiration"].as_str().unwrap();
    assert!(exp.len() == 20 && exp.ends_with('Z'), "{exp}");
    let creds: Value = app
        .as_user(
            "kim",
            Method::GET,
            "/v1/credentials/oss-sdk?profile=avatars",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(creds["AccessKeyId"], body["AccessKeyId"], "kim's own grant");

    // A token for one profile opens no other, and a forged one opens nothing; the answer is
    // 200 so that Android's provider can read the error in the body.
    let token = full
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .to_string();
    let forged = format!("{}x", &token[..token.len() - 1]);
    for query in [
        format!("profile=documents&token={token}"),
        format!("profile=avatars&token={forged}"),
    ] {
        let resp = bare
            .get(app.url(&format!("/v1/credentials/oss-sdk?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["StatusCode"], 401, "{body}");
        assert_eq!(body["ErrorCode"], "invalid-token");
        assert!(body.get("AccessKeyId").is_none());
    }
}
