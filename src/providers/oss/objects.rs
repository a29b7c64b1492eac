//! The gateway's own calls on stored OSS objects: a ranged GetObject for content checks,
//! DeleteObject, and presigned GetObject URLs for owner downloads. Signed like the other
//! control calls ([`OssProvider::control_url`]); errors classified here.

use super::OssProvider;
use super::multipart::{ErrorDoc, classify, failed};
use super::presign::PresignInput;
use super::{sign_v1, sign_v4};
use crate::config::SignatureVersion;
use crate::providers::{DownloadRequest, ObjectApi, SignedUrl, UpstreamError};
use futures_util::future::BoxFuture;

const SERVICE: &str = "storage";
/// How much of an error answer is read to find its code.
const MAX_ERROR_BODY: u64 = 16 * 1024;

fn send_error(op: &str, e: reqwest::Error) -> UpstreamError {
    if e.is_timeout() {
        UpstreamError::Timeout { service: SERVICE }
    } else {
        // Without the URL: it carries a signature.
        failed("connect", format!("{op}: {}", e.without_url()))
    }
}

/// Up to `limit` bytes of the answer body, however much storage sends.
async fn read_capped(
    op: &str,
    resp: &mut reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, UpstreamError> {
    let mut out = Vec::new();
    while (out.len() as u64) < limit {
        match resp.chunk().await.map_err(|e| send_error(op, e))? {
            Some(chunk) => {
                let room = (limit - out.len() as u64) as usize;
                out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(out)
}

/// OSS's error code for a failed answer (`HTTP<status>` when the body has none).
async fn error_code(op: &str, resp: &mut reqwest::Response) -> String {
    let status = resp.status().as_u16();
    read_capped(op, resp, MAX_ERROR_BODY)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| quick_xml::de::from_str::<ErrorDoc>(&t).ok())
        .map(|e| e.code)
        .unwrap_or_else(|| format!("HTTP{status}"))
}

impl OssProvider {
    async fn send(
        &self,
        op: &str,
        method: reqwest::Method,
        key: &str,
        range: Option<String>,
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = self.control_url(method.as_str(), key, &[], &[]);
        let mut req = self
            .http
            .request(method, &url)
            .timeout(self.bucket.upstream_timeout);
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req.send().await.map_err(|e| send_error(op, e))
    }
}

impl ObjectApi for OssProvider {
    fn read_head<'a>(
        &'a self,
        key: &'a str,
        len: u64,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, UpstreamError>> {
        Box::pin(async move {
            if len == 0 {
                return Ok(Some(Vec::new()));
            }
            let op = "GetObject";
            let range = format!("bytes=0-{}", len - 1);
            let mut resp = self
                .send(op, reqwest::Method::GET, key, Some(range))
                .await?;
            let status = resp.status().as_u16();
            match status {
                200 | 206 => read_capped(op, &mut resp, len).await.map(Some),
                // An empty object has no byte 0.
                416 => Ok(Some(Vec::new())),
                _ => match error_code(op, &mut resp).await.as_str() {
                    "NoSuchKey" => Ok(None),
                    code => Err(classify(status, code.to_string())),
                },
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let op = "DeleteObject";
            let mut resp = self.send(op, reqwest::Method::DELETE, key, None).await?;
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            match error_code(op, &mut resp).await.as_str() {
                "NoSuchKey" => Ok(()),
                code => Err(classify(status, code.to_string())),
            }
        })
    }

    fn presign_get(&self, req: &DownloadRequest<'_>) -> SignedUrl {
        let params: Vec<(String, String)> = req
            .content_disposition
            .map(|d| ("response-content-disposition".to_string(), d.to_string()))
            .into_iter()
            .collect();
        let input = PresignInput {
            method: "GET",
            key: req.key,
            headers: &[],
            additional_headers: &[],
            params: &params,
            now: req.now,
            expires_in: req.expires_in,
        };
        let creds = self.own_credentials();
        let signed = match self.oss.signature_version {
            SignatureVersion::V1 => sign_v1::presign(&self.location, creds, &input, true),
            SignatureVersion::V4 => {
                sign_v4::presign(&self.location, &self.bucket.region, creds, &input)
            }
        };
        SignedUrl {
            method: "GET",
            url: signed.url,
            headers: Vec::new(),
            expires_at: signed.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Settings, tests::MINIMAL};
    use crate::providers::{DownloadRequest, Providers};

    #[test]
    fn download_urls_sign_the_disposition_they_carry() {
        let settings = Settings::from_toml(MINIMAL).unwrap();
        let http = crate::http_client::builder().build().unwrap();
        let providers = Providers::from_settings(&settings, &http).unwrap();
        let p = providers.get("main").unwrap();
        let objects = p.objects().expect("OSS has object calls");
        let signed = objects.presign_get(&DownloadRequest {
            key: "avatars/alice/a b.png",
            content_disposition: Some("attachment; filename=\"a b.png\""),
            now: time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            expires_in: 300,
        });
        assert_eq!(signed.method, "GET");
        assert!(
            signed.url.contains(
                "response-content-disposition=attachment%3B%20filename%3D%22a%20b.png%22"
            ),
            "disposition not carried"
        );
        assert!(signed.headers.is_empty());
    }
}
