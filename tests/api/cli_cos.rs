//! `upload-gateway sign cos`: reproduces the cos-python-sdk-v5 vectors from the command line.
//! (tests/e2e/cos_sdk_sign.py checks it against the installed SDK itself.)

use crate::helpers::fixtures;
use serde_json::Value;
use std::process::{Command, Output};

fn sign_cos(keys: (&str, &str), args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upload-gateway"));
    for (k, _) in std::env::vars() {
        if k.starts_with("UPLOAD_GATEWAY") || k.starts_with("COS_") {
            c.env_remove(k);
        }
    }
    c.args(["sign", "cos"])
        .args(args)
        .env("COS_SECRET_ID", keys.0)
        .env("COS_SECRET_KEY", keys.1)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> (String, String) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout.clone())
            .unwrap()
            .trim()
            .to_string(),
        String::from_utf8(out.stderr.clone()).unwrap(),
    )
}

fn vector(name: &str) -> Value {
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("vectors/cos_sign.json")).unwrap(),
    )
    .unwrap();
    file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
        .clone()
}

fn keys(v: &Value) -> (&str, &str) {
    let i = &v["inputs"];
    (
        i["secret_id"].as_str().unwrap(),
        i["secret_key"].as_str().unwrap(),
    )
}

const BASE: [&str; 8] = [
    "--bucket",
    "examplebucket-1250000000",
    "--region",
    "ap-guangzhou",
    "--now",
    "1700000000",
    "--expires-in",
    "3600",
];

#[test]
fn sign_cos_prints_the_sdk_url_and_explains_what_was_signed() {
    let v = vector("put_content_type");
    let out = sign_cos(
        keys(&v),
        &[
            &BASE[..],
            &[
                "--key",
                "uploads/2023/photo.jpg",
                "--header",
                "Content-Type: image/jpeg",
                "--explain",
            ],
        ]
        .concat(),
    );
    let (url, explain) = ok(&out);
    let e = &v["expected"];
    assert_eq!(url, e["url"].as_str().unwrap());
    assert!(
        explain.contains(&format!(
            "--- HttpString\n{}",
            e["http_string"].as_str().unwrap()
        )),
        "{explain}"
    );
    assert!(explain.contains(&format!(
        "--- StringToSign\n{}",
        e["string_to_sign"].as_str().unwrap()
    )));
    assert!(explain.contains("Content-Type: image/jpeg"));
    assert!(!explain.contains(keys(&v).1), "the secret reached stderr");
}

#[test]
fn sign_cos_reproduces_the_part_token_and_unsigned_host_vectors() {
    let v = vector("upload_part");
    let (url, _) = ok(&sign_cos(
        keys(&v),
        &[
            "--bucket",
            "examplebucket-1250000000",
            "--region",
            "ap-guangzhou",
            "--key-time",
            "1699999940;1700003600",
            "--key",
            "uploads/2023/big.bin",
            "--param",
            "partNumber=1",
            "--param",
            "uploadId=1700000000a1b2c3d4e5f60718293a4b5c6d7e8f",
        ],
    ));
    assert_eq!(url, v["expected"]["url"].as_str().unwrap());

    let v = vector("put_sts_token");
    let token = v["inputs"]["signed_params"]["x-cos-security-token"]
        .as_str()
        .unwrap();
    let (url, _) = ok(&sign_cos(
        keys(&v),
        &[
            &BASE[..],
            &[
                "--key",
                "/uploads/2023/photo.jpg",
                "--security-token",
                token,
            ],
        ]
        .concat(),
    ));
    assert_eq!(url, v["expected"]["url"].as_str().unwrap());

    let v = vector("put_no_host");
    let (url, _) = ok(&sign_cos(
        keys(&v),
        &[
            &BASE[..],
            &["--key", "uploads/2023/photo.jpg", "--no-sign-host"],
        ]
        .concat(),
    ));
    assert_eq!(url, v["expected"]["url"].as_str().unwrap());
}

#[test]
fn sign_cos_with_another_secret_gives_another_signature() {
    let v = vector("put_plain");
    let args = [&BASE[..], &["--key", "uploads/2023/photo.jpg"]].concat();
    let (url, _) = ok(&sign_cos(keys(&v), &args));
    assert_eq!(url, v["expected"]["url"].as_str().unwrap());
    let (other, _) = ok(&sign_cos(
        (keys(&v).0, "FakeSecretKey0000000000000000001"),
        &args,
    ));
    assert_ne!(other, url);
}

#[test]
fn sign_cos_refuses_a_bucket_without_appid_and_a_bad_key_time() {
    let out = sign_cos(
        ("id", "secret"),
        &[
            "--bucket",
            "examplebucket",
            "--region",
            "ap-guangzhou",
            "--key",
            "a",
            "--key-time",
            "1;2",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bucket: COS bucket name must be"));
    let out = sign_cos(
        ("id", "secret"),
        &[
            "--bucket",
            "examplebucket-1250000000",
            "--region",
            "ap-guangzhou",
            "--key",
            "a",
            "--key-time",
            "2;1",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key-time '2;1'"));
}
