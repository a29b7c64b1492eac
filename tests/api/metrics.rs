use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn metrics_carry_the_documented_names_and_route_patterns() {
    let app = spawn_app().await;
    app.request(Method::GET, "/healthz").send().await.unwrap();
    app.request(Method::GET, "/readyz").send().await.unwrap();
    app.get_upload("erin", "0123456789abcdef0123456789abcdef")
        .await;
    app.request(Method::GET, "/v1/uploads")
        .send()
        .await
        .unwrap();

    let text = app.metrics_text().await;
    for name in [
        "upload_gateway_http_requests_total",
        "upload_gateway_http_request_duration_seconds_bucket",
        "upload_gateway_redis_command_duration_seconds_bucket",
        "upload_gateway_auth_failures_total",
        "upload_gateway_callback_journal_depth",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    assert!(
        text.contains(
            r#"upload_gateway_http_requests_total{method="GET",route="/healthz",status="200"}"#
        ),
        "{text}"
    );
    // Route patterns, never raw paths with ids in them.
    assert!(text.contains(r#"route="/v1/uploads/{id}""#), "{text}");
    assert!(!text.contains("0123456789abcdef0123456789abcdef"), "{text}");
    assert!(!text.contains("erin"));
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let app = spawn_app_with(|raw| {
        raw.metrics.bearer_token = Some("scrape-token-123".to_string().into())
    })
    .await;
    let resp = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .request(Method::GET, "/metrics")
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = app
        .request(Method::GET, "/metrics")
        .bearer_auth("scrape-token-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn metrics_can_live_on_their_own_listener() {
    let port = free_port();
    let app = spawn_app_with(|raw| raw.metrics.listen = Some(format!("127.0.0.1:{port}"))).await;
    let resp = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(resp.status(), 404, "not on the API listener");
    let text = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("upload_gateway_callback_journal_depth"));
}

#[tokio::test]
async fn metrics_are_not_public_on_the_api_port_by_default() {
    let app = spawn_app_with(|raw| raw.metrics.public = false).await;
    let resp = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let (_, code, _) = error_code(resp).await;
    assert_eq!(code, "route-not-found");
}

/// Label values are snake_case identifiers (one convention for every dashboard and alert),
/// except the labels that carry names from elsewhere: route patterns, HTTP methods and
/// statuses, the vendors' own operation names, configured profile/endpoint names, versions.
#[tokio::test]
async fn label_values_are_snake_case() {
    let app = spawn_app().await;
    app.request(Method::GET, "/healthz").send().await.unwrap();
    // An authentication failure: its reason comes from an error code (kebab-case on the wire).
    let resp = app
        .request(Method::GET, "/v1/uploads")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let text = app.metrics_text().await;
    assert!(
        text.contains("upload_gateway_auth_failures_total{"),
        "{text}"
    );
    let free = [
        "route",
        "method",
        "status",
        "operation",
        "profile",
        "endpoint",
        "version",
        "commit",
        "le",
    ];
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(labels) = line.split_once('{').and_then(|(_, r)| r.split_once('}')) else {
            continue;
        };
        for pair in labels.0.split("\",").filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once("=\"").expect("name=\"value\"");
            let value = value.trim_end_matches('"');
            if free.contains(&name) {
                continue;
            }
            checked += 1;
            assert!(
                !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}=\"{value}\" is not snake_case in: {line}"
            );
        }
    }
    assert!(checked > 100, "only {checked} label values checked");
}

#[tokio::test]
async fn own_time_is_each_requests_latency_less_its_storage_calls() {
    use crate::multipart::{LocalStore, gateway_for};
    let store = LocalStore::start().await;
    let app = gateway_for(&store, "v4").await;
    // One InitiateMultipartUpload against the store.
    let resp = app
        .as_user("olga", Method::POST, "/v1/multipart")
        .json(
            &serde_json::json!({"profile": "documents", "filename": "r.pdf",
            "content_type": "application/pdf", "size": 20 * 1024 * 1024}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    // A presign calls no outside service: its own time is all of it.
    let resp = app
        .as_user("olga", Method::POST, "/v1/uploads/presign")
        .json(
            &serde_json::json!({"profile": "avatars", "filename": "a.png",
            "content_type": "image/png", "size": 10}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let text = app.metrics_text().await;
    let series = |name: &str, route: &str| {
        sample(
            &text,
            &format!("upload_gateway_{name}{{route=\"{route}\"}}"),
        )
    };
    let storage = sample(
        &text,
        r#"upload_gateway_upstream_request_duration_seconds_sum{operation="InitiateMultipartUpload",provider="oss"}"#,
    )
    .unwrap();
    let mp = "/v1/multipart";
    assert_eq!(
        series("http_own_duration_seconds_count", mp),
        Some(1.0),
        "{text}"
    );
    let total = series("http_request_duration_seconds_sum", mp).unwrap();
    let own = series("http_own_duration_seconds_sum", mp).unwrap();
    assert!(storage > 0.0 && own > 0.0, "{text}");
    assert!(
        (own - (total - storage)).abs() < 1e-6,
        "own {own}, total {total}, storage {storage}"
    );
    let p = "/v1/uploads/presign";
    assert_eq!(
        series("http_own_duration_seconds_count", p),
        Some(1.0),
        "{text}"
    );
    let (own, total) = (
        series("http_own_duration_seconds_sum", p).unwrap(),
        series("http_request_duration_seconds_sum", p).unwrap(),
    );
    assert!((own - total).abs() < 1e-9, "own {own}, total {total}");
}
