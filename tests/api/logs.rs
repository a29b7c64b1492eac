use crate::helpers::*;
use reqwest::Method;

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let app = spawn_app().await;
    // Traffic that carries every kind of secret: tokens good and bad, API keys good and bad.
    let token = token_for("frank");
    app.request(Method::GET, "/v1/uploads")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    app.request(Method::GET, "/v1/uploads")
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    app.request(Method::GET, "/v1/uploads")
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    app.request(Method::GET, "/v1/uploads")
        .bearer_auth(API_KEY.to_uppercase())
        .send()
        .await
        .unwrap();
    app.request(Method::GET, "/nope?token=abc")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let logs = std::fs::read_to_string(log_path()).unwrap();
    assert!(logs.contains("request completed"), "logs are captured");
    let mut forbidden = forbidden_in_logs();
    forbidden.push(token);
    for s in &forbidden {
        assert!(
            !logs.contains(s.as_str()),
            "log output contains forbidden text {s:?}"
        );
    }
    // Every request line carries its request id.
    for line in logs.lines().filter(|l| l.contains("request completed")) {
        assert!(line.contains("\"request_id\""), "{line}");
    }
}

#[test]
fn the_harness_secrets_are_all_on_the_forbidden_list() {
    let list = forbidden_in_logs();
    for s in [HS256_SECRET, API_KEY, TICKET_SECRET, OSS_ACCESS_KEY_SECRET] {
        assert!(
            list.iter().any(|l| l == s),
            "{s} is not in tests/fixtures/log-forbidden.txt"
        );
    }
}
