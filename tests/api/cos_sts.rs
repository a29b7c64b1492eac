//! Temporary credentials for a COS bucket: the TC3-signed STS call to the local store's
//! stand-in, the keys working only under the caller's prefix, and the qcloud-cos-sts JSON
//! of `/v1/credentials/cos-sdk` with its ScopeLimit check.

use crate::cos::{COS_BUCKET, COS_REGION, CosStore, cos_gateway};
use crate::helpers::*;
use crate::multipart::json_of;
use reqwest::Method;
use serde_json::{Value, json};
use upload_gateway::providers::cos::{BucketName, CosLocation, Credentials, KeyTime, presign};

async fn post(app: &TestApp, user: &str, path: &str, body: Value) -> (u16, Value) {
    json_of(
        app.as_user(user, Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn cos_sts_credentials_work_under_the_prefix_fail_outside_and_answer_the_cos_sdk_shape() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let resp = app
        .as_user(
            "erin",
            Method::GET,
            "/v1/credentials/cos-sdk?profile=cossts",
        )
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(status, 200, "{v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "credentials",
            "expiration",
            "expiredTime",
            "requestId",
            "startTime"
        ]
    );
    let c = &v["credentials"];
    let mut ckeys: Vec<&String> = c.as_object().unwrap().keys().collect();
    ckeys.sort();
    assert_eq!(ckeys, ["sessionToken", "tmpSecretId", "tmpSecretKey"]);
    let (start, end) = (
        v["startTime"].as_i64().unwrap(),
        v["expiredTime"].as_i64().unwrap(),
    );
    assert_eq!((start.to_string().len(), end.to_string().len()), (10, 10));
    assert!(
        start < now() && start > now() - 300 && end > now(),
        "{start} {end}"
    );

    let loc = CosLocation::with_endpoint(
        BucketName::parse(COS_BUCKET).unwrap(),
        COS_REGION,
        &store.url(),
    )
    .unwrap();
    let creds = Credentials {
        secret_id: c["tmpSecretId"].as_str().unwrap(),
        secret_key: c["tmpSecretKey"].as_str().unwrap(),
        security_token: c["sessionToken"].as_str(),
    };
    let put = |key: String| {
        let p = presign::presign_upload(
            &loc,
            creds,
            &presign::UploadRequest {
                op: presign::UploadOp::Put,
                key: &key,
                content_type: None,
                content_md5: None,
                content_length: None,
                extra_headers: &[],
                key_time: KeyTime::around(now(), 600, 60),
            },
        );
        app.client.put(p.url).body("sts!").send()
    };
    assert_eq!(put("cossts/erin/a.txt".into()).await.unwrap().status(), 200);
    assert_eq!(
        put("cossts/frank/a.txt".into()).await.unwrap().status(),
        403
    );
    assert_eq!(
        put("cosdocs/erin/a.txt".into()).await.unwrap().status(),
        403
    );

    // ScopeLimit: the SDK posts the scope it wants.
    let scope = |prefix: &str, bucket: &str| {
        json!({"Scope": [{"action": "name/cos:PutObject",
        "bucket": bucket, "region": COS_REGION, "prefix": prefix}]})
    };
    let (status, ok) = post(
        &app,
        "erin",
        "/v1/credentials/cos-sdk?profile=cossts",
        scope("cossts/erin/x.png", COS_BUCKET),
    )
    .await;
    assert_eq!(status, 200, "{ok}");
    let append = json!({"Scope": [{"action": "name/cos:AppendObject",
        "bucket": COS_BUCKET, "region": COS_REGION, "prefix": "cossts/erin/x.log"}]});
    for body in [
        scope("cossts/frank/x.png", COS_BUCKET),
        scope("cossts/erin/x.png", "other-1250000000"),
        // cossts does not allow appends, so its keys cannot AppendObject.
        append,
    ] {
        let (status, refused) =
            post(&app, "erin", "/v1/credentials/cos-sdk?profile=cossts", body).await;
        assert_eq!(
            (status, refused["code"].as_str()),
            (403, Some("scope-not-allowed")),
            "{refused}"
        );
    }
}

/// The temporary keys of `/v1/credentials/cos-sdk?profile=cossts` for `user`, and the grant
/// (the answer's requestId).
async fn sts_keys(app: &TestApp, user: &str) -> (Value, String) {
    let resp = app
        .as_user(user, Method::GET, "/v1/credentials/cos-sdk?profile=cossts")
        .send()
        .await
        .unwrap();
    let (status, v) = json_of(resp).await;
    assert_eq!(status, 200, "{v}");
    let grant = v["requestId"].as_str().unwrap().to_string();
    (v["credentials"].clone(), grant)
}

/// A PUT of `body` at `key` signed with the temporary keys `c`.
async fn sts_put(app: &TestApp, store: &CosStore, c: &Value, key: &str, body: &'static str) -> u16 {
    let loc = CosLocation::with_endpoint(
        BucketName::parse(COS_BUCKET).unwrap(),
        COS_REGION,
        &store.url(),
    )
    .unwrap();
    let creds = Credentials {
        secret_id: c["tmpSecretId"].as_str().unwrap(),
        secret_key: c["tmpSecretKey"].as_str().unwrap(),
        security_token: c["sessionToken"].as_str(),
    };
    let p = presign::presign_upload(
        &loc,
        creds,
        &presign::UploadRequest {
            op: presign::UploadOp::Put,
            key,
            content_type: None,
            content_md5: None,
            content_length: None,
            extra_headers: &[],
            key_time: KeyTime::around(now(), 600, 60),
        },
    );
    let resp = app.client.put(p.url).body(body).send().await.unwrap();
    resp.status().as_u16()
}

#[tokio::test]
async fn an_object_written_with_cos_sts_keys_completes_once_through_confirm_with_its_key() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let (c, grant) = sts_keys(&app, "gina").await;
    assert_eq!(
        sts_put(&app, &store, &c, "cossts/gina/a.txt", "grant!").await,
        200
    );
    let confirm = format!("/v1/uploads/{grant}/confirm");

    let (status, rec) = post(&app, "gina", &confirm, json!({"key": "cossts/gina/a.txt"})).await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(
        (
            rec["status"].as_str(),
            rec["kind"].as_str(),
            rec["size"].as_u64()
        ),
        (Some("completed"), Some("sts"), Some(6)),
        "{rec}"
    );
    assert_eq!(rec["grant_id"].as_str(), Some(grant.as_str()));
    assert_eq!(rec["key"], "cossts/gina/a.txt");
    assert_ne!(rec["id"].as_str(), Some(grant.as_str()));
    // Again: the same record, not a second one.
    let (_, again) = post(&app, "gina", &confirm, json!({"key": "cossts/gina/a.txt"})).await;
    assert_eq!(again["id"], rec["id"]);
    let id = rec["id"].as_str().unwrap();
    let (_, read) = json_of(
        app.as_user("gina", Method::GET, &format!("/v1/uploads/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(read["status"], "completed", "{read}");

    // A new version of the object is a new upload.
    assert_eq!(
        sts_put(&app, &store, &c, "cossts/gina/a.txt", "grant2!").await,
        200
    );
    let (_, newer) = post(&app, "gina", &confirm, json!({"key": "cossts/gina/a.txt"})).await;
    assert_ne!(newer["id"], rec["id"], "{newer}");
    assert_eq!(newer["size"], 7);

    for (body, want) in [
        (
            json!({"key": "cossts/gina/missing.txt"}),
            (409, "object-missing"),
        ),
        (
            json!({"key": "cossts/frank/a.txt"}),
            (400, "invalid-object-key"),
        ),
        (json!({"key": "cossts/gina/"}), (400, "invalid-object-key")),
        (
            json!({"key": "cossts/gina/../frank/a.txt"}),
            (400, "invalid-object-key"),
        ),
        (json!({}), (400, "invalid-argument")),
        (json!({"key": 5}), (400, "invalid-json")),
        (
            json!({"key": "cossts/gina/a.txt", "etag": "x"}),
            (400, "invalid-json"),
        ),
    ] {
        let (status, v) = post(&app, "gina", &confirm, body.clone()).await;
        assert_eq!(
            (status, v["code"].as_str().unwrap_or("")),
            want,
            "{body}: {v}"
        );
    }
    // Another user's grant is not found; a key on an upload that is no grant is refused.
    let (status, _) = post(&app, "frank", &confirm, json!({"key": "cossts/gina/a.txt"})).await;
    assert_eq!(status, 404);
    let (status, v) = post(
        &app,
        "gina",
        &format!("/v1/uploads/{id}/confirm"),
        json!({"key": "cossts/gina/a.txt"}),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalid-argument")),
        "{v}"
    );
    let (_, listed) = json_of(
        app.as_user("gina", Method::GET, "/v1/uploads?status=completed")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}

#[tokio::test]
async fn the_stock_snippets_bucket_and_region_query_must_name_the_profiles_bucket() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let get = |q: String| {
        app.as_user(
            "erin",
            Method::GET,
            &format!("/v1/credentials/cos-sdk?profile=cossts{q}"),
        )
        .send()
    };
    let (status, v) = json_of(
        get(format!("&bucket={COS_BUCKET}&region={COS_REGION}"))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["credentials"]["tmpSecretId"].is_string());
    for q in [
        format!("&bucket=other-1250000000&region={COS_REGION}"),
        format!("&bucket={COS_BUCKET}&region=ap-beijing"),
    ] {
        let (status, v) = json_of(get(q.clone()).await.unwrap()).await;
        assert_eq!(
            (status, v["code"].as_str()),
            (403, Some("scope-not-allowed")),
            "{q}: {v}"
        );
    }
    let (status, v) = json_of(get("&prefix=x".into()).await.unwrap()).await;
    assert_eq!(status, 400, "{v}");
}
