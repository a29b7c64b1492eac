//! COS multipart calls over the shared disk: quoted lower-case MD5 part ETags (the
//! mini-program SDK resumes only when they equal `"` + md5(chunk) + `"`), 1 MB minimum parts,
//! and CompleteMultipartUpload answering 200 at once, whitespace while merging, and the
//! result (or an `<Error>`) in the last chunk.

use super::{CosState, MAX_LIST, MIN_PART_SIZE, etag, user_meta};
use crate::disk::{CompleteError, UploadMeta};
use crate::error::ApiError;
use crate::http::{Parsed, check_md5, content_type, set_header};
use crate::xml;
use actix_web::HttpResponse;
use std::time::Duration;

const NAMESPACE: &str = "http://www.qcloud.com/document/product/436/7751";

fn document(root: &str, inner: &str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("content-type", "application/xml"))
        .body(format!(
            "{}\n<{root} xmlns=\"{NAMESPACE}\">{inner}</{root}>\n",
            xml::DECL
        ))
}

pub(super) async fn initiate(p: &Parsed, state: &CosState) -> Result<HttpResponse, ApiError> {
    let u = state
        .store
        .disk
        .initiate(&p.bucket, &p.key, &content_type(p), user_meta(p))
        .await
        .map_err(ApiError::internal)?;
    Ok(document(
        "InitiateMultipartUploadResult",
        &xml::elements(&[
            ("Bucket", &p.bucket),
            ("Key", &u.key),
            ("UploadId", &u.upload_id),
        ]),
    ))
}

async fn upload_of(p: &Parsed, state: &CosState) -> Result<UploadMeta, ApiError> {
    let id = p.param("uploadId").unwrap_or("");
    state
        .store
        .disk
        .upload(&p.bucket, &p.key, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::new(404, "NoSuchUpload", "The specified upload does not exist."))
}

pub(super) async fn upload_part(
    p: &Parsed,
    body: &[u8],
    state: &CosState,
) -> Result<HttpResponse, ApiError> {
    let number: u32 = p
        .param("partNumber")
        .and_then(|s| s.parse().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| ApiError::new(400, "InvalidArgument", "partNumber must be 1..10000"))?;
    let u = upload_of(p, state).await?;
    check_md5(p, body)?;
    let part = state
        .store
        .disk
        .put_part(&p.bucket, &u.upload_id, number, body)
        .await
        .map_err(ApiError::internal)?;
    let mut r = HttpResponse::Ok().finish();
    set_header(&mut r, "etag", &etag(&part.etag));
    set_header(&mut r, "x-cos-hash-crc64ecma", &part.crc64.to_string());
    Ok(r)
}

pub(super) async fn abort(p: &Parsed, state: &CosState) -> Result<HttpResponse, ApiError> {
    let u = upload_of(p, state).await?;
    state
        .store
        .disk
        .abort(&p.bucket, &u.upload_id)
        .await
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::NoContent().finish())
}

fn owner() -> String {
    xml::elements(&[
        ("ID", "qcs::cam::uin/100000000001:uin/100000000001"),
        ("DisplayName", "100000000001"),
    ])
}

pub(super) async fn list_parts(p: &Parsed, state: &CosState) -> Result<HttpResponse, ApiError> {
    let u = upload_of(p, state).await?;
    let marker: u32 = p
        .param("part-number-marker")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let max = p
        .param("max-parts")
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_LIST)
        .clamp(1, MAX_LIST);
    let parts: Vec<_> = state
        .store
        .disk
        .parts(&p.bucket, &u.upload_id)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|x| x.number > marker)
        .collect();
    let truncated = parts.len() > max;
    let page = &parts[..parts.len().min(max)];
    let next = page.last().map_or(marker, |x| x.number);
    let mut inner = xml::elements(&[
        ("Bucket", &p.bucket),
        ("Encoding-type", ""),
        ("Key", &u.key),
        ("UploadId", &u.upload_id),
    ]);
    inner.push_str(&format!(
        "<Initiator>{}</Initiator><Owner>{}</Owner>",
        owner(),
        owner()
    ));
    inner.push_str(&xml::elements(&[
        ("PartNumberMarker", &marker.to_string()),
        ("NextPartNumberMarker", &next.to_string()),
        ("StorageClass", "STANDARD"),
        ("MaxParts", &max.to_string()),
        ("IsTruncated", if truncated { "true" } else { "false" }),
    ]));
    for x in page {
        inner.push_str("<Part>");
        inner.push_str(&xml::elements(&[
            ("PartNumber", &x.number.to_string()),
            ("LastModified", &xml::iso(x.last_modified)),
            ("ETag", &etag(&x.etag)),
            ("Size", &x.size.to_string()),
        ]));
        inner.push_str("</Part>");
    }
    Ok(document("ListPartsResult", &inner))
}

