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
