//! S3 event notifications through Amazon SNS (`POST /v1/callbacks/s3-sns`) and MinIO
//! webhooks (`/v1/callbacks/s3-webhook`), verification and refusals: every case of
//! `sns_messages.json` through the HTTP route, a loopback HTTPS stand-in for SNS that
//! counts its connections, and the webhook's token and liveness probe. (The completion of
//! real uploads on Garage is in `s3_notify_garage.rs`.)

use crate::garage::BUCKET;
use crate::helpers::*;
use crate::sns_harness::{SnsStandIn, notification, s3_created, sign, vectors};
use reqwest::Method;
use serde_json::Value;
use upload_gateway::config::raw::S3WebhookSection;

const TOPIC: &str = "arn:aws:sns:eu-central-1:123456789012:upload-events";
pub const WEBHOOK_TOKEN: &str = "test-minio-webhook-token-5a1c";

pub async fn post_sns(app: &TestApp, message: &Value) -> reqwest::Response {
    app.request(Method::POST, "/v1/callbacks/s3-sns")
        .header("content-type", "text/plain; charset=UTF-8")
        .header(
            "x-amz-sns-message-type",
            message["Type"].as_str().unwrap_or("Notification"),
        )
        .body(serde_json::to_vec(message).unwrap())
        .send()
        .await
        .unwrap()
}

pub async fn post_webhook(app: &TestApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app
        .request(Method::POST, "/v1/callbacks/s3-webhook")
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.send().await.unwrap()
}

pub fn webhook_section() -> Option<S3WebhookSection> {
    Some(S3WebhookSection {
        token: Some(WEBHOOK_TOKEN.to_string().into()),
        token_file: None,
    })
}

/// Keys the app wrote under its Redis prefix.
async fn redis_keys(app: &TestApp) -> Vec<String> {
    let mut conn = redis::Client::open(app.redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("KEYS")
        .arg(format!("{}*", app.prefix))
        .query_async(&mut conn)
        .await
        .unwrap()
}

fn metric(text: &str, line_start: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What each forged vector is refused with, and whether it may reach the certificate host.
fn refusal(name: &str) -> (u16, &'static str, bool) {
    match name {
        "tampered_message" | "version_swapped" => (403, "sns-signature-invalid", true),
        // Refused by the topic allow-list, before any fetch.
        "tampered_topic" => (403, "sns-topic-not-allowed", false),
        "cert_url_s3_bucket_named_sns" | "cert_url_other_region" | "cert_url_evil_suffix" => {
            (400, "sns-cert-url-host", false)
        }
        "cert_url_http" => (400, "sns-cert-url-scheme", false),
        "cert_url_userinfo" => (400, "sns-cert-url-userinfo", false),
        "cert_url_not_pem" => (400, "sns-cert-url-path", false),
        "signature_missing" => (400, "sns-signature-missing", false),
        other => panic!("no expectation for {other}"),
    }
}

#[tokio::test]
async fn every_sns_vector_through_the_route_is_verified_or_refused_with_its_code() {
    let sns = SnsStandIn::start().await;
    let app = spawn_app_with(|raw| sns.configure(raw, &[TOPIC])).await;
    let file = vectors();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);

    // Forged first, those that must not fetch before those that may: no connection at all
    // reaches the stand-in, though every host they name resolves to it.
    let mut forged: Vec<&Value> = cases
        .iter()
        .filter(|c| !c["valid"].as_bool().unwrap())
        .collect();
    forged.sort_by_key(|c| refusal(c["name"].as_str().unwrap()).2);
    for c in &forged {
        let name = c["name"].as_str().unwrap();
        let (status, code, may_fetch) = refusal(name);
        if !may_fetch {
            assert_eq!(
                sns.connections(),
                0,
                "a refused URL was fetched before {name}"
            );
        }
        let (got_status, got_code, _) = error_code(post_sns(&app, &c["message"]).await).await;
        assert_eq!((got_status, got_code.as_str()), (status, code), "{name}");
    }
    assert_eq!(forged.len(), 10);
    // The tampered ones with a good URL fetched the certificate once; it is cached.
    assert_eq!(sns.connections(), 1);

    for c in cases.iter().filter(|c| c["valid"].as_bool().unwrap()) {
        let name = c["name"].as_str().unwrap();
        let resp = post_sns(&app, &c["message"]).await;
        match c["message"]["Type"].as_str().unwrap() {
            // Verified; the object (in examplebucket, no S3 bucket of this gateway) is none
            // of the gateway's: refused by the storage stage, not the signature.
            "Notification" => {
                let (s, code, _) = error_code(resp).await;
                assert_eq!(
                    (s, code.as_str()),
                    (404, "notification-unknown-bucket"),
                    "{name}"
                );
            }
            "SubscriptionConfirmation" => {
                assert_eq!(resp.status(), 200, "{name}");
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["outcome"], "subscription-confirmed");
            }
            _ => {
                assert_eq!(resp.status(), 200, "{name}");
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["outcome"], "unsubscribed");
            }
        }
    }
    // One certificate fetch and one ConfirmSubscription (the unsubscribe fetched nothing).
    let seen = sns.requests();
    let confirms: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("ConfirmSubscription"))
        .collect();
    assert_eq!(confirms.len(), 1, "{seen:?}");
    assert!(
        confirms[0].starts_with(&format!(
            "GET /?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aeu-central-1%3A123456789012%3Aupload-events&Token={} HTTP/1.1 host=sns.eu-central-1.amazonaws.com",
            file["cases"][3]["message"]["Token"].as_str().unwrap()
        )),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|l| l.contains(".pem")).count(),
        1,
        "{seen:?}"
    );
    assert!(redis_keys(&app).await.is_empty(), "nothing is recorded");

    let text = app.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            r#"upload_gateway_sns_cert_fetches_total{result="fetched"}"#
        ),
        1
    );
    assert_eq!(
        metric(
            &text,
            r#"upload_gateway_notifications_total{outcome="bad_signature",source="s3_sns"}"#
        ),
        2,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"upload_gateway_notifications_total{outcome="unknown",source="s3_sns"}"#
        ),
        3
    );
}

