//! `upload-gateway sign s3` reproduces botocore's presigned URLs from the same inputs.

use crate::helpers::fixtures;
use serde_json::Value;
use std::process::{Command, Output};

const AK: &str = "AKIAFAKEACCESSKEY000";
const SK: &str = "FakeSecretAccessKey0000000000000000000000";

fn sign_s3(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upload-gateway"))
        .args(["sign", "s3"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", AK)
        .env("AWS_SECRET_ACCESS_KEY", SK)
        .output()
        .unwrap()
}

#[test]
fn sign_s3_reproduces_every_botocore_presign_vector() {
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("vectors/s3_sigv4_presign.json")).unwrap(),
    )
    .unwrap();
    for v in file["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let i = &v["inputs"];
        let p = &i["params"];
        let mut args: Vec<String> = [
            "--method",
            i["http_method"].as_str().unwrap(),
            "--endpoint",
            i["endpoint"].as_str().unwrap(),
            "--bucket",
            p["Bucket"].as_str().unwrap(),
            "--key",
            p["Key"].as_str().unwrap(),
            "--region",
            i["region"].as_str().unwrap(),
            "--now",
            "1700000000",
            "--expires-in",
            "3600",
            "--explain",
        ]
        .map(String::from)
        .to_vec();
        if name.contains("path_style") {
            args.extend(["--url-style".into(), "path".into()]);
        }
        if let Some(ct) = p["ContentType"].as_str() {
            args.extend(["--content-type".into(), ct.into()]);
        }
        if let Some(t) = i["session_token"].as_str() {
            args.extend(["--session-token".into(), t.into()]);
        }
        if let Some(n) = p["PartNumber"].as_u64() {
            args.extend(["--param".into(), format!("partNumber={n}")]);
            let id = p["UploadId"].as_str().unwrap();
            args.extend(["--param".into(), format!("uploadId={id}")]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = sign_s3(&refs);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(out.status.success(), "{name}: {stderr}");
        let e = &v["expected"];
        assert_eq!(
            String::from_utf8(out.stdout).unwrap().trim_end(),
            e["url"].as_str().unwrap(),
            "{name}"
        );
        assert!(
            stderr.contains(e["canonical_request"].as_str().unwrap()),
            "{name}"
        );
        assert!(
            stderr.contains(e["string_to_sign"].as_str().unwrap()),
            "{name}"
        );
    }
}

#[test]
fn sign_s3_expires_at_is_relative_to_now_and_bad_input_is_named() {
    let base = [
        "--endpoint",
        "http://127.0.0.1:9000",
        "--url-style",
        "path",
        "--bucket",
        "examplebucket",
        "--key",
        "uploads/2023/photo.jpg",
        "--region",
        "us-east-1",
        "--now",
        "1700000000",
    ];
    let out = sign_s3(&[&base[..], &["--expires-at", "1700003600"]].concat());
    assert!(out.status.success());
    let url = String::from_utf8(out.stdout).unwrap();
    assert!(url.contains("X-Amz-Expires=3600&"), "{url}");
    // No --explain: nothing signed reaches stderr.
    assert!(out.stderr.is_empty());

    let refused = |extra: &[&str]| {
        let out = sign_s3(&[&base[..], extra].concat());
        assert!(!out.status.success(), "{extra:?}");
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).unwrap()
    };
    let err = refused(&[
        "--expires-in",
        "60",
        "--header",
        "x-amz-checksum-crc32: AAAAAA==",
    ]);
    assert!(err.contains("checksums"), "{err}");
    let err = refused(&["--expires-in", "604801"]);
    assert!(err.contains("604800"), "{err}");
    let err = refused(&["--expires-at", "1699999999"]);
    assert!(err.contains("before --now"), "{err}");
}
