//! The profile in the COS STS policy: the gateway asks Tencent STS (here oss-local's
//! stand-in, which keeps the policy it was sent and evaluates its conditions as CAM does)
//! for exactly the profile's Content-Types and size on simple uploads, the Content-Types as
//! `_if_exist` on multipart and append (UploadPart carries no Content-Type), and
//! AppendObject only where the profile allows appends; the store then refuses the rest.

use crate::cos::{COS_BUCKET, COS_REGION, CosStore, cos_gateway};
use crate::helpers::*;
use crate::multipart::json_of;
use reqwest::Method;
use serde_json::{Value, json};
use upload_gateway::providers::cos::presign::{self, ControlCall, UploadOp};
use upload_gateway::providers::cos::{BucketName, CosLocation, Credentials, KeyTime};

const MIB: usize = 1024 * 1024;

struct Keys {
    id: String,
    secret: String,
    token: String,
}

async fn keys(app: &TestApp, user: &str, profile: &str) -> Keys {
    let path = format!("/v1/credentials/cos-sdk?profile={profile}");
    let (status, v) = json_of(app.as_user(user, Method::GET, &path).send().await.unwrap()).await;
    assert_eq!(status, 200, "{v}");
    let c = &v["credentials"];
    let s = |k: &str| c[k].as_str().unwrap().to_string();
    Keys {
        id: s("tmpSecretId"),
        secret: s("tmpSecretKey"),
        token: s("sessionToken"),
    }
}

fn resource(prefix: &str) -> Value {
    json!([format!(
        "qcs::cos:{COS_REGION}:uid/1250000000:{COS_BUCKET}/{prefix}*"
    )])
}

const MULTIPART: [&str; 6] = [
    "name/cos:InitiateMultipartUpload",
    "name/cos:ListMultipartUploads",
    "name/cos:ListParts",
    "name/cos:UploadPart",
    "name/cos:CompleteMultipartUpload",
    "name/cos:AbortMultipartUpload",
];

#[tokio::test]
async fn the_sts_policy_carries_exactly_the_profiles_types_size_and_append_right() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let types = json!({"cos:content-type": ["image/*", "text/plain", "text/plain;*"]});
    let k = keys(&app, "ivy", "cosimg").await;
    let policy: Value = serde_json::from_str(&store.cos.policy_of(&k.id).unwrap()).unwrap();
    let mut others = vec!["name/cos:AppendObject"];
    others.extend(MULTIPART);
    assert_eq!(
        policy,
        json!({"version": "2.0", "statement": [
            {"effect": "allow", "action": ["name/cos:PutObject", "name/cos:PostObject"],
             "resource": resource("cosimg/ivy/"),
             "condition": {"string_like_if_exist": types,
                           "numeric_less_than_equal": {"cos:content-length": 2 * MIB}}},
            {"effect": "allow", "action": others, "resource": resource("cosimg/ivy/"),
             "condition": {"string_like_if_exist": types}},
        ]})
    );

    // A profile without appends or types: no AppendObject, the size only.
    let k = keys(&app, "ivy", "cossts").await;
    let policy: Value = serde_json::from_str(&store.cos.policy_of(&k.id).unwrap()).unwrap();
    assert_eq!(
        policy,
        json!({"version": "2.0", "statement": [
            {"effect": "allow", "action": ["name/cos:PutObject", "name/cos:PostObject"],
             "resource": resource("cossts/ivy/"),
             "condition": {"numeric_less_than_equal": {"cos:content-length": 10 * MIB}}},
            {"effect": "allow", "action": MULTIPART, "resource": resource("cossts/ivy/")},
        ]})
    );
}