#[tokio::test]
async fn raw_delivery_and_unlisted_topics_are_refused_without_a_fetch() {
    let sns = SnsStandIn::start().await;
    let app = spawn_app_with(|raw| {
        sns.configure(
            raw,
            &["arn:aws:sns:eu-central-1:123456789012:another-topic"],
        )
    })
    .await;
    let file = vectors();
    let valid = &file["cases"][0]["message"];
    let (s, code, _) = error_code(post_sns(&app, valid).await).await;
    assert_eq!((s, code.as_str()), (403, "sns-topic-not-allowed"));

    // Raw delivery: the S3 event itself, no envelope, no signature.
    let event: Value = serde_json::from_str(valid["Message"].as_str().unwrap()).unwrap();
    let (s, code, _) = error_code(post_sns(&app, &event).await).await;
    assert_eq!((s, code.as_str()), (400, "sns-raw-delivery"));
    let resp = app
        .request(Method::POST, "/v1/callbacks/s3-sns")
        .header("x-amz-sns-rawdelivery", "true")
        .body(serde_json::to_vec(valid).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await.1, "sns-raw-delivery");
    let resp = app
        .request(Method::POST, "/v1/callbacks/s3-sns")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await.1, "sns-malformed");
    assert_eq!(sns.connections(), 0);
    // The MinIO route is not mounted without its section.
    let (s, _, _) = error_code(post_webhook(&app, Some(WEBHOOK_TOKEN), &event).await).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn certificates_are_fetched_without_redirects_within_the_size_cap_and_timeout() {
    let sns = SnsStandIn::start().await;
    let app = spawn_app_with(|raw| {
        sns.configure(raw, &[TOPIC]);
        raw.callbacks.s3_sns.as_mut().unwrap().fetch_timeout_ms = 300;
    })
    .await;
    let file = vectors();
    // SigningCertURL is not signed: the signature stays good, only the fetch fails.
    for name in ["redirect", "big", "slow"] {
        let started = std::time::Instant::now();
        let mut m = file["cases"][0]["message"].clone();
        m["SigningCertURL"] =
            format!("https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-{name}.pem")
                .into();
        let (s, code, message) = error_code(post_sns(&app, &m).await).await;
        assert_eq!((s, code.as_str()), (502, "sns-cert-unavailable"), "{name}");
        assert!(
            !message.contains("127.0.0.1") && !message.contains(".pem"),
            "{message}"
        );
        let bounded = started.elapsed() < std::time::Duration::from_secs(2);
        assert!(bounded, "{name}: bounded by the timeout");
    }
    let seen = sns.requests();
    // The redirect's target (the good certificate) was never requested.
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.iter().all(|l| !l.contains("0000000a")), "{seen:?}");
}

