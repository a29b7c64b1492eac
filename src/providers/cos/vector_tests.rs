//! Known-answer tests against the vectors computed by Tencent's own SDKs and docs
//! (`tests/fixtures/vectors/`, copied from the shared set).

use super::bucket::{BucketName, CosLocation};
use super::post_policy::sign_policy;
use super::presign::{UploadOp, UploadRequest, UrlInput, presign_upload, presign_url};
use super::sign::{self, Credentials, KeyTime, SignInput};
use super::{sts, tc3};
use base64::Engine;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn pairs(v: &Value) -> Vec<(&str, &str)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing"))
}

#[test]
fn cos_official_doc_examples_sign_byte_for_byte() {
    let file = load("cos_sign.json");
    let docs = file["official_doc_examples"].as_array().unwrap();
    assert_eq!(docs.len(), 2);
    for v in docs {
        let name = s(v, "name");
        let headers = pairs(&v["headers"]);
        let params = pairs(&v["params"]);
        let key_time = KeyTime::parse(s(v, "key_time")).unwrap();
        let path = s(v, "uri_pathname");
        // The doc signs the raw UTF-8 path `/exampleobject(腾讯云)`.
        assert!(!path.is_ascii(), "{name}");
        let signed = sign::sign(
            s(v, "secret_key"),
            &SignInput {
                method: s(v, "method"),
                key: path.strip_prefix('/').unwrap(),
                // Host is among the doc's headers.
                host: "",
                headers: &headers,
                params: &params,
                key_time,
            },
        );
        assert_eq!(
            std::str::from_utf8(&sign::sign_key(s(v, "secret_key"), s(v, "key_time"))).unwrap(),
            s(v, "sign_key"),
            "{name}"
        );
        assert_eq!(signed.http_string, s(v, "http_string"), "{name}");
        assert_eq!(signed.string_to_sign, s(v, "string_to_sign"), "{name}");
        assert_eq!(signed.header_list, s(v, "q_header_list"), "{name}");
        assert_eq!(signed.url_param_list, s(v, "q_url_param_list"), "{name}");
        assert_eq!(signed.signature, s(v, "signature"), "{name}");
        assert_eq!(signed.signature, s(v, "doc_signature"), "{name}");
        let auth = signed.authorization(s(v, "secret_id"));
        assert!(
            auth.ends_with(&format!("&q-signature={}", s(v, "signature"))),
            "{name}"
        );

        let other = sign::sign(
            "BQYIM75p8x0iWVFSIgqEKwFprpRSVHly",
            &SignInput {
                method: s(v, "method"),
                key: path.strip_prefix('/').unwrap(),
                host: "",
                headers: &headers,
                params: &params,
                key_time,
            },
        );
        assert_ne!(other.signature, signed.signature, "{name}: another secret");
    }
}

fn location(i: &Value) -> CosLocation {
    CosLocation::new(BucketName::parse(s(i, "bucket")).unwrap(), s(i, "region")).unwrap()
}

fn key_time(i: &Value) -> KeyTime {
    KeyTime::around(
        i["now_unix"].as_i64().unwrap(),
        i["expired_seconds"].as_u64().unwrap(),
        sign::DEFAULT_SKEW_SECS,
    )
}

#[test]
fn cos_sdk_presigned_urls_match_byte_for_byte() {
    let file = load("cos_sign.json");
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    for v in vectors {
        let name = s(v, "name");
        let (i, e) = (&v["inputs"], &v["expected"]);
        let headers = pairs(&i["signed_headers"]);
        let params = pairs(&i["signed_params"]);
        let creds = Credentials {
            secret_id: s(i, "secret_id"),
            secret_key: s(i, "secret_key"),
            security_token: None,
        };
        let input = UrlInput {
            method: s(i, "method"),
            key: s(i, "key"),
            headers: &headers,
            params: &params,
            sign_host: i["sign_host"].as_bool().unwrap(),
            key_time: key_time(i),
        };
        let (url, signed) = presign_url(&location(i), creds, &input);
        assert_eq!(signed.key_time.to_text(), s(e, "key_time"), "{name}");
        assert_eq!(
            std::str::from_utf8(&sign::sign_key(creds.secret_key, s(e, "key_time"))).unwrap(),
            s(e, "sign_key"),
            "{name}"
        );
        assert_eq!(signed.http_string, s(e, "http_string"), "{name}");
        assert_eq!(signed.string_to_sign, s(e, "string_to_sign"), "{name}");
        assert_eq!(signed.header_list, s(e, "q_header_list"), "{name}");
        assert_eq!(signed.url_param_list, s(e, "q_url_param_list"), "{name}");
        assert_eq!(signed.signature, s(e, "signature"), "{name}");
        assert_eq!(url, s(e, "url"), "{name}");

        let wrong = Credentials {
            secret_key: "FakeSecretKey0000000000000000001",
            ..creds
        };
        assert_ne!(
            presign_url(&location(i), wrong, &input).1.signature,
            signed.signature,
            "{name}: another secret"
        );
        let mut later = input;
        later.key_time.end += 1;
        assert_ne!(
            presign_url(&location(i), creds, &later).1.signature,
            signed.signature,
            "{name}: another key time"
        );
        let mut other_key = input;
        other_key.key = "uploads/2023/photo2.jpg";
        assert_ne!(
            presign_url(&location(i), creds, &other_key).1.signature,
            signed.signature,
            "{name}: another key"
        );
    }
}

