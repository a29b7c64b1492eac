//! S3 signer throughput (issue 14's target: a presign within 3 µs): SigV4 presigned PUT and
//! UploadPart with a cached day key, the same without the cache, POST policy, SNS verify.

use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use std::hint::black_box;
use time::OffsetDateTime;
use upload_gateway::providers::s3::post_policy::{Condition, PostPolicyRequest};
use upload_gateway::providers::s3::sigv4::{AmzDate, SigningKey};
use upload_gateway::providers::s3::sns::{self, SigningCert, SnsEnvelope};
use upload_gateway::providers::s3::sns_cert_url::{CertUrlPolicy, validate_cert_url};
use upload_gateway::providers::s3::{
    BucketName, Credentials, Expiry, PutHeaders, Region, S3Location, Service, Signer, UrlStyle,
};

fn s3(c: &mut Criterion) {
    let creds = Credentials::new(
        "AKIAFAKEACCESSKEY000",
        SecretString::from("FakeSecretAccessKey0000000000000000000000"),
        None,
    )
    .unwrap();
    let region = Region::parse("eu-central-1").unwrap();
    let signer = Signer::new(creds, region.clone(), Service::S3);
    let loc = S3Location::new(
        &url::Url::parse("https://s3.eu-central-1.amazonaws.com").unwrap(),
        BucketName::parse("examplebucket").unwrap(),
        UrlStyle::Virtual,
    )
    .unwrap();
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let exp = Expiry::from_secs(900).unwrap();
    let key = "avatars/user-42/0f8fad5bd9cb469fa16570867728950e.jpg";
    let put = PutHeaders {
        content_type: Some("image/jpeg"),
        content_length: Some(183_920),
        extra: &[],
    };

    c.bench_function("s3_sigv4_presign_put", |b| {
        b.iter(|| {
            signer
                .presign_put(&loc, black_box(key), &put, now, exp)
                .unwrap()
        })
    });
    c.bench_function("s3_sigv4_presign_upload_part", |b| {
        b.iter(|| {
            signer
                .presign_upload_part(
                    &loc,
                    black_box(key),
                    "VXBsb2FkIElE",
                    7,
                    Some(8 << 20),
                    now,
                    exp,
                )
                .unwrap()
        })
    });
    let date = AmzDate::new(now);
    c.bench_function("s3_sigv4_signing_key_derivation", |b| {
        b.iter(|| {
            SigningKey::derive(
                black_box("FakeSecretAccessKey0000000000000000000000"),
                date.day(),
                &region,
                Service::S3,
            )
        })
    });
    let conditions = [
        Condition::Eq("Content-Type", "image/jpeg"),
        Condition::ContentLengthRange(1, 10 << 20),
    ];
    c.bench_function("s3_post_policy", |b| {
        b.iter(|| {
            signer.post_policy(
                &loc,
                &PostPolicyRequest {
                    key: black_box(key),
                    fields: &[("Content-Type", "image/jpeg")],
                    conditions: &conditions,
                    now,
                    expires: exp,
                },
            )
        })
    });

    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/vectors/sns_messages.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let cert =
        SigningCert::from_pem(file["test_certificate_pem"].as_str().unwrap().as_bytes()).unwrap();
    for (name, case) in [("sns_verify_v1", 0), ("sns_verify_v2", 1)] {
        let body = serde_json::to_vec(&file["cases"][case]["message"]).unwrap();
        c.bench_function(name, |b| {
            b.iter(|| {
                let env = SnsEnvelope::parse(black_box(&body)).unwrap();
                let url = validate_cert_url(
                    env.signing_cert_url(),
                    env.topic_arn(),
                    &CertUrlPolicy::default(),
                )
                .unwrap();
                sns::verify(env, &url, &cert).unwrap()
            })
        });
    }
}

criterion_group!(benches, s3);
criterion_main!(benches);