#[tokio::test]
async fn confirmations_call_the_topics_own_host_and_never_fetch_the_subscribe_url() {
    let sns = SnsStandIn::start().await;
    let app = spawn_app_with(|raw| sns.configure(raw, &[TOPIC])).await;
    let file = vectors();
    let good = &file["cases"][3]["message"];
    let token = good["Token"].as_str().unwrap();
    // Signed by SNS's key, yet naming other hosts, paths and parameters: none is requested.
    for url in [
        format!(
            "https://sns.s3.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}"
        ),
        format!(
            "https://evil.example/internal?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}"
        ),
        format!(
            "https://sns.eu-central-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token={token}&Then=x"
        ),
    ] {
        let mut m = good.clone();
        m["SubscribeURL"] = url.clone().into();
        sign(&mut m);
        let resp = post_sns(&app, &m).await;
        assert_eq!(resp.status(), 200, "{url}");
    }
    let want = format!(
        "GET /?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aeu-central-1%3A123456789012%3Aupload-events&Token={token} HTTP/1.1 host=sns.eu-central-1.amazonaws.com"
    );
    let confirms: Vec<String> = sns
        .requests()
        .into_iter()
        .filter(|l| !l.contains(".pem"))
        .collect();
    assert_eq!(
        confirms,
        vec![want.clone(), want.clone(), want],
        "only the topic's own host"
    );

    // SNS answering ConfirmSubscription with an error: 502, SNS may send it again.
    let mut m = good.clone();
    m["Token"] = "failtoken".into();
    sign(&mut m);
    let (s, code, message) = error_code(post_sns(&app, &m).await).await;
    assert_eq!((s, code.as_str()), (502, "sns-confirm-failed"));
    assert!(!message.contains("failtoken"), "{message}");

    // A token SNS would not issue is not sent anywhere.
    let mut m = good.clone();
    m["Token"] = "abc&Action=Unsubscribe".into();
    sign(&mut m);
    let (s, code, _) = error_code(post_sns(&app, &m).await).await;
    assert_eq!((s, code.as_str()), (400, "notification-malformed"));

    // With confirmations off, even a good one is refused and nothing but the cert fetched.
    let off = spawn_app_with(|raw| {
        sns.configure(raw, &[TOPIC]);
        raw.callbacks.s3_sns.as_mut().unwrap().confirm_subscriptions = false;
    })
    .await;
    let before = sns.requests().len();
    let (s, code, _) = error_code(post_sns(&off, good).await).await;
    assert_eq!((s, code.as_str()), (403, "sns-confirmation-disabled"));
    assert!(sns.requests()[before..].iter().all(|l| l.contains(".pem")));
}

