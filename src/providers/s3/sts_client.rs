//! AWS STS AssumeRole over HTTP (MinIO serves it too): the SigV4-signed POST of
//! [`super::sts`] with the inline session policy that narrows the role to one user's prefix
//! (`s3:PutObject`, `s3:AbortMultipartUpload`, `s3:ListMultipartUploadParts` on
//! `arn:aws:s3:::<bucket>/<prefix>*`, nothing at bucket level). Caching and single-flight
//! are the service layer's (`uploads::grants`), as for every vendor. STS's error code is
//! kept (it is safe to log); the signature never is.

use super::provider::S3Provider;
use super::sts::{self, AssumeRole, PolicyPrefix};
use super::xml::XmlError;
use crate::providers::{CredentialIssuer, ScopedCredentials, UpstreamError};
use futures_util::future::BoxFuture;
use time::OffsetDateTime;

const SERVICE: &str = "STS";
// Failure classes are those of `upload_gateway_sts_errors_total` (metrics::STS_CLASSES).
/// An AssumeRole answer is a few KB.
const MAX_ANSWER: usize = 64 * 1024;

fn failed(class: &'static str, detail: String) -> UpstreamError {
    UpstreamError::Failed {
        service: SERVICE,
        class,
        detail,
    }
}

fn send_error(e: reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::Timeout { service: SERVICE }
    } else {
        failed("unreachable", format!("AssumeRole: {}", e.without_url()))
    }
}

impl CredentialIssuer for S3Provider {
    fn issue<'a>(
        &'a self,
        prefix: &'a str,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>> {
        Box::pin(async move {
            let (Some(s), Some(signer)) = (self.s3.sts.as_ref(), self.sts_signer.as_ref()) else {
                return Err(failed(
                    "not_configured",
                    "no [buckets.*.sts] section".into(),
                ));
            };
            let prefix =
                PolicyPrefix::parse(prefix).map_err(|e| failed("not_configured", e.to_string()))?;
            let policy = sts::session_policy(self.location.bucket(), &prefix);
            let signed = signer
                .assume_role(
                    &s.endpoint,
                    &AssumeRole {
                        role_arn: &s.role_arn,
                        session_name: session,
                        duration_secs: s.duration.as_secs() as u32,
                        policy: &policy,
                        now,
                    },
                )
                .map_err(|e| failed("not_configured", format!("AssumeRole: {e}")))?;
            let mut req = self.http.post(&signed.url).timeout(s.timeout);
            for (k, v) in &signed.headers {
                req = req.header(k, v);
            }
            let mut resp = req.body(signed.body).send().await.map_err(send_error)?;
            let status = resp.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(send_error)? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(failed(
                        "bad_response",
                        "AssumeRole: answer too large".into(),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            let creds = match sts::parse_assume_role(&body) {
                Ok(c) if status == 200 => c,
                Ok(_) => {
                    return Err(UpstreamError::Refused {
                        service: SERVICE,
                        status,
                        code: format!("HTTP{status}"),
                    });
                }
                Err(XmlError::S3 { code }) => {
                    return Err(UpstreamError::Refused {
                        service: SERVICE,
                        status: if status == 200 { 403 } else { status },
                        code,
                    });
                }
                Err(XmlError::Unreadable(m)) if status == 200 => {
                    return Err(failed("bad_response", format!("AssumeRole: {m}")));
                }
                Err(XmlError::Unreadable(_)) => {
                    return Err(UpstreamError::Refused {
                        service: SERVICE,
                        status,
                        code: format!("HTTP{status}"),
                    });
                }
            };
            let expiration = OffsetDateTime::parse(
                &creds.expiration,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| failed("bad_response", "AssumeRole: unreadable Expiration".into()))?;
            Ok(ScopedCredentials {
                access_key_id: creds.access_key_id,
                access_key_secret: creds.secret_access_key,
                security_token: creds.session_token,
                expiration,
            })
        })
    }
}