pub(super) async fn list_uploads(p: &Parsed, state: &CosState) -> Result<HttpResponse, ApiError> {
    let prefix = p.param("prefix").unwrap_or("");
    let key_marker = p.param("key-marker").unwrap_or("");
    let id_marker = p.param("upload-id-marker").unwrap_or("");
    let max = p
        .param("max-uploads")
        .and_then(|s| s.parse().ok())
        .unwrap_or(MAX_LIST)
        .clamp(1, MAX_LIST);
    let all: Vec<_> = state
        .store
        .disk
        .uploads_in(&p.bucket)
        .await
        .map_err(ApiError::internal)?
        .into_iter()
        .filter(|u| u.key.starts_with(prefix))
        .filter(|u| match (key_marker, id_marker) {
            ("", _) => true,
            (k, "") => u.key.as_str() > k,
            (k, i) => (u.key.as_str(), u.upload_id.as_str()) > (k, i),
        })
        .collect();
    let truncated = all.len() > max;
    let page = &all[..all.len().min(max)];
    let (nk, nu) = page
        .last()
        .map_or(("", ""), |u| (u.key.as_str(), u.upload_id.as_str()));
    let mut inner = xml::elements(&[
        ("Bucket", &p.bucket),
        ("Encoding-Type", ""),
        ("KeyMarker", key_marker),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", nk),
        ("NextUploadIdMarker", nu),
        ("Prefix", prefix),
        ("MaxUploads", &max.to_string()),
        ("IsTruncated", if truncated { "true" } else { "false" }),
    ]);
    for u in page {
        inner.push_str("<Upload>");
        inner.push_str(&xml::elements(&[
            ("Key", &u.key),
            ("UploadId", &u.upload_id),
            ("StorageClass", "STANDARD"),
        ]));
        inner.push_str(&format!(
            "<Initiator>{}</Initiator><Owner>{}</Owner>",
            owner(),
            owner()
        ));
        inner.push_str(&xml::elements(&[("Initiated", &xml::iso(u.initiated))]));
        inner.push_str("</Upload>");
    }
    Ok(document("ListMultipartUploadsResult", &inner))
}

fn complete_error(e: CompleteError) -> ApiError {
    match e {
        CompleteError::NoSuchUpload => {
            ApiError::new(404, "NoSuchUpload", "The specified upload does not exist.")
        }
        CompleteError::InvalidPart(n) => ApiError::new(
            400,
            "InvalidPart",
            format!("part {n} was not uploaded or its ETag does not match"),
        ),
        CompleteError::InvalidPartOrder => ApiError::new(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order.",
        ),
        CompleteError::EntityTooSmall(n) => ApiError::new(
            400,
            "EntityTooSmall",
            format!("part {n} is smaller than the 1 MB minimum"),
        ),
        CompleteError::Io(e) => ApiError::internal(e),
    }
}

/// How often a space goes out while the merge runs (COS keeps the connection alive so).
const KEEPALIVE: Duration = Duration::from_millis(500);

pub(super) async fn complete(
    p: &Parsed,
    body: &[u8],
    state: &CosState,
) -> Result<HttpResponse, ApiError> {
    let u = upload_of(p, state).await?;
    let listed = xml::complete_parts(body).map_err(|m| ApiError::new(400, "MalformedXML", m))?;
    // What COS refuses before merging comes as an ordinary 4xx.
    let chosen = state
        .store
        .disk
        .check_complete(&p.bucket, &u, &listed, MIN_PART_SIZE)
        .await
        .map_err(complete_error)?;
    let store = state.store.clone();
    let (bucket, location) = (
        p.bucket.clone(),
        format!(
            "{}.cos.{}.myqcloud.com/{}",
            p.bucket, state.config.region, p.key
        ),
    );
    let resource = format!("/{}", p.key);
    let merge = async move {
        let result = store.disk.merge(&bucket, &u, &chosen).await;
        match result {
            // No XML declaration: after the spaces it would make the document invalid.
            Ok((meta, _)) => format!(
                "<CompleteMultipartUploadResult xmlns=\"{NAMESPACE}\">{}</CompleteMultipartUploadResult>\n",
                xml::elements(&[
                    ("Location", &location),
                    ("Bucket", &bucket),
                    ("Key", &meta.key),
                    ("ETag", &etag(&meta.etag)),
                ])
            ),
            Err(e) => ApiError::internal(e)
                .cos_xml("", &resource)
                .replacen(xml::DECL, "", 1),
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(("content-type", "application/xml"))
        .streaming(keepalive_then(merge, KEEPALIVE)))
}

/// A body that sends one space at once and another every `every` until `work` ends, then
/// what it returned.
pub fn keepalive_then(
    work: impl std::future::Future<Output = String> + Send + 'static,
    every: Duration,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    tokio::spawn(async move {
        let _ = tx.send(bytes::Bytes::from_static(b" ")).await;
        let mut work = std::pin::pin!(work);
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tokio::select! {
                last = &mut work => {
                    let _ = tx.send(bytes::Bytes::from(last)).await;
                    return;
                }
                _ = tick.tick() => {
                    if tx.send(bytes::Bytes::from_static(b" ")).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|b| (Ok(b), rx)) },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// Spaces while the work runs, then its result (an error document included) last.
    #[tokio::test]
    async fn the_body_is_spaces_then_the_result() {
        let work = async {
            tokio::time::sleep(Duration::from_millis(120)).await;
            "<Error><Code>InternalError</Code></Error>".to_string()
        };
        let chunks: Vec<bytes::Bytes> = keepalive_then(work, Duration::from_millis(30))
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert!(chunks.len() >= 3, "{chunks:?}");
        let (last, spaces) = chunks.split_last().unwrap();
        assert!(spaces.iter().all(|c| &c[..] == b" "));
        assert_eq!(&last[..], b"<Error><Code>InternalError</Code></Error>");
    }
}
