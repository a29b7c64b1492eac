//! The S3 signer against Garage, a real S3 server that checks SigV4: what we presign is
//! accepted exactly as signed and refused otherwise; the control calls signed in headers
//! drive a whole multipart upload; POST policies are enforced.

use crate::garage::{Garage, client, send, signer_with, spawn_garage};
use time::OffsetDateTime;
use upload_gateway::providers::s3::post_policy::{Condition, PostForm, PostPolicyRequest};
use upload_gateway::providers::s3::xml;
use upload_gateway::providers::s3::{CompletedPart, Expiry, Presigned, PutHeaders};

/// What is changed, the headers sent, the body.
type Attempt<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>);
/// What is changed, the file, the form fields replaced.
type FormAttempt<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)]);

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn minutes(n: u64) -> Expiry {
    Expiry::from_secs(n * 60).unwrap()
}

async fn put(p: &Presigned, headers: &[(&str, &str)], body: Vec<u8>) -> reqwest::Response {
    let mut r = client().put(&p.url);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(body).send().await.unwrap()
}

/// The signed headers of a presigned URL, as the client is told to send them.
fn sent(p: &Presigned) -> Vec<(&str, &str)> {
    p.headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn get_bytes(g: &Garage, key: &str) -> (u16, Vec<u8>, Option<String>) {
    let req = g.signer().get_object(&g.location(), key, now()).unwrap();
    let r = send(&req).await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, r.bytes().await.unwrap().to_vec(), ct)
}

