//! `/v1/credentials/aws-sdk?profile=`: temporary keys for an S3 bucket in the JSON the AWS
//! SDKs' container credential provider reads (`AccessKeyId`, `SecretAccessKey`, `Token`,
//! `Expiration`), so an app points its SDK's standard credential chain at the gateway:
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI=<gateway>/v1/credentials/aws-sdk?profile=<p>` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer <token>"` (the SDK sends it verbatim as the
//! `Authorization` header). Authenticated like every other credential route.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSdkQuery {
    profile: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    /// RFC 3339 in UTC, whole seconds (`2023-11-14T22:28:20Z`), as the SDKs parse it.
    expiration: String,
}

pub async fn get(
    state: web::Data<AppState>,
    who: AuthUser,
    query: web::Query<AwsSdkQuery>,
) -> Result<HttpResponse, ApiError> {
    let issued = state
        .uploads
        .credentials_for_kind(&who.user, &query.profile, "s3")
        .await?;
    let c = &issued.grant.credentials;
    let expiration = c
        .expiration
        .replace_nanosecond(0)
        .unwrap_or(c.expiration)
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| ApiError::internal(format!("expiration: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ContainerCredentials {
            access_key_id: &c.access_key_id,
            secret_access_key: c.access_key_secret.expose_secret(),
            token: c.security_token.expose_secret(),
            expiration,
        }))
}
