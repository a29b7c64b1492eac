//! Tencent STS over HTTP: `GetFederationToken` or `AssumeRole`, TC3-HMAC-SHA256 signed
//! ([`super::tc3`]), scoped by the policy-2.0 grant of [`super::sts::policy_json`]. Caching
//! and single-flight are the service layer's (`uploads::grants`), as for every vendor.
//! STS's error code is kept (it is safe to log); the signature never is.

use super::provider::CosProvider;
use super::sts::{self, StsPolicyInput, StsResponseError};
use super::tc3::{self, Tc3Request};
use crate::config::CosStsAction;
use crate::providers::{CredentialIssuer, CredentialScope, ScopedCredentials, UpstreamError};
use futures_util::future::BoxFuture;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

const SERVICE: &str = "STS";

fn failed(class: &'static str, detail: String) -> UpstreamError {
    UpstreamError::Failed {
        service: SERVICE,
        class,
        detail,
    }
}

impl CredentialIssuer for CosProvider {
    /// Without a profile: the prefix only, no appends.
    fn issue<'a>(
        &'a self,
        prefix: &'a str,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>> {
        Box::pin(async move {
            let scope = CredentialScope {
                prefix,
                allow_append: false,
                content_types: &[],
                max_size: None,
            };
            self.issue_scoped(&scope, session, now).await
        })
    }

    fn issue_scoped<'a>(
        &'a self,
        scope: &'a CredentialScope<'a>,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>> {
        Box::pin(async move {
            let s = self
                .cos
                .sts
                .as_ref()
                .ok_or_else(|| failed("not_configured", "no [buckets.*.sts] section".into()))?;
            let content_types = sts::content_type_conditions(scope.content_types);
            let content_types: Vec<&str> = content_types.iter().map(String::as_str).collect();
            let policy = sts::policy_json(&StsPolicyInput {
                region: &self.bucket.region,
                bucket: self.location().bucket(),
                prefix: scope.prefix,
                allow_append: scope.allow_append,
                content_types: &content_types,
                max_size: scope.max_size,
            })
            .map_err(|e| failed("policy", e.to_string()))?;
            let secs = s.duration.as_secs();
            let (action, payload) = match &s.action {
                CosStsAction::GetFederationToken => (
                    "GetFederationToken",
                    tc3::federation_token_body(session, &policy, secs),
                ),
                CosStsAction::AssumeRole { role_arn } => (
                    "AssumeRole",
                    tc3::assume_role_body(role_arn, session, &policy, secs),
                ),
            };
            let host = match (s.endpoint.host_str(), s.endpoint.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                (None, _) => {
                    return Err(failed("not_configured", "STS endpoint without host".into()));
                }
            };
            let signed = tc3::sign(
                &s.secret_id,
                s.secret_key.expose_secret(),
                None,
                &Tc3Request {
                    service: "sts",
                    host: &host,
                    action,
                    version: tc3::STS_VERSION,
                    region: &s.region,
                    content_type: tc3::JSON,
                    payload: &payload,
                    timestamp: now.unix_timestamp(),
                },
            );
            let mut req = self.http.post(s.endpoint.as_str()).timeout(s.timeout);
            for (k, v) in &signed.headers {
                req = req.header(*k, v);
            }
            let resp = req.body(payload).send().await.map_err(|e| {
                if e.is_timeout() {
                    UpstreamError::Timeout { service: SERVICE }
                } else {
                    failed("connect", format!("{action}: {}", e.without_url()))
                }
            })?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await.map_err(|e| {
                if e.is_timeout() {
                    UpstreamError::Timeout { service: SERVICE }
                } else {
                    failed(
                        "connect",
                        format!("{action}: reading the answer: {}", e.without_url()),
                    )
                }
            })?;
            let creds = sts::parse_response(&body).map_err(|e| match e {
                StsResponseError::Refused { code, .. } => UpstreamError::Refused {
                    service: SERVICE,
                    status: if status == 200 { 403 } else { status },
                    code,
                },
                other => failed("protocol", format!("{action}: {other}")),
            })?;
            let expiration = OffsetDateTime::from_unix_timestamp(creds.expired_time)
                .map_err(|_| failed("protocol", format!("{action}: ExpiredTime out of range")))?;
            Ok(ScopedCredentials {
                access_key_id: creds.tmp_secret_id,
                access_key_secret: creds.tmp_secret_key,
                security_token: creds.session_token,
                expiration,
            })
        })
    }
}