/// The same URLs through the gateway-facing API: the op, pinned headers and the token as
/// a credential rather than a hand-written param.
#[test]
fn upload_rights_reproduce_the_sdk_urls() {
    let file = load("cos_sign.json");
    let find = |n: &str| {
        file["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == n)
            .unwrap()
            .clone()
    };
    for (name, op, ct, token) in [
        ("put_plain", UploadOp::Put, None, None),
        ("put_content_type", UploadOp::Put, Some("image/jpeg"), None),
        (
            "put_sts_token",
            UploadOp::Put,
            None,
            Some("CAIS+test/security+token==/with+slash/and=plus"),
        ),
        (
            "upload_part",
            UploadOp::UploadPart {
                upload_id: "1700000000a1b2c3d4e5f60718293a4b5c6d7e8f",
                part_number: 1,
            },
            None,
            None,
        ),
    ] {
        let v = find(name);
        let i = &v["inputs"];
        let p = presign_upload(
            &location(i),
            Credentials {
                secret_id: s(i, "secret_id"),
                secret_key: s(i, "secret_key"),
                security_token: token,
            },
            &UploadRequest {
                op,
                key: s(i, "key"),
                content_type: ct,
                content_md5: None,
                content_length: None,
                extra_headers: &[],
                key_time: key_time(i),
            },
        );
        assert_eq!(p.method, "PUT", "{name}");
        assert_eq!(p.url, s(&v["expected"], "url"), "{name}");
        assert_eq!(
            p.headers,
            ct.map(|c| ("Content-Type".to_string(), c.to_string()))
                .into_iter()
                .collect::<Vec<_>>(),
            "{name}"
        );
    }
}

#[test]
fn the_unicode_doc_key_is_signed_raw_and_sent_encoded() {
    let loc = CosLocation::new(
        BucketName::parse("examplebucket-1250000000").unwrap(),
        "ap-beijing",
    )
    .unwrap();
    let (url, signed) = presign_url(
        &loc,
        Credentials {
            secret_id: "AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q",
            secret_key: "BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz",
            security_token: None,
        },
        &UrlInput {
            method: "GET",
            key: "exampleobject(腾讯云)",
            headers: &[],
            params: &[],
            sign_host: true,
            key_time: KeyTime::parse("1557989753;1557996953").unwrap(),
        },
    );
    assert!(
        signed
            .http_string
            .starts_with("get\n/exampleobject(腾讯云)\n")
    );
    assert!(
        url.starts_with(
            "https://examplebucket-1250000000.cos.ap-beijing.myqcloud.com/exampleobject%28%E8%85%BE%E8%AE%AF%E4%BA%91%29?"
        ),
        "{url}"
    );
}

#[test]
fn cos_post_policy_doc_example() {
    let v = load("cos_post_policy.json");
    let text = s(&v, "policy_text");
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
        s(&v, "policy_b64")
    );
    assert_eq!(
        std::str::from_utf8(&sign::sign_key(s(&v, "secret_key"), s(&v, "key_time"))).unwrap(),
        s(&v, "sign_key")
    );
    let (to_sign, sig) = sign_policy(s(&v, "secret_key"), s(&v, "key_time"), text);
    assert_eq!(to_sign, s(&v, "string_to_sign_sha1_of_policy_text"));
    assert_eq!(sig, s(&v, "q_signature"));
    let (_, other) = sign_policy("BQYIM75p8x0iWVFSIgqEKwFprpRSVHly", s(&v, "key_time"), text);
    assert_ne!(other, sig);
    let (_, other) = sign_policy(s(&v, "secret_key"), "1567150692;1567157893", text);
    assert_ne!(other, sig);
}

