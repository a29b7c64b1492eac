//! The rest of the routes for an S3 bucket against Garage: the owner's download and delete
//! (presigned GET, DeleteObject), the content check reading the object's first bytes, and
//! the Uppy `/s3/*` routes (form params, multipart) in the shapes `@uppy/aws-s3` uses.

use crate::garage::{Garage, send, spawn_garage};
use crate::helpers::*;
use crate::multipart::json_of;
use crate::s3::add_s3_bucket;
use reqwest::Method;
use serde_json::{Value, json};

const MIB: usize = 1024 * 1024;

async fn garage_status(g: &Garage, key: &str) -> u16 {
    let req = g
        .signer()
        .head_object(&g.location(), key, time::OffsetDateTime::now_utc())
        .unwrap();
    send(&req).await.unwrap().status().as_u16()
}

async fn put_signed(app: &TestApp, v: &Value, body: Vec<u8>) -> reqwest::Response {
    let mut req = app.client.put(v["url"].as_str().unwrap());
    for (k, val) in v["headers"].as_object().unwrap() {
        if !k.eq_ignore_ascii_case("content-length") {
            req = req.header(k, val.as_str().unwrap());
        }
    }
    req.body(body).send().await.unwrap()
}

#[tokio::test]
async fn an_s3_image_passes_the_content_check_then_the_owner_downloads_and_deletes_it() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let endpoint = g.endpoint.clone();
    let app = spawn_app_with(move |raw| {
        add_s3_bucket(raw, &endpoint);
        let p = raw.profiles.get_mut("s3docs").unwrap();
        p.content_types = vec!["image/png".into()];
        p.content_check = true;
    })
    .await;
    let png = std::fs::read(fixtures().join("content/tiny.png")).unwrap();
    let (status, r) = json_of(
        app.as_user("ivy", Method::POST, "/v1/uploads/presign")
            .json(&json!({"profile": "s3docs", "filename": "me.png",
                "content_type": "image/png", "size": png.len()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(put_signed(&app, &r, png.clone()).await.status(), 200);
    let id = r["upload_id"].as_str().unwrap();
    let (status, done) = json_of(
        app.as_user("ivy", Method::POST, &format!("/v1/uploads/{id}/confirm"))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("completed")),
        "{done}"
    );

    let (status, d) = json_of(
        app.as_user(
            "ivy",
            Method::GET,
            &format!("/v1/uploads/{id}/download?disposition=attachment"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let got = app
        .client
        .get(d["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert!(
        got.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"),
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);
    let tampered = d["url"].as_str().unwrap().replace("attachment", "inline");
    assert_eq!(app.client.get(tampered).send().await.unwrap().status(), 403);

    let key = r["key"].as_str().unwrap();
    assert_eq!(garage_status(&g, key).await, 200);
    let (status, rec) = json_of(
        app.as_user("ivy", Method::DELETE, &format!("/v1/uploads/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, rec["status"].as_str()),
        (200, Some("deleted")),
        "{rec}"
    );
    assert_eq!(garage_status(&g, key).await, 404);
}

#[tokio::test]
async fn an_s3_object_that_is_not_what_it_claims_fails_the_content_check() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let endpoint = g.endpoint.clone();
    let app = spawn_app_with(move |raw| {
        add_s3_bucket(raw, &endpoint);
        let p = raw.profiles.get_mut("s3docs").unwrap();
        p.content_types = vec!["image/png".into()];
        p.content_check = true;
    })
    .await;
    let fake = b"MZ\x90\x00 definitely not a png".to_vec();
    let (_, r) = json_of(
        app.as_user("ivy", Method::POST, "/v1/uploads/presign")
            .json(&json!({"profile": "s3docs", "filename": "me.png",
                "content_type": "image/png", "size": fake.len()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(put_signed(&app, &r, fake).await.status(), 200);
    let id = r["upload_id"].as_str().unwrap();
    let resp = app
        .as_user("ivy", Method::POST, &format!("/v1/uploads/{id}/confirm"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(resp).await;
    assert_eq!((status, code.as_str()), (422, "upload-rejected"));
    let (_, rec) = json_of(app.get_upload("ivy", id).await).await;
    assert_eq!(rec["status"], "failed");
}

#[tokio::test]
async fn uppy_routes_upload_to_an_s3_bucket_by_form_and_by_multipart() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let endpoint = g.endpoint.clone();
    let app = spawn_app_with(move |raw| {
        add_s3_bucket(raw, &endpoint);
        raw.uppy.profile = Some("s3docs".into());
    })
    .await;

    // Single file: Uppy posts the form fields as given, the file last.
    let (status, params) = json_of(
        app.as_user(
            "uppy",
            Method::GET,
            "/s3/params?filename=a.txt&type=text/plain&size=3",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{params}");
    let fields: Vec<Value> = params["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let (ct, body) = crate::s3::form_body(&fields, b"abc", "text/plain");
    let resp = app
        .client
        .post(params["url"].as_str().unwrap())
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());

    // Multipart: create, sign, PUT, list, complete.
    let data: Vec<u8> = (0..5 * MIB + 10).map(|i| (i % 251) as u8).collect();
    let (status, created) = json_of(
        app.as_user("uppy", Method::POST, "/s3/multipart")
            .json(
                &json!({"filename": "big.bin", "type": "application/octet-stream",
                "metadata": {}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let upload_id = created["uploadId"].as_str().unwrap().to_string();
    let key = created["key"].as_str().unwrap().to_string();
    let enc: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let (_, batch) = json_of(
        app.as_user(
            "uppy",
            Method::GET,
            &format!("/s3/multipart/{upload_id}/batch?key={enc}&partNumbers=1,2"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let mut etags = Vec::new();
    for (n, chunk) in [(1, &data[..5 * MIB]), (2, &data[5 * MIB..])] {
        let url = batch["presignedUrls"][n.to_string()].as_str().unwrap();
        let r = app
            .client
            .put(url)
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "part {n}");
        etags.push(r.headers()["etag"].to_str().unwrap().to_string());
    }
    let (_, parts) = json_of(
        app.as_user(
            "uppy",
            Method::GET,
            &format!("/s3/multipart/{upload_id}?key={enc}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(parts.as_array().unwrap().len(), 2, "{parts}");
    let (status, done) = json_of(
        app.as_user(
            "uppy",
            Method::POST,
            &format!("/s3/multipart/{upload_id}/complete?key={enc}"),
        )
        .json(&json!({"parts": [{"PartNumber": 1, "ETag": etags[0]},
            {"PartNumber": 2, "ETag": etags[1]}]}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert!(
        done["location"].as_str().unwrap().starts_with(&g.endpoint),
        "{done}"
    );
    let (_, rec) = json_of(app.get_upload("uppy", &upload_id).await).await;
    assert_eq!(
        (rec["status"].as_str(), rec["size"].as_u64()),
        (Some("completed"), Some(data.len() as u64))
    );
}

/// CompleteMultipartUpload may answer 200 and report the failure in the body (after
/// whitespace it sent to keep the connection alive): that is an error, never a completion.
#[tokio::test]
async fn a_complete_answered_200_with_an_error_body_is_an_error() {
    let (port, seen) = serve_raw(|line: String| async move {
        let body = if line.contains("?uploads") {
            "<InitiateMultipartUploadResult><Bucket>gateway-tests</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>".to_string()
        } else {
            "\n    \n    \n<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>".to_string()
        };
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    })
    .await;
    let endpoint = format!("http://127.0.0.1:{port}");
    let app = spawn_app_with(move |raw| add_s3_bucket(raw, &endpoint)).await;
    let mp = app
        .app_state
        .uploads
        .providers()
        .get("s3")
        .unwrap()
        .multipart()
        .unwrap();
    let id = mp
        .initiate("s3docs/x/k.bin", "application/octet-stream", None)
        .await
        .unwrap();
    assert_eq!(id, "up-1");
    let e = mp
        .complete("s3docs/x/k.bin", &id, &[(1, "\"abc\"".into())], None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, upload_gateway::providers::UpstreamError::Refused { code, .. } if code == "InternalError"),
        "{e:?}"
    );
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("uploadId=up-1"))
    );
}

/// The reconciler on an S3 bucket: past their deadline, an upload whose object landed with
/// its binding completes; one never written, and one whose key holds an object without the
/// binding, expire.
#[tokio::test]
async fn the_reconciler_completes_landed_s3_uploads_and_expires_the_rest() {
    let Some(g) = spawn_garage().await else {
        return;
    };
    let endpoint = g.endpoint.clone();
    let app = spawn_app_with(move |raw| add_s3_bucket(raw, &endpoint)).await;
    let mut issued = Vec::new();
    for name in ["landed.txt", "never.txt", "stray.txt"] {
        let (status, r) = json_of(
            app.as_user("kim", Method::POST, "/v1/uploads/presign")
                .json(&json!({"profile": "s3docs", "filename": name,
                    "content_type": "text/plain", "size": 5}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        issued.push(r);
    }
    assert_eq!(
        put_signed(&app, &issued[0], b"hello".to_vec())
            .await
            .status(),
        200
    );
    let stray = g
        .signer()
        .presign_put(
            &g.location(),
            issued[2]["key"].as_str().unwrap(),
            &Default::default(),
            time::OffsetDateTime::now_utc(),
            upload_gateway::providers::s3::Expiry::from_secs(600).unwrap(),
        )
        .unwrap();
    assert_eq!(
        app.client
            .put(&stray.url)
            .body("hello")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Time passes: every deadline is behind us.
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    for r in &issued {
        let id = upload_gateway::domain::UploadId::parse(r["upload_id"].as_str().unwrap()).unwrap();
        let _: () = redis::cmd("ZADD")
            .arg(app.store().keys().deadlines_for(&id))
            .arg(past)
            .arg(id.as_str())
            .query_async(&mut c)
            .await
            .unwrap();
    }
    // One round (this one, or the background reconciler's if it holds the lock just now).
    let statuses = eventually(std::time::Duration::from_secs(10), || async {
        app.app_state.uploads.reconcile_once().await.unwrap();
        let mut statuses = Vec::new();
        for r in &issued {
            let id = r["upload_id"].as_str().unwrap();
            let (_, rec) = json_of(app.get_upload("kim", id).await).await;
            statuses.push(rec["status"].as_str().unwrap().to_string());
        }
        (!statuses.iter().any(|s| s == "issued")).then_some(statuses)
    })
    .await
    .expect("reconciled");
    assert_eq!(statuses, ["completed", "expired", "expired"]);
}
