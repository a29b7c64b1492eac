//! Temporary credentials for an S3 bucket: the SigV4-signed AssumeRole to the local AWS STS
//! stand-in (which verifies the signature with its own implementation), the session policy
//! narrowed to the caller's prefix, caching and single-flight, and the JSON of the AWS SDKs'
//! container credential provider at `/v1/credentials/aws-sdk`.

use crate::aws_sts_standin::{
    AWS_STS_KEY_ID, AWS_STS_SECRET, AwsStsStandIn, Behaviour, STS_REGION,
};
use crate::garage::BUCKET;
use crate::helpers::*;
use crate::multipart::json_of;
use crate::s3::add_s3_bucket;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/upload-gateway";

/// A gateway whose `s3` bucket has an STS section pointing at `sts`, and an `s3sts` profile.
async fn sts_gateway(sts: &AwsStsStandIn, timeout_ms: u64) -> TestApp {
    let url = sts.url.clone();
    spawn_app_with(move |raw| {
        add_s3_bucket(raw, "http://127.0.0.1:1");
        use figment::providers::{Format, Toml};
        let sts: upload_gateway::config::raw::StsSection = figment::Figment::new()
            .merge(Toml::string(&format!(
                r#"
endpoint = "{url}"
role_arn = "{ROLE}"
region = "{STS_REGION}"
duration_secs = 1800
timeout_ms = {timeout_ms}
access_key_id = "{AWS_STS_KEY_ID}"
access_key_secret = "{AWS_STS_SECRET}"
"#
            )))
            .extract()
            .unwrap();
        raw.buckets.get_mut("s3").unwrap().sts = Some(sts);
        let extra: upload_gateway::config::raw::RawSettings = figment::Figment::new()
            .merge(Toml::string(
                r#"
[profiles.s3sts]
bucket = "s3"
key_template = "s3sts/{user}/{uuid}{ext}"
max_size_bytes = 10485760
kinds = ["sts"]
"#,
            ))
            .extract()
            .unwrap();
        raw.profiles.extend(extra.profiles);
    })
    .await
}

async fn aws_sdk(app: &TestApp, user: &str, profile: &str) -> (u16, Value) {
    json_of(
        app.as_user(
            user,
            Method::GET,
            &format!("/v1/credentials/aws-sdk?profile={profile}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await
}

#[tokio::test]
async fn aws_sdk_credentials_come_from_a_signed_assume_role_scoped_to_the_users_prefix() {
    let sts = AwsStsStandIn::start(Behaviour::default()).await;
    let app = sts_gateway(&sts, 3000).await;
    let (status, v) = aws_sdk(&app, "erin", "s3sts").await;
    assert_eq!(status, 200, "{v}");
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["AccessKeyId", "Expiration", "SecretAccessKey", "Token"]
    );
    assert!(
        v["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIASTANDIN")
    );
    let exp = v["Expiration"].as_str().unwrap();
    assert!(exp.ends_with('Z') && !exp.contains('.'), "{exp}");
    let exp =
        time::OffsetDateTime::parse(exp, &time::format_description::well_known::Rfc3339).unwrap();
    let left = (exp - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((1700..=1800).contains(&left), "{left}");

    // The session policy grants only the three object actions, only under erin's prefix.
    assert_eq!(
        sts.last_policy.lock().unwrap().clone().unwrap(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            "Resource": [format!("arn:aws:s3:::{BUCKET}/s3sts/erin/*")]}]})
    );
    let form = sts.last_form.lock().unwrap().clone();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("RoleArn").as_deref(), Some(ROLE));
    assert_eq!(get("DurationSeconds").as_deref(), Some("1800"));
    let session = get("RoleSessionName").unwrap();
    assert!(
        session.starts_with("ugw-") && !session.contains("erin"),
        "{session}"
    );

    // Cached: the same keys again without another AssumeRole; the generic route agrees.
    let (_, again) = aws_sdk(&app, "erin", "s3sts").await;
    assert_eq!(again["AccessKeyId"], v["AccessKeyId"]);
    let (status, generic) = json_of(
        app.as_user("erin", Method::POST, "/v1/credentials")
            .json(&json!({"profile": "s3sts"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{generic}");
    assert_eq!(generic["access_key_id"], v["AccessKeyId"]);
    assert_eq!(generic["provider"], "s3");
    assert_eq!(generic["prefix"], "s3sts/erin/");
    assert_eq!(generic["bucket"], BUCKET);
    assert_eq!(sts.calls(), 1);
}

#[tokio::test]
async fn concurrent_first_requests_share_one_assume_role() {
    let sts = AwsStsStandIn::start(Behaviour {
        delay: Some(Duration::from_millis(300)),
        fail_with: None,
    })
    .await;
    let app = sts_gateway(&sts, 3000).await;
    let answers =
        futures_util::future::join_all((0..8).map(|_| aws_sdk(&app, "gina", "s3sts"))).await;
    let first = &answers[0].1["AccessKeyId"];
    for (status, v) in &answers {
        assert_eq!((*status, &v["AccessKeyId"]), (200, first), "{v}");
    }
    assert_eq!(sts.calls(), 1);
}

#[tokio::test]
async fn sts_refusals_and_timeouts_get_stable_codes_and_other_buckets_get_a_400() {
    let refused = AwsStsStandIn::start(Behaviour {
        delay: None,
        fail_with: Some("AccessDenied"),
    })
    .await;
    let app = sts_gateway(&refused, 3000).await;
    let (status, v) = aws_sdk(&app, "hank", "s3sts").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (502, Some("upstream-failed")),
        "{v}"
    );
    assert!(!v.to_string().contains("AccessDenied"), "{v}");
    // A profile on the (OSS) main bucket: this route answers for S3 buckets only.
    let (status, v) = aws_sdk(&app, "hank", "avatars").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalid-argument")),
        "{v}"
    );
    let resp = app
        .request(Method::GET, "/v1/credentials/aws-sdk?profile=s3sts")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let slow = AwsStsStandIn::start(Behaviour {
        delay: Some(Duration::from_millis(1500)),
        fail_with: None,
    })
    .await;
    let app = sts_gateway(&slow, 300).await;
    let (status, v) = aws_sdk(&app, "hank", "s3sts").await;
    assert_eq!(
        (status, v["code"].as_str()),
        (504, Some("upstream-timeout")),
        "{v}"
    );
}