/// Sends one request signed with the temporary keys; returns the status and body.
async fn send(app: &TestApp, store: &CosStore, k: &Keys, req: Req<'_>) -> (u16, String) {
    let loc = CosLocation::with_endpoint(
        BucketName::parse(COS_BUCKET).unwrap(),
        COS_REGION,
        &store.url(),
    )
    .unwrap();
    let creds = Credentials {
        secret_id: &k.id,
        secret_key: &k.secret,
        security_token: Some(&k.token),
    };
    let time = KeyTime::around(now(), 600, 60);
    let (method, url, headers) = match req.op {
        Op::Upload(op) => {
            let p = presign::presign_upload(
                &loc,
                creds,
                &presign::UploadRequest {
                    op,
                    key: req.key,
                    content_type: None,
                    content_md5: None,
                    content_length: None,
                    extra_headers: &[],
                    key_time: time,
                },
            );
            let method = if matches!(op, UploadOp::Append { .. }) {
                "POST"
            } else {
                "PUT"
            };
            (method, p.url, vec![])
        }
        Op::Initiate => {
            let ct: Vec<(&str, &str)> = req
                .content_type
                .map(|c| ("content-type", c))
                .into_iter()
                .collect();
            let s = presign::authorize(
                &loc,
                creds,
                ControlCall::InitiateMultipart { key: req.key },
                &ct,
                time,
            );
            (s.method, s.url, s.headers)
        }
    };
    let mut r = app
        .client
        .request(Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (h, v) in headers {
        r = r.header(h, v);
    }
    if let (Some(ct), Op::Upload(_)) = (req.content_type, req.op) {
        r = r.header("content-type", ct);
    }
    let resp = r.body(req.body).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[derive(Clone, Copy)]
enum Op<'a> {
    Upload(UploadOp<'a>),
    Initiate,
}

struct Req<'a> {
    op: Op<'a>,
    key: &'a str,
    content_type: Option<&'a str>,
    body: Vec<u8>,
}

fn req<'a>(op: Op<'a>, key: &'a str, content_type: Option<&'a str>, size: usize) -> Req<'a> {
    Req {
        op,
        key,
        content_type,
        body: vec![b'x'; size],
    }
}

#[tokio::test]
async fn the_store_refuses_what_the_profiles_policy_does_not_grant() {
    let store = CosStore::start().await;
    let app = cos_gateway(&store).await;
    let k = keys(&app, "ivy", "cosimg").await;
    let put = Op::Upload(UploadOp::Put);
    for (ct, size, want) in [
        (Some("image/png"), 10, 200),
        (Some("text/plain;charset=utf-8"), 10, 200),
        (Some("text/html"), 10, 403),
        (Some("image/png"), 2 * MIB + 1, 403),
        (None, 10, 200),
    ] {
        let (status, body) = send(&app, &store, &k, req(put, "cosimg/ivy/a", ct, size)).await;
        assert_eq!(status, want, "{ct:?} {size}: {body}");
        if want == 403 {
            assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
        }
    }

    // Multipart: the type is `_if_exist`, so an UploadPart without one goes through, and
    // the size bounds simple uploads only (parts are larger than nothing in the policy).
    let (status, body) = send(
        &app,
        &store,
        &k,
        req(Op::Initiate, "cosimg/ivy/big", Some("image/png"), 0),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let upload_id = body
        .split("<UploadId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let part = |n| {
        Op::Upload(UploadOp::UploadPart {
            upload_id: &upload_id,
            part_number: n,
        })
    };
    let (status, body) = send(
        &app,
        &store,
        &k,
        req(part(1), "cosimg/ivy/big", None, 3 * MIB),
    )
    .await;
    assert_eq!(status, 200, "a part without Content-Type: {body}");
    let (status, _) = send(
        &app,
        &store,
        &k,
        req(part(2), "cosimg/ivy/big", Some("text/html"), 10),
    )
    .await;
    assert_eq!(status, 403, "a part with a type outside the profile");
    let (status, _) = send(
        &app,
        &store,
        &k,
        req(Op::Initiate, "cosimg/ivy/bad", Some("text/html"), 0),
    )
    .await;
    assert_eq!(status, 403);

    // Append where the profile allows it, and not where it does not.
    let append = Op::Upload(UploadOp::Append { position: 0 });
    let (status, body) = send(
        &app,
        &store,
        &k,
        req(append, "cosimg/ivy/log", Some("text/plain"), 4),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let plain = keys(&app, "ivy", "cossts").await;
    let (status, body) = send(&app, &store, &plain, req(append, "cossts/ivy/log", None, 4)).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(
        &app,
        &store,
        &plain,
        req(put, "cossts/ivy/big", None, 10 * MIB + 1),
    )
    .await;
    assert_eq!(status, 403, "larger than the profile's max");
}
