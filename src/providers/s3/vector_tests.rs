//! Known-answer tests: every vector of `s3_sigv4_presign.json`, `s3_post_policy.json` and
//! `aws_sts_assume_role.json` (computed by botocore), byte for byte.

use super::post_policy::{Condition, PostPolicyRequest};
use super::sts::AssumeRole;
use super::*;
use secrecy::SecretString;
use serde_json::Value;
use std::collections::BTreeMap;
use time::OffsetDateTime;

fn load(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn now(i: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        s(&i["now_utc"]),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

fn signer(i: &Value, service: Service) -> Signer {
    let creds = Credentials::new(
        s(&i["access_key_id"]),
        SecretString::from(s(&i["secret_access_key"])),
        i["session_token"].as_str().map(SecretString::from),
    )
    .unwrap();
    Signer::new(creds, Region::parse(s(&i["region"])).unwrap(), service)
}

fn location(endpoint: &str, bucket: &str, style: UrlStyle) -> S3Location {
    S3Location::new(
        &url::Url::parse(endpoint).unwrap(),
        BucketName::parse(bucket).unwrap(),
        style,
    )
    .unwrap()
}

#[test]
fn sigv4_presign_vectors() {
    let file = load("s3_sigv4_presign.json");
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    for v in vectors {
        let name = s(&v["name"]);
        let i = &v["inputs"];
        let p = &i["params"];
        let style = if name.contains("path_style") {
            UrlStyle::Path
        } else {
            UrlStyle::Virtual
        };
        let loc = location(s(&i["endpoint"]), s(&p["Bucket"]), style);
        let headers: Vec<(&str, &str)> = i["headers_client_must_send"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), s(v)))
            .collect();
        let part;
        let mut params: Vec<(&str, &str)> = Vec::new();
        if let Some(n) = p["PartNumber"].as_u64() {
            part = n.to_string();
            params.push(("partNumber", &part));
            params.push(("uploadId", s(&p["UploadId"])));
        }
        let signed = signer(i, Service::S3)
            .presign(
                &loc,
                &PresignRequest {
                    method: Method::parse(s(&i["http_method"])).unwrap(),
                    key: s(&p["Key"]),
                    headers: &headers,
                    params: &params,
                    now: now(i),
                    expires: Expiry::from_secs(i["expires_in"].as_u64().unwrap()).unwrap(),
                },
            )
            .unwrap();
        let e = &v["expected"];
        assert_eq!(
            signed.canonical_request,
            s(&e["canonical_request"]),
            "{name}"
        );
        assert_eq!(signed.string_to_sign, s(&e["string_to_sign"]), "{name}");
        assert!(signed.url.ends_with(s(&e["signature"])), "{name}");
        assert_eq!(signed.url, s(&e["url"]), "{name}");
        assert_eq!(
            (signed.expires_at - now(i)).whole_seconds(),
            i["expires_in"].as_i64().unwrap()
        );
    }

    // The worked example of the S3 documentation (GET, one day).
    let doc = &file["official_doc_example"];
    let creds = Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        None,
    )
    .unwrap();
    let signer = Signer::new(creds, Region::parse("us-east-1").unwrap(), Service::S3);
    let loc = location(
        "https://s3.amazonaws.com",
        "examplebucket",
        UrlStyle::Virtual,
    );
    let at = OffsetDateTime::from_unix_timestamp(1_369_353_600).unwrap(); // 2013-05-24
    let signed = signer
        .presign(
            &loc,
            &PresignRequest {
                method: Method::Get,
                key: "test.txt",
                headers: &[],
                params: &[],
                now: at,
                expires: Expiry::from_secs(86_400).unwrap(),
            },
        )
        .unwrap();
    assert_eq!(signed.url, s(&doc["url"]));
}