#[test]
fn tc3_official_doc_example() {
    let v = &load("tencent_sts_tc3.json")["official_doc_example"];
    let req = tc3::Tc3Request {
        service: "cvm",
        host: "cvm.tencentcloudapi.com",
        action: "DescribeInstances",
        version: "2017-03-12",
        region: "ap-guangzhou",
        content_type: "application/json; charset=utf-8",
        payload: s(v, "payload"),
        timestamp: v["timestamp"].as_i64().unwrap(),
    };
    let signed = tc3::sign(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        s(v, "secret_key"),
        None,
        &req,
    );
    assert_eq!(signed.canonical_request, s(v, "canonical_request"));
    assert_eq!(signed.string_to_sign, s(v, "string_to_sign"));
    assert_eq!(signed.signature, s(v, "expected_signature"));
    let other = tc3::sign(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        "Gu5t9xGARNpq86cd98joQYCN3EXAMPLF",
        None,
        &req,
    );
    assert_ne!(other.signature, signed.signature);
}

#[test]
fn tc3_get_federation_token_vector() {
    let v = &load("tencent_sts_tc3.json")["get_federation_token_vector"];
    let body = s(v, "body");
    let sign_for = |host: &str| {
        tc3::sign(
            s(v, "secret_id"),
            s(v, "secret_key"),
            None,
            &tc3::Tc3Request {
                service: "sts",
                host,
                action: "GetFederationToken",
                version: tc3::STS_VERSION,
                region: s(v, "region"),
                content_type: tc3::JSON,
                payload: body,
                timestamp: v["timestamp"].as_i64().unwrap(),
            },
        )
    };
    let lo = &v["captured_on_loopback"];
    let signed = sign_for(s(lo, "host_header"));
    assert_eq!(signed.canonical_request, s(lo, "canonical_request"));
    assert_eq!(signed.string_to_sign, s(lo, "string_to_sign"));
    assert_eq!(signed.signature, s(lo, "signature"));
    assert_eq!(signed.authorization, s(&lo["headers"], "Authorization"));
    for (name, value) in &signed.headers {
        if *name != "Authorization" {
            assert_eq!(value, s(&lo["headers"], name), "{name}");
        }
    }

    let real = &v["for_host_sts.tencentcloudapi.com"];
    let signed = sign_for(tc3::STS_HOST);
    assert_eq!(signed.canonical_request, s(real, "canonical_request"));
    assert_eq!(signed.string_to_sign, s(real, "string_to_sign"));
    assert_eq!(signed.authorization, s(real, "authorization"));

    // Our body differs from Python's only in whitespace.
    let ours: Value = serde_json::from_str(&tc3::federation_token_body(
        "user-42",
        s(v, "policy_json"),
        1800,
    ))
    .unwrap();
    assert_eq!(ours, serde_json::from_str::<Value>(body).unwrap());
}

#[test]
fn sts_answer_becomes_the_qcloud_cos_sts_shape() {
    let tc3v = load("tencent_sts_tc3.json");
    let answer = tc3v["response_shape_example"].to_string();
    let creds = sts::parse_response(answer.as_bytes()).unwrap();
    let start = sts::start_time(creds.expired_time, 1800, 0);
    let ours: Value = serde_json::from_str(&sts::cos_sdk_json(&creds, start)).unwrap();

    let shapes = load("sts_app_server_shapes.json");
    let want = &shapes["cos_js_and_miniprogram_getAuthorization"]["qcloud_cos_sts_node_output_shape"]
        ["example"];
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(want));
    assert_eq!(keys(&ours["credentials"]), keys(&want["credentials"]));
    assert_eq!(ours["expiredTime"], want["expiredTime"]);
    assert_eq!(ours["startTime"], want["startTime"]);
    assert_eq!(ours["expiration"], want["expiration"]);
    let c = &tc3v["response_shape_example"]["Response"];
    assert_eq!(
        ours["credentials"]["tmpSecretId"],
        c["Credentials"]["TmpSecretId"]
    );
    assert_eq!(
        ours["credentials"]["tmpSecretKey"],
        c["Credentials"]["TmpSecretKey"]
    );
    assert_eq!(
        ours["credentials"]["sessionToken"],
        c["Credentials"]["Token"]
    );
    assert_eq!(ours["requestId"], c["RequestId"]);
    // The SDKs take only 10-digit seconds, and the start must not be ahead of COS.
    for t in ["startTime", "expiredTime"] {
        assert_eq!(ours[t].as_i64().unwrap().to_string().len(), 10, "{t}");
    }
    assert_eq!(sts::start_time(creds.expired_time, 1800, 60), 1_699_999_940);
}
