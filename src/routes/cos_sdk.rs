//! `/v1/credentials/cos-sdk?profile=`: temporary keys in exactly the JSON of Tencent's
//! `qcloud-cos-sts` server SDK, so the stock `getAuthorization` snippet of the COS JS and
//! mini-program SDKs works unchanged. `POST` takes the SDK's `Scope` (`ScopeLimit: true`).

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::providers::cos::sts::{self, TemporaryCredentials};
use crate::state::AppState;
use crate::uploads::scope::ScopeItem;
use actix_web::{HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Deserialize;
use time::OffsetDateTime;

/// `bucket` and `region` are what Tencent's stock `getAuthorization` snippet sends along
/// (`data: {bucket: options.Bucket, region: options.Region}`); when present they must be
/// the profile's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosSdkQuery {
    profile: String,
    bucket: Option<String>,
    region: Option<String>,
}

impl CosSdkQuery {
    fn asked(&self) -> crate::uploads::scope::AskedBucket<'_> {
        crate::uploads::scope::AskedBucket {
            bucket: self.bucket.as_deref(),
            region: self.region.as_deref(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ScopeBody {
    #[serde(rename = "Scope", alias = "scope", default)]
    scope: Vec<ScopeItem>,
}

pub async fn get(
    state: web::Data<AppState>,
    who: AuthUser,
    query: web::Query<CosSdkQuery>,
) -> Result<HttpResponse, ApiError> {
    answer(&state, &who, &query, &[]).await
}

pub async fn post(
    state: web::Data<AppState>,
    who: AuthUser,
    query: web::Query<CosSdkQuery>,
    body: web::Json<ScopeBody>,
) -> Result<HttpResponse, ApiError> {
    answer(&state, &who, &query, &body.scope).await
}

async fn answer(
    state: &AppState,
    who: &AuthUser,
    query: &CosSdkQuery,
    scope: &[ScopeItem],
) -> Result<HttpResponse, ApiError> {
    let issued = state
        .uploads
        .credentials_in_scope(&who.user, &query.profile, query.asked(), scope)
        .await?;
    let c = &issued.grant.credentials;
    let expiration = c
        .expiration
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| ApiError::internal(format!("expiration: {e}")))?;
    let creds = TemporaryCredentials {
        tmp_secret_id: c.access_key_id.clone(),
        tmp_secret_key: c.access_key_secret.expose_secret().into(),
        session_token: c.security_token.expose_secret().into(),
        expired_time: c.expiration.unix_timestamp(),
        expiration,
        request_id: issued.grant.id.as_str().to_string(),
    };
    // A little in the past: the SDKs sign with StartTime;ExpiredTime.
    let start = OffsetDateTime::now_utc().unix_timestamp() - sts_skew();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .content_type("application/json")
        .body(sts::cos_sdk_json(&creds, start)))
}

fn sts_skew() -> i64 {
    crate::providers::cos::DEFAULT_SKEW_SECS as i64
}