#[tokio::test]
async fn garage_accepts_a_presigned_put_and_the_bytes_read_back() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let (loc, signer) = (g.location(), g.signer());
    let key = "uploads/user-1/ünï cödé+目录/a~b.txt";
    let body = b"hello from the gateway's signer\n".to_vec();
    let h = PutHeaders {
        content_type: Some("text/plain"),
        content_length: Some(body.len() as u64),
        extra: &[("x-amz-meta-upload-id", "u-123")],
    };
    let p = signer
        .presign_put(&loc, key, &h, now(), minutes(5))
        .unwrap();
    let r = put(&p, &sent(&p), body.clone()).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let (status, got, ct) = get_bytes(&g, key).await;
    assert_eq!(
        (status, got, ct.as_deref()),
        (200, body, Some("text/plain"))
    );
    let head = send(&signer.head_object(&loc, key, now()).unwrap())
        .await
        .unwrap();
    assert_eq!(head.headers()["x-amz-meta-upload-id"], "u-123");
    // The read-back proves something only if Garage checks signatures on reads, too.
    let unsigned = client()
        .get(loc.url_for_path(&loc.object_path(key)))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 403);
    let wrong = signer_with("WrongGarageSecretKey0000000000000000000000000000000000000000000");
    let r = send(&wrong.get_object(&loc, key, now()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn garage_refuses_a_presigned_put_with_another_type_size_or_signature() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let (loc, signer) = (g.location(), g.signer());
    let key = "uploads/user-1/photo.png";
    let h = PutHeaders {
        content_type: Some("image/png"),
        content_length: Some(10),
        extra: &[],
    };
    let p = signer
        .presign_put(&loc, key, &h, now(), minutes(5))
        .unwrap();
    let ten = vec![7u8; 10];
    let cases: [Attempt<'_>; 3] = [
        (
            "another type",
            vec![("Content-Type", "text/html")],
            ten.clone(),
        ),
        ("no type", vec![], ten.clone()),
        (
            "another size",
            vec![("Content-Type", "image/png")],
            vec![7u8; 11],
        ),
    ];
    for (what, headers, body) in cases {
        let r = put(&p, &headers, body).await;
        // Garage answers a signed header that is missing with 400, a changed one with 403.
        let want = if headers.is_empty() { 400 } else { 403 };
        assert_eq!(r.status(), want, "{what}");
    }
    let mut tampered = Presigned {
        url: p.url.replace("user-1", "user-2"),
        ..p
    };
    let r = put(&tampered, &sent(&tampered), ten.clone()).await;
    assert_eq!(r.status(), 403, "another key");
    let last = tampered.url.pop().unwrap();
    tampered.url.push(if last == '0' { '1' } else { '0' });
    tampered.url = tampered.url.replace("user-2", "user-1");
    let r = put(&tampered, &sent(&tampered), ten.clone()).await;
    assert_eq!(r.status(), 403, "another signature");
    let (status, ..) = get_bytes(&g, key).await;
    assert_eq!(status, 404, "nothing was stored");

    // A correctly signed URL works: the refusals above were about the change.
    let fresh = signer
        .presign_put(&loc, key, &h, now(), minutes(5))
        .unwrap();
    let r = put(&fresh, &[("Content-Type", "image/png")], Vec::new()).await;
    // An empty body goes without Content-Length: a signed header missing, so 400.
    assert_eq!(r.status(), 400, "an empty body against a pinned size");
    assert_eq!(put(&fresh, &sent(&fresh), ten).await.status(), 200);
}

#[tokio::test]
async fn garage_runs_a_multipart_upload_signed_by_us() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let (loc, signer) = (g.location(), g.signer());
    let key = "uploads/user-1/big file.bin";
    let init = signer
        .initiate_multipart(
            &loc,
            key,
            &[("Content-Type", "application/octet-stream")],
            now(),
        )
        .unwrap();
    let r = send(&init).await.unwrap();
    assert_eq!(r.status(), 200);
    let upload_id = xml::parse_initiate(&r.bytes().await.unwrap()).unwrap();

    let bodies = [vec![1u8; 6000], vec![2u8; 123]];
    let mut done = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let n = i as u32 + 1;
        let p = signer
            .presign_upload_part(
                &loc,
                key,
                &upload_id,
                n,
                Some(body.len() as u64),
                now(),
                minutes(5),
            )
            .unwrap();
        // A part of another size is refused: the planned size is signed.
        // (No explicit header: the client states the true length, as any HTTP client does.)
        let r = put(&p, &[], vec![0u8; body.len() + 1]).await;
        assert_eq!(r.status(), 403, "part {n} with a wrong size");
        let r = put(&p, &sent(&p), body.clone()).await;
        assert_eq!(r.status(), 200, "part {n}");
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        done.push(CompletedPart {
            part_number: n,
            etag,
        });
    }

    let r = send(
        &signer
            .list_parts(&loc, key, &upload_id, None, now())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let page = xml::parse_list_parts(&r.bytes().await.unwrap()).unwrap();
    let listed: Vec<(u32, String, u64)> = page
        .parts
        .iter()
        .map(|p| (p.part_number, p.etag.clone(), p.size))
        .collect();
    let want: Vec<(u32, String, u64)> = done
        .iter()
        .zip(&bodies)
        .map(|(p, b)| {
            (
                p.part_number,
                p.etag.trim_matches('"').to_string(),
                b.len() as u64,
            )
        })
        .collect();
    assert_eq!(listed, want);
    let r = send(
        &signer
            .list_multipart_uploads(&loc, "uploads/user-1/", None, now())
            .unwrap(),
    )
    .await
    .unwrap();
    let uploads = xml::parse_list_uploads(&r.bytes().await.unwrap()).unwrap();
    assert!(
        uploads
            .uploads
            .iter()
            .any(|u| u.upload_id == upload_id && u.key == key)
    );

    // A wrong ETag is refused by storage, through the XML error reader.
    let bad = [CompletedPart {
        part_number: 1,
        etag: "\"00000000000000000000000000000000\"".into(),
    }];
    let r = send(
        &signer
            .complete_multipart(&loc, key, &upload_id, &bad, now())
            .unwrap(),
    )
    .await
    .unwrap();
    let status = r.status().as_u16();
    let err = xml::parse_complete(&r.bytes().await.unwrap()).unwrap_err();
    assert!(
        status >= 400
            && err
                == xml::XmlError::S3 {
                    code: "InvalidPart".into()
                },
        "{status} {err}"
    );

    let r = send(
        &signer
            .complete_multipart(&loc, key, &upload_id, &done, now())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    xml::parse_complete(&r.bytes().await.unwrap()).unwrap();
    let (status, got, _) = get_bytes(&g, key).await;
    assert_eq!((status, got), (200, bodies.concat()));

    // Abort: the upload is gone, its parts cannot be listed.
    let init = send(&signer.initiate_multipart(&loc, key, &[], now()).unwrap())
        .await
        .unwrap();
    let other = xml::parse_initiate(&init.bytes().await.unwrap()).unwrap();
    let r = send(&signer.abort_multipart(&loc, key, &other, now()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = send(&signer.list_parts(&loc, key, &other, None, now()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        xml::parse_list_parts(&r.bytes().await.unwrap()).unwrap_err(),
        xml::XmlError::S3 {
            code: "NoSuchUpload".into()
        }
    );
}

/// multipart/form-data by hand (reqwest is built without its multipart feature): the
/// fields in order, the file last, as browsers send a form.
async fn post_form(form: &PostForm, file: &[u8], overrides: &[(&str, &str)]) -> reqwest::Response {
    let boundary = "----upload-gateway-test-boundary";
    let mut body = Vec::new();
    for (k, v) in &form.fields {
        let v = overrides
            .iter()
            .find(|(o, _)| o == k)
            .map_or(v.as_str(), |(_, v)| v);
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .bytes(),
        );
    }
    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n").bytes());
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    client()
        .post(&form.url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn garage_enforces_our_post_policy() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let (loc, signer) = (g.location(), g.signer());
    let conditions = [
        Condition::Eq("Content-Type", "text/plain"),
        Condition::ContentLengthRange(1, 100),
    ];
    let form = signer.post_policy(
        &loc,
        &PostPolicyRequest {
            key: "uploads/user-1/${filename}",
            fields: &[("Content-Type", "text/plain")],
            conditions: &conditions,
            now: now(),
            expires: minutes(5),
        },
    );
    let r = post_form(&form, b"posted bytes", &[]).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (status, got, ct) = get_bytes(&g, "uploads/user-1/a.txt").await;
    assert_eq!(
        (status, got.as_slice(), ct.as_deref()),
        (200, &b"posted bytes"[..], Some("text/plain"))
    );

    let refusals: [FormAttempt<'_>; 4] = [
        ("too large", &[b'x'; 101], &[]),
        ("empty", b"", &[]),
        ("another type", b"x", &[("Content-Type", "text/html")]),
        (
            "outside the prefix",
            b"x",
            &[("key", "uploads/user-2/${filename}")],
        ),
    ];
    for (what, file, overrides) in refusals {
        let r = post_form(&form, file, overrides).await;
        let status = r.status().as_u16();
        assert!(
            matches!(status, 400 | 403),
            "{what}: {status} {}",
            r.text().await.unwrap()
        );
    }
    let (status, ..) = get_bytes(&g, "uploads/user-2/a.txt").await;
    assert_eq!(status, 404);
    let tampered = [("x-amz-signature", "0".repeat(64))];
    let over: Vec<(&str, &str)> = tampered.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        post_form(&form, b"x", &over).await.status(),
        403,
        "another signature"
    );
}
