use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

async fn status_and_code(app: &TestApp, req: reqwest::RequestBuilder) -> (u16, String) {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    if status == 200 {
        return (200, String::new());
    }
    let (s, code, _) = error_code(resp).await;
    let _ = app;
    (s, code)
}

fn list(app: &TestApp) -> reqwest::RequestBuilder {
    app.request(Method::GET, "/v1/uploads")
}

#[tokio::test]
async fn valid_hs256_and_rs256_tokens_and_api_keys_are_accepted() {
    let app = spawn_app().await;
    let hs = jwt_hs256(&claims_for("alice"));
    let rs = jwt_rs256(&claims_for("alice"));
    assert_eq!(
        status_and_code(&app, list(&app).bearer_auth(hs)).await.0,
        200
    );
    assert_eq!(
        status_and_code(&app, list(&app).bearer_auth(rs)).await.0,
        200
    );
    assert_eq!(
        status_and_code(&app, list(&app).header("x-api-key", API_KEY))
            .await
            .0,
        200
    );
    assert_eq!(
        status_and_code(&app, list(&app).bearer_auth(API_KEY))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_request_without_credentials_gets_401_with_a_challenge() {
    let app = spawn_app().await;
    let resp = list(&app).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let (_, code, _) = error_code(resp).await;
    assert_eq!(code, "missing-credentials");
}

#[tokio::test]
async fn bad_tokens_are_rejected_with_stable_codes() {
    let app = spawn_app().await;
    let mut expired = claims_for("alice");
    expired["exp"] = json!(now() - 60);
    let mut wrong_aud = claims_for("alice");
    wrong_aud["aud"] = json!("another-service");
    let mut wrong_iss = claims_for("alice");
    wrong_iss["iss"] = json!("https://evil.example/");
    let mut no_exp = claims_for("alice");
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut numeric_sub = claims_for("x");
    numeric_sub["sub"] = json!(42);
    let mut object_sub = claims_for("x");
    object_sub["sub"] = json!({"id": 1});
    let mut future = claims_for("alice");
    future["nbf"] = json!(now() + 3600);

    let good = jwt_hs256(&claims_for("alice"));
    let (head, rest) = good.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let mut bad_sig = sig.to_string();
    bad_sig.replace_range(0..2, if &sig[0..2] == "AA" { "BB" } else { "AA" });
    let tampered = format!("{head}.{payload}.{bad_sig}");
    // alg=none, and an HS256 token keyed with the RS256 public key (algorithm confusion).
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let public_pem = std::fs::read(fixtures().join("jwt_rs256_public.pem")).unwrap();
    let confused = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims_for("alice"),
        &jsonwebtoken::EncodingKey::from_secret(&public_pem),
    )
    .unwrap();

    let cases = [
        ("expired", jwt_hs256(&expired), "token-expired"),
        ("wrong audience", jwt_hs256(&wrong_aud), "invalid-token"),
        ("wrong issuer", jwt_hs256(&wrong_iss), "invalid-token"),
        ("no exp", jwt_hs256(&no_exp), "invalid-token"),
        ("not yet valid", jwt_hs256(&future), "invalid-token"),
        ("bad signature", tampered, "invalid-token"),
        ("alg none", none, "invalid-token"),
        ("algorithm confusion", confused, "invalid-token"),
        ("object sub", jwt_hs256(&object_sub), "invalid-token"),
        (
            "unknown api key",
            "not-a-key-we-know".to_string(),
            "unknown-api-key",
        ),
    ];
    for (name, token, expected) in cases {
        let (status, code) = status_and_code(&app, list(&app).bearer_auth(&token)).await;
        assert_eq!((status, code.as_str()), (401, expected), "{name}");
    }
    // A numeric subject is a fine user id.
    assert_eq!(
        status_and_code(&app, list(&app).bearer_auth(jwt_hs256(&numeric_sub)))
            .await
            .0,
        200
    );

    let (status, code) = status_and_code(&app, list(&app).header("x-api-key", "nope")).await;
    assert_eq!((status, code.as_str()), (401, "unknown-api-key"));
    let (status, code) =
        status_and_code(&app, list(&app).header("authorization", "Basic YTpi")).await;
    assert_eq!((status, code.as_str()), (401, "invalid-token"));

    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("upload_gateway_auth_failures_total{reason=\"token_expired\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_user_claim_is_configurable() {
    let app = spawn_app_with(|raw| raw.auth.user_claim = "uid".into()).await;
    let mut claims = claims_for("ignored");
    claims["uid"] = json!("bob");
    assert_eq!(
        status_and_code(&app, list(&app).bearer_auth(jwt_hs256(&claims)))
            .await
            .0,
        200
    );
    let (status, code) =
        status_and_code(&app, list(&app).bearer_auth(jwt_hs256(&claims_for("x")))).await;
    assert_eq!((status, code.as_str()), (401, "invalid-token"));
}

#[tokio::test]
async fn the_rate_limit_is_shared_through_redis() {
    // Two stores (as two replicas would have) count against one budget.
    let a = spawn_app().await;
    let shared = a.prefix.clone();
    let b = spawn_app_with(|raw| raw.redis.key_prefix = shared).await;
    let user = upload_gateway::domain::UserId::parse("rl-user").unwrap();
    let bucket = "issue";
    let mut allowed = 0;
    let mut retry = None;
    for i in 0..6 {
        let store = if i % 2 == 0 { a.store() } else { b.store() };
        // per_minute=60 with burst=3: three go through at once, then one per second.
        match store.rate_limit(&user, bucket, 60, 3).await.unwrap() {
            upload_gateway::store::RateDecision::Allowed => allowed += 1,
            upload_gateway::store::RateDecision::Limited { retry_after } => {
                retry = Some(retry_after)
            }
        }
    }
    assert_eq!(allowed, 3);
    let retry = retry.unwrap();
    assert!(
        retry > std::time::Duration::ZERO && retry <= std::time::Duration::from_secs(1),
        "{retry:?}"
    );
}

#[tokio::test]
async fn tokens_with_critical_header_parameters_are_refused() {
    let app = spawn_app().await;
    for crit in [vec!["exp".to_string()], vec!["b64".to_string()]] {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.crit = Some(crit);
        let token = jsonwebtoken::encode(
            &header,
            &claims_for("alice"),
            &jsonwebtoken::EncodingKey::from_secret(HS256_SECRET.as_bytes()),
        )
        .unwrap();
        let resp = list(&app).bearer_auth(token).send().await.unwrap();
        let (status, code, message) = error_code(resp).await;
        assert_eq!((status, code.as_str()), (401, "invalid-token"));
        assert!(message.contains("crit"), "{message}");
    }
}

/// The documented rule: one user namespace, whatever the method. An API key configured with
/// `user = "service-backend"` and a JWT whose user claim is `service-backend` are one user.
#[tokio::test]
async fn jwt_and_api_key_users_share_one_namespace_as_documented() {
    let app = spawn_app().await;
    let resp = app
        .request(Method::POST, "/v1/uploads/presign")
        .header("x-api-key", API_KEY)
        .json(&json!({"profile": "documents", "filename": "a.txt", "content_type": "text/plain", "size": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.json::<serde_json::Value>().await.unwrap()["upload_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/uploads/{id}");
    let same = app
        .request(Method::GET, &path)
        .bearer_auth(token_for("service-backend"))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
    let other = app
        .request(Method::GET, &path)
        .bearer_auth(token_for("service-backend2"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