#[tokio::test]
async fn test_events_are_ignored_and_foreign_objects_are_refused_with_stable_codes() {
    let sns = SnsStandIn::start().await;
    // An S3 bucket the gateway never reaches: every case is refused before HeadObject.
    let app = spawn_app_with(|raw| {
        crate::s3::add_s3_bucket(raw, "http://127.0.0.1:1");
        sns.configure(raw, &[TOPIC]);
        raw.callbacks.s3_webhook = webhook_section();
    })
    .await;
    let test_event = serde_json::json!({"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2023-11-14T22:13:20.000Z","Bucket":"examplebucket","RequestId":"R","HostId":"H"});
    let resp = post_sns(&app, &notification(&test_event, "m-test")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["outcome"], "ignored");

    let cases = [
        (
            s3_created("otherbucket", "s3docs/alice/x.txt", 3, "e", false),
            404,
            "notification-unknown-bucket",
        ),
        // The gateway's OSS bucket: S3 notifications are none of its business.
        (
            s3_created("examplebucket", "avatars/alice/x.png", 3, "e", false),
            404,
            "notification-unknown-bucket",
        ),
        (
            s3_created(BUCKET, "elsewhere/alice/x.txt", 3, "e", false),
            404,
            "notification-key-not-managed",
        ),
        (
            s3_created(BUCKET, "s3docs/alice/../x.txt", 3, "e", false),
            404,
            "notification-key-not-managed",
        ),
    ];
    for (i, (event, status, code)) in cases.iter().enumerate() {
        let (s, c, _) =
            error_code(post_sns(&app, &notification(event, &format!("m-{i}"))).await).await;
        assert_eq!((s, c.as_str()), (*status, *code), "{event}");
        let minio = {
            let mut e = event.clone();
            e["Records"][0]["eventName"] = "s3:ObjectCreated:Put".into();
            e
        };
        let (s, c, _) = error_code(post_webhook(&app, Some(WEBHOOK_TOKEN), &minio).await).await;
        assert_eq!((s, c.as_str()), (*status, *code), "minio {event}");
    }
    // Storage unreachable (the bucket's endpoint refuses connections): 502, no internals, and
    // SNS will deliver again.
    let ours = s3_created(BUCKET, "s3docs/alice/x.txt", 3, "e", false);
    let (s, c, message) = error_code(post_sns(&app, &notification(&ours, "m-down")).await).await;
    assert_eq!((s, c.as_str()), (502, "upstream-failed"));
    assert!(!message.contains("127.0.0.1"), "{message}");

    // Removals are not completions: ignored.
    let mut removed = s3_created("examplebucket", "avatars/alice/x.png", 3, "e", true);
    removed["Records"][0]["eventName"] = "s3:ObjectRemoved:Delete".into();
    let resp = post_webhook(&app, Some(WEBHOOK_TOKEN), &removed).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        (body["outcome"].as_str(), body["ignored"].as_u64()),
        (Some("ignored"), Some(1))
    );
    assert!(redis_keys(&app).await.is_empty(), "nothing is recorded");
}

#[tokio::test]
async fn the_webhook_wants_its_bearer_token_and_answers_minios_probe() {
    let app = spawn_app_with(|raw| raw.callbacks.s3_webhook = webhook_section()).await;
    let event = s3_created("examplebucket", "avatars/alice/x.png", 3, "e", true);
    for token in [
        None,
        Some("wrong-token-0000000000000"),
        Some(&WEBHOOK_TOKEN[..WEBHOOK_TOKEN.len() - 1]),
    ] {
        let (s, code, _) = error_code(post_webhook(&app, token, &event).await).await;
        assert_eq!(
            (s, code.as_str()),
            (401, "notification-unauthorized"),
            "{token:?}"
        );
    }
    let probe = |auth: Option<String>| {
        let mut r = app.request(Method::HEAD, "/v1/callbacks/s3-webhook");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    assert_eq!(
        probe(Some(format!("Bearer {WEBHOOK_TOKEN}")))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        probe(Some("Bearer nope".into())).await.unwrap().status(),
        401
    );
    assert_eq!(probe(None).await.unwrap().status(), 401);
    assert!(redis_keys(&app).await.is_empty());
    let text = app.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            r#"upload_gateway_notifications_total{outcome="unauthorized",source="s3_webhook"}"#
        ),
        5
    );
    // Not mounted: no SNS section.
    let resp = app
        .request(Method::POST, "/v1/callbacks/s3-sns")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

/// Without `[callbacks.s3_sns]` / `[callbacks.s3_webhook]` the receivers are not there: a
/// notification or MinIO's probe gets 404 (with the JSON error where there is a body), never
/// a 405 or a 5xx.
#[tokio::test]
async fn unconfigured_notification_endpoints_answer_404() {
    let app = spawn_app().await;
    let probe = app
        .request(Method::HEAD, "/v1/callbacks/s3-webhook")
        .header("authorization", "Bearer whatever-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 404);
    for path in ["/v1/callbacks/s3-sns", "/v1/callbacks/s3-webhook"] {
        let resp = app
            .request(Method::POST, path)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["code"].is_string(), "{path}: {body}");
    }
}
