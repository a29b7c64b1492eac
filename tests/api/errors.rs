use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app().await;
    let (status, code, _) =
        error_code(app.request(Method::GET, "/nope").send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (404, "route-not-found"));
    let (status, code, _) = error_code(
        app.request(Method::DELETE, "/healthz")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (405, "method-not-allowed"));
}

#[tokio::test]
async fn every_error_answer_is_json_with_code_and_message() {
    let app = spawn_app().await;
    let resp = app
        .request(Method::GET, "/v1/uploads")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers().contains_key("x-request-id"));
    let (status, code, message) = error_code(resp).await;
    assert_eq!(status, 401);
    assert_eq!(code, "missing-credentials");
    assert!(message.contains("Authorization"), "{message}");
}

#[tokio::test]
async fn an_oversized_multipart_completion_gets_a_json_413() {
    let app = spawn_app().await;
    let id = uuid::Uuid::now_v7().to_string();
    let resp = app
        .as_user(
            "olga",
            Method::POST,
            &format!("/v1/multipart/{id}/complete"),
        )
        .header("content-type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (413, "payload-too-large"));
    assert!(message.contains("larger than"), "{message}");
}

#[tokio::test]
async fn health_answers_head_and_a_405_names_the_allowed_methods() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let resp = app.request(Method::HEAD, path).send().await.unwrap();
        assert_eq!(resp.status(), 200, "HEAD {path}");
    }
    let resp = app
        .request(Method::PUT, "/v1/uploads/00000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, DELETE");
    let resp = app
        .request(
            Method::PUT,
            "/v1/multipart/00000000000000000000000000000000",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["allow"], "DELETE");
}

#[tokio::test]
async fn cors_lets_configured_tracing_headers_through_and_refuses_in_json() {
    let app = spawn_app_with(|raw| {
        raw.cors.allowed_origins = vec!["https://app.example".into()];
        raw.cors.allowed_headers = vec!["traceparent".into(), "sentry-trace".into()];
    })
    .await;
    let preflight = |origin: &str, headers: &str| {
        app.request(Method::OPTIONS, "/v1/uploads")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
    };
    let ok = preflight(
        "https://app.example",
        "content-type,traceparent,sentry-trace",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(allowed.contains("traceparent"), "{allowed}");
    for (origin, headers) in [
        ("https://app.example", "content-type,x-not-configured"),
        ("https://evil.example", "content-type"),
    ] {
        let resp = preflight(origin, headers).send().await.unwrap();
        assert_eq!(resp.headers()["content-type"], "application/json");
        let (status, code, message) = error_code(resp).await;
        assert_eq!((status, code.as_str()), (400, "cors-refused"), "{message}");
    }
}

/// The `/s3` routes are mounted in a scope and `/v1` flat (`routes/router.rs`):
/// every one of them answers unknown paths, wrong methods and metrics the same way.
#[tokio::test]
async fn scoped_and_flat_routes_answer_404_405_and_metrics_alike() {
    let app = spawn_app().await;
    let id = "0123456789abcdef0123456789abcdef";
    for path in ["/s3/nope", "/v1/nope", "/s3", "/s3/multipart/a/b/c"] {
        let r = app.request(Method::GET, path).send().await.unwrap();
        assert_eq!(error_code(r).await.0, 404, "{path}");
    }
    for (path, allow) in [
        (format!("/s3/multipart/{id}"), "GET, DELETE"),
        (format!("/v1/uploads/{id}"), "GET, DELETE"),
        ("/s3/params".to_string(), "GET"),
    ] {
        let r = app.request(Method::PUT, &path).send().await.unwrap();
        assert_eq!(r.headers()["allow"], allow, "{path}");
        let (status, code, _) = error_code(r).await;
        assert_eq!(
            (status, code.as_str()),
            (405, "method-not-allowed"),
            "{path}"
        );
    }
    let r = app
        .as_user("erin", Method::GET, &format!("/s3/multipart/{id}/3?key=k"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await.1, "not-found");
    let text = app.metrics_text().await;
    for route in [
        "/s3/multipart/{uploadId}/{partNumber}",
        "/s3/multipart/{uploadId}",
        "/v1/uploads/{id}",
    ] {
        assert!(
            text.contains(&format!("route=\"{route}\"")),
            "{route}: {text}"
        );
    }
    assert!(!text.contains(id), "{text}");
    // A path under the scope's prefix that no route takes is counted as unmatched.
    assert!(
        text.contains(r#"method="GET",route="unmatched",status="404""#),
        "{text}"
    );
    assert!(!text.contains(r#"route="/s3""#), "{text}");
}
