//! The gateway's own calls on stored S3 objects: a ranged GetObject for content checks,
//! DeleteObject, and presigned GetObject URLs (with `response-content-disposition`) for
//! owner downloads.

use super::client::unsignable;
use super::provider::{S3Provider, expiry};
use super::{Method, PresignRequest};
use crate::providers::{DownloadRequest, ObjectApi, SignedUrl, UpstreamError};
use futures_util::future::BoxFuture;
use time::OffsetDateTime;

impl ObjectApi for S3Provider {
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
            let signed = self
                .signer
                .get_object_range(&self.location, key, &range, OffsetDateTime::now_utc())
                .map_err(|e| unsignable(op, e))?;
            match self.call(op, signed).await {
                Ok(mut a) => {
                    // Never more than asked for, whatever storage sent.
                    a.body.truncate(len as usize);
                    Ok(Some(a.body))
                }
                Err(UpstreamError::Refused { code, .. }) if code == "NoSuchKey" => Ok(None),
                Err(UpstreamError::Refused { status: 404, .. }) => Ok(None),
                // An empty object has no byte 0.
                Err(UpstreamError::Refused { status: 416, .. }) => Ok(Some(Vec::new())),
                Err(e) => Err(e),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let op = "DeleteObject";
            let signed = self
                .signer
                .delete_object(&self.location, key, OffsetDateTime::now_utc())
                .map_err(|e| unsignable(op, e))?;
            match self.call(op, signed).await {
                Ok(_) => Ok(()),
                Err(UpstreamError::Refused { status: 404, .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    fn presign_get(&self, req: &DownloadRequest<'_>) -> SignedUrl {
        let params: Vec<(&str, &str)> = req
            .content_disposition
            .map(|d| ("response-content-disposition", d))
            .into_iter()
            .collect();
        let signed = self
            .signer
            .presign(
                &self.location,
                &PresignRequest {
                    method: Method::Get,
                    key: req.key,
                    headers: &[],
                    params: &params,
                    now: req.now,
                    expires: expiry(req.expires_in),
                },
            )
            .expect("a GET with a fixed parameter name and a clamped expiry signs");
        SignedUrl {
            method: "GET",
            url: signed.url,
            headers: Vec::new(),
            expires_at: signed.expires_at,
        }
    }
}
