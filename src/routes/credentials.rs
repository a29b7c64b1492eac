//! Temporary credentials (STS): the gateway's own JSON, and the shape the OSS mobile SDKs'
//! auth-server credential provider parses.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::grants::{Grant, IssuedGrant};
use actix_web::{HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    profile: String,
}

#[derive(Serialize)]
struct CredentialsAnswer {
    grant_id: String,
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    #[serde(with = "time::serde::rfc3339")]
    expiration: OffsetDateTime,
    provider: &'static str,
    bucket: String,
    region: String,
    endpoint: String,
    /// Every object key must start with this.
    prefix: String,
    /// Attach to each PutObject / CompleteMultipartUpload (`callback`, `callback-var`).
    callback: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
}

pub async fn credentials(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<CredentialsBody>,
) -> Result<HttpResponse, ApiError> {
    let IssuedGrant {
        grant,
        profile,
        provider,
    } = state.uploads.credentials(&who.user, &body.profile).await?;
    let c = &grant.credentials;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(CredentialsAnswer {
            grant_id: grant.id.as_str().to_string(),
            access_key_id: c.access_key_id.clone(),
            access_key_secret: c.access_key_secret.expose_secret().to_string(),
            security_token: c.security_token.expose_secret().to_string(),
            expiration: c.expiration,
            provider: provider.kind(),
            bucket: profile.bucket.bucket.clone(),
            region: profile.bucket.region.clone(),
            endpoint: provider.endpoint(),
            prefix: grant.prefix.clone(),
            callback: grant.callback_params.iter().cloned().collect(),
            server_time: OffsetDateTime::now_utc(),
        }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OssSdkQuery {
    profile: String,
    /// From `POST /v1/credentials/oss-sdk/url`, for stock SDK providers that send no headers.
    token: Option<String>,
}

/// The JSON the OSS Android/iOS SDKs' auth-server credential provider parses: `StatusCode`
/// is a body field (a number), errors carry `ErrorCode` / `ErrorMessage`.
pub async fn oss_sdk(
    state: web::Data<AppState>,
    who: Result<AuthUser, ApiError>,
    query: Result<web::Query<OssSdkQuery>, actix_web::Error>,
) -> HttpResponse {
    let mut by_token = false;
    let result = async {
        let query =
            query.map_err(|e| ApiError::InvalidQuery(format!("invalid query string: {e}")))?;
        let user = match &query.token {
            Some(token) => {
                by_token = true;
                state.uploads.sdk_token_user(token, &query.profile)?
            }
            None => who?.user,
        };
        state.uploads.credentials(&user, &query.profile).await
    }
    .await;
    match result {
        Ok(IssuedGrant { grant, .. }) => sdk_credentials(&grant),
        // The stock Android provider cannot read a body on HTTP >= 400: a URL with a token
        // (used only by such providers) answers 200 and carries the status in the body.
        Err(e) if by_token => {
            let mut resp = sdk_error(e);
            *resp.status_mut() = actix_web::http::StatusCode::OK;
            resp
        }
        Err(e) => sdk_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkUrlBody {
    profile: String,
}

#[derive(Serialize)]
struct SdkUrlAnswer {
    /// Give this to the SDK's credential provider; it is a bearer credential: never log it.
    url: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// `POST /v1/credentials/oss-sdk/url`: a credential URL for the OSS Android/iOS SDKs' stock
/// `OSSAuthCredentialsProvider`, which GETs its URL without headers.
pub async fn oss_sdk_url(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<SdkUrlBody>,
) -> Result<HttpResponse, ApiError> {
    let (url, expires_at) = state.uploads.sdk_credential_url(&who.user, &body.profile)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(SdkUrlAnswer { url, expires_at }))
}

fn sdk_credentials(grant: &Grant) -> HttpResponse {
    let c = &grant.credentials;
    // Whole seconds: the iOS SDK parses `yyyy-MM-dd'T'HH:mm:ssZ`.
    let expiration = c
        .expiration
        .replace_nanosecond(0)
        .unwrap_or(c.expiration)
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({
            "StatusCode": 200,
            "AccessKeyId": c.access_key_id,
            "AccessKeySecret": c.access_key_secret.expose_secret(),
            "SecurityToken": c.security_token.expose_secret(),
            "Expiration": expiration,
        }))
}

/// Logged and counted as every other error is, then answered in the SDK's shape.
fn sdk_error(e: ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let standard = e.error_response();
    let status = standard.status();
    let mut resp = HttpResponse::build(status);
    for (name, value) in standard.headers() {
        if name != actix_web::http::header::CONTENT_TYPE
            && name != actix_web::http::header::CONTENT_LENGTH
        {
            resp.insert_header((name.clone(), value.clone()));
        }
    }
    resp.json(serde_json::json!({
        "StatusCode": status.as_u16(),
        "ErrorCode": e.code(),
        "ErrorMessage": e.public_message(),
    }))
}
