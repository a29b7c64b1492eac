//! Tests of `error`.

use super::*;
use actix_web::body::to_bytes;

#[actix_web::test]
async fn internal_errors_do_not_leak_their_cause() {
    let err = ApiError::internal(std::io::Error::other("redis at 10.0.0.7 said NOAUTH"));
    let resp = err.error_response();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = to_bytes(resp.into_body()).await.unwrap();
    let text = std::str::from_utf8(&body).unwrap();
    assert!(!text.contains("10.0.0.7"), "{text}");
    assert!(text.contains("\"code\":\"internal\""), "{text}");
}

#[actix_web::test]
async fn rate_limited_answers_carry_retry_after() {
    let resp = ApiError::RateLimited {
        retry_after_secs: 7,
    }
    .error_response();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "7");
}

#[test]
fn every_code_is_listed_once() {
    let mut codes = ApiError::ALL_CODES.to_vec();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), ApiError::ALL_CODES.len());
}