#[test]
fn presign_helpers_sign_type_size_and_part() {
    let file = load("s3_sigv4_presign.json");
    let v = &file["vectors"][1]; // put_object_content_type
    let i = &v["inputs"];
    let loc = location(s(&i["endpoint"]), "examplebucket", UrlStyle::Virtual);
    let signer = signer(i, Service::S3);
    let exp = Expiry::from_secs(3600).unwrap();
    let put =
        |h: &PutHeaders<'_>| signer.presign_put(&loc, "uploads/2023/photo.jpg", h, now(i), exp);
    let typed = put(&PutHeaders {
        content_type: Some("image/jpeg"),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(typed.url, s(&v["expected"]["url"]));
    let sized = put(&PutHeaders {
        content_type: Some("image/jpeg"),
        content_length: Some(12345),
        ..Default::default()
    })
    .unwrap();
    assert!(
        sized
            .url
            .contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost")
    );
    assert!(sized.canonical_request.contains("\ncontent-length:12345\n"));
    assert_eq!(sized.headers[1], ("Content-Length".into(), "12345".into()));

    let part = &file["vectors"][3]; // upload_part
    let p = &part["inputs"]["params"];
    let signed = signer
        .presign_upload_part(&loc, s(&p["Key"]), s(&p["UploadId"]), 1, None, now(i), exp)
        .unwrap();
    assert_eq!(signed.url, s(&part["expected"]["url"]));
}

#[test]
fn presigning_refuses_checksums_and_signer_owned_names() {
    let file = load("s3_sigv4_presign.json");
    let i = &file["vectors"][0]["inputs"];
    let loc = location(s(&i["endpoint"]), "examplebucket", UrlStyle::Virtual);
    let signer = signer(i, Service::S3);
    let try_sign = |headers: &[(&str, &str)], params: &[(&str, &str)]| {
        signer
            .presign(
                &loc,
                &PresignRequest {
                    method: Method::Put,
                    key: "k",
                    headers,
                    params,
                    now: now(i),
                    expires: Expiry::from_secs(60).unwrap(),
                },
            )
            .err()
    };
    let crc = "x-amz-checksum-crc32".to_string();
    assert_eq!(
        try_sign(&[("X-Amz-Checksum-CRC32", "AAAAAA==")], &[]),
        Some(InputError::Checksum(crc.clone()))
    );
    assert_eq!(
        try_sign(&[], &[("x-amz-checksum-crc32", "AAAAAA==")]),
        Some(InputError::Checksum(crc))
    );
    assert!(matches!(
        try_sign(&[("Host", "evil")], &[]),
        Some(InputError::ReservedHeader(_))
    ));
    assert!(matches!(
        try_sign(&[], &[("X-Amz-Expires", "1")]),
        Some(InputError::ReservedHeader(_))
    ));
    assert!(matches!(
        try_sign(&[("content-type", "a"), ("Content-Type", "b")], &[]),
        Some(InputError::DuplicateHeader(_))
    ));
    assert!(matches!(
        try_sign(&[("bad name", "a")], &[]),
        Some(InputError::HeaderName(_))
    ));
}

#[test]
fn post_policy_vectors() {
    let file = load("s3_post_policy.json");
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let name = s(&v["name"]);
        let i = &v["inputs"];
        let style = match s(&i["addressing_style"]) {
            "path" => UrlStyle::Path,
            _ => UrlStyle::Virtual,
        };
        let loc = location(s(&i["endpoint"]), s(&i["bucket"]), style);
        let fields: Vec<(&str, &str)> = i["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), s(v)))
            .collect();
        let conditions: Vec<Condition<'_>> = i["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| match c {
                Value::Object(m) => {
                    let (k, v) = m.iter().next().unwrap();
                    Condition::Eq(k, s(v))
                }
                Value::Array(a) if a[0] == "starts-with" => {
                    Condition::StartsWith(s(&a[1]).strip_prefix('$').unwrap(), s(&a[2]))
                }
                Value::Array(a) => {
                    assert_eq!(a[0], "content-length-range");
                    Condition::ContentLengthRange(a[1].as_u64().unwrap(), a[2].as_u64().unwrap())
                }
                other => panic!("{name}: unexpected condition {other}"),
            })
            .collect();
        let form = signer(i, Service::S3).post_policy(
            &loc,
            &PostPolicyRequest {
                key: s(&i["key"]),
                fields: &fields,
                conditions: &conditions,
                now: now(i),
                expires: Expiry::from_secs(i["expires_in"].as_u64().unwrap()).unwrap(),
            },
        );
        let e = &v["expected"];
        assert_eq!(form.policy_json, s(&e["policy_json"]), "{name}");
        assert_eq!(form.url, s(&e["url"]), "{name}");
        let want: BTreeMap<String, String> = e["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), s(v).to_string()))
            .collect();
        let ours: BTreeMap<String, String> = form.fields.iter().cloned().collect();
        assert_eq!(ours, want, "{name}: fields and values");
        assert_eq!(ours.len(), form.fields.len(), "{name}: no field twice");
        // The order botocore returns (the file's order; serde_json sorts object keys).
        let order: Vec<&str> = form.fields.iter().map(|(k, _)| k.as_str()).collect();
        let mut botocore: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
        botocore.extend(["key", "x-amz-algorithm", "x-amz-credential", "x-amz-date"]);
        if i["session_token"].is_string() {
            botocore.push("x-amz-security-token");
        }
        botocore.extend(["policy", "x-amz-signature"]);
        assert_eq!(order, botocore, "{name}: field order");
    }
}

#[test]
fn sts_assume_role_vectors() {
    let file = load("aws_sts_assume_role.json");
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let name = s(&v["name"]);
        let i = &v["inputs"];
        let p = &i["params"];
        // The policy the vectors carry is exactly what the session-policy builder writes.
        let (bucket, prefix) = ("examplebucket", "uploads/user-1/");
        let policy = sts::session_policy(
            &BucketName::parse(bucket).unwrap(),
            &sts::PolicyPrefix::parse(prefix).unwrap(),
        );
        assert_eq!(policy, s(&p["Policy"]), "{name}");
        let req = signer(i, Service::Sts)
            .assume_role(
                &url::Url::parse(s(&i["url"])).unwrap(),
                &AssumeRole {
                    role_arn: s(&p["RoleArn"]),
                    session_name: s(&p["RoleSessionName"]),
                    duration_secs: s(&p["DurationSeconds"]).parse().unwrap(),
                    policy: &policy,
                    now: now(i),
                },
            )
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&req.body).unwrap(),
            s(&i["body"]),
            "{name}"
        );
        assert_eq!(req.url, s(&i["url"]));
        let e = &v["expected"];
        let want: BTreeMap<String, String> = e["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), s(v).to_string()))
            .collect();
        let ours: BTreeMap<String, String> = req.headers.iter().cloned().collect();
        assert_eq!(ours, want, "{name}: headers and values");
        assert_eq!(ours.len(), req.headers.len(), "{name}: no header twice");
        assert_eq!(ours["Authorization"], s(&e["authorization"]), "{name}");
    }
}

