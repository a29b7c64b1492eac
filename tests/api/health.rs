use crate::helpers::*;
use reqwest::Method;
use std::time::Duration;

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let resp = app.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 32);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn a_plain_request_id_from_the_caller_is_kept() {
    let app = spawn_app().await;
    let resp = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-abc-123");
    let resp = app
        .request(Method::GET, "/healthz")
        .header("x-request-id", "has spaces and\ttabs")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "has spaces and\ttabs");
}

#[tokio::test]
async fn readiness_follows_redis_down_and_back() {
    let redis = RedisServer::start();
    let app = spawn_app_on(&redis.url(), |_| {}).await;
    let ready = || async { app.request(Method::GET, "/readyz").send().await.unwrap() };

    assert_eq!(ready().await.status(), 200);

    redis.stop();
    let resp = eventually(Duration::from_secs(5), || async {
        let r = ready().await;
        (r.status() == 503).then_some(r)
    })
    .await
    .expect("readyz turns 503 while Redis is down");
    let (_, code, message) = error_code(resp).await;
    assert_eq!(code, "not-ready");
    assert!(message.contains("redis"), "{message}");
    // Liveness is not readiness: the process itself is fine.
    assert_eq!(
        app.request(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    redis.restart();
    let back = eventually(Duration::from_secs(10), || async {
        (ready().await.status() == 200).then_some(())
    })
    .await;
    assert!(back.is_some(), "readyz recovers once Redis is back");
}

#[tokio::test]
async fn the_app_starts_while_redis_is_down() {
    let port = free_port();
    let app = spawn_app_on(&format!("redis://127.0.0.1:{port}"), |_| {}).await;
    let resp = app.request(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(resp.status(), 503);
    let resp = app
        .get_upload("alice", "0123456789abcdef0123456789abcdef")
        .await;
    let (status, code, message) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (503, "store-unavailable"));
    assert!(
        !message.contains(&port.to_string()),
        "5xx must not leak internals: {message}"
    );
}
