//! Client authentication: JWT bearer tokens (HS256/RS256) and static API keys.
//!
//! Handlers receive an [`AuthUser`] extractor; a request without valid credentials never
//! reaches them.

mod api_key;
mod jwt;

use crate::config::AuthSettings;
use crate::domain::UserId;
use crate::error::ApiError;
use crate::metrics::Metrics;
use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use std::future::{Ready, ready};
use std::sync::Arc;

pub use api_key::hash_api_key;

/// How a caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    Jwt,
    ApiKey { name: String },
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: UserId,
    pub method: AuthMethod,
}

pub struct Authenticator {
    jwt: Option<jwt::JwtVerifier>,
    api_keys: api_key::ApiKeys,
    metrics: Arc<Metrics>,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings, metrics: Arc<Metrics>) -> Result<Self, String> {
        Ok(Authenticator {
            jwt: settings
                .jwt
                .as_ref()
                .map(|j| jwt::JwtVerifier::new(j, &settings.user_claim))
                .transpose()?,
            api_keys: api_key::ApiKeys::new(&settings.api_keys),
            metrics,
        })
    }

    pub fn authenticate(&self, headers: &HeaderMap) -> Result<AuthUser, ApiError> {
        let result = self.authenticate_inner(headers);
        if let Err(e) = &result {
            // Error codes are kebab-case on the wire; label values are snake_case everywhere.
            self.metrics
                .auth_failures_total
                .with_label_values(&[&e.code().replace('-', "_")])
                .inc();
        }
        result
    }

    fn authenticate_inner(&self, headers: &HeaderMap) -> Result<AuthUser, ApiError> {
        if let Some(key) = headers.get("x-api-key") {
            let key = key.to_str().map_err(|_| ApiError::UnknownApiKey)?;
            return self.api_keys.verify(key.trim());
        }
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Err(ApiError::MissingCredentials);
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::InvalidToken("the Authorization header is not ASCII".into()))?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::InvalidToken(
                "the Authorization scheme must be Bearer".into(),
            ));
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(ApiError::MissingCredentials);
        }
        // A JWT is three dot-separated base64url parts; anything else is tried as an API key.
        if token.bytes().filter(|b| *b == b'.').count() == 2 {
            match &self.jwt {
                Some(v) => v.verify(token),
                None => Err(ApiError::InvalidToken(
                    "JWT authentication is not enabled".into(),
                )),
            }
        } else {
            self.api_keys.verify(token)
        }
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.app_data::<web::Data<Authenticator>>() {
            Some(auth) => auth.authenticate(req.headers()),
            None => Err(ApiError::internal("authenticator not configured")),
        };
        ready(result)
    }
}