/// The vectors' `canonical_request` / `string_to_sign` were captured after botocore added
/// the `Authorization` header (they contain it), so they are not what was signed. Removing
/// that header must give our canonical request, and our string to sign must be its hash:
/// the signature matching above proves the rest.
#[test]
fn sts_vector_intermediates_are_ours_plus_the_authorization_header() {
    let file = load("aws_sts_assume_role.json");
    for v in file["vectors"].as_array().unwrap() {
        let i = &v["inputs"];
        let e = &v["expected"];
        let signer = signer(i, Service::Sts);
        let host = url::Url::parse(s(&i["url"])).unwrap();
        let host = match host.port() {
            Some(p) => format!("{}:{p}", host.host_str().unwrap()),
            None => host.host_str().unwrap().to_string(),
        };
        let hash = sigv4::sha256_hex(s(&i["body"]).as_bytes());
        let signed = signer
            .sign_headers(&headers::HeaderRequest {
                method: Method::Post,
                host: &host,
                path: "/",
                query: &[],
                headers: &[("Content-Type", sts::CONTENT_TYPE)],
                payload_sha256: &hash,
                now: now(i),
            })
            .unwrap();
        let captured: String = s(&e["canonical_request"])
            .lines()
            .filter(|l| !l.starts_with("authorization:"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("\nauthorization;", "\n");
        assert_eq!(signed.canonical_request, captured);
        let sts_hash = s(&e["string_to_sign"]).rsplit('\n').next().unwrap();
        assert_eq!(
            sts_hash,
            sigv4::sha256_hex(s(&e["canonical_request"]).as_bytes())
        );
        assert!(
            s(&e["authorization"]).ends_with(
                &signer
                    .keys
                    .key_for(&sigv4::AmzDate::new(now(i)))
                    .sign_hex(&signed.string_to_sign)
            )
        );
    }
}
