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
    for body in [
        scope("cossts/frank/x.png", COS_BUCKET),
        scope("cossts/erin/x.png", "other-1250000000"),
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
