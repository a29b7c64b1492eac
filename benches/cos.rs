//! COS signer throughput (issue 14's targets: q-sign presign and PostObject <= 3 us): presigned
//! PUT, UploadPart, PostObject policy, and TC3 signing of an STS GetFederationToken request.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use upload_gateway::providers::cos::post_policy::{
    self, ContentTypeCondition, KeyCondition, PolicyInput,
};
use upload_gateway::providers::cos::presign::{UploadOp, UploadRequest, presign_upload};
use upload_gateway::providers::cos::sts::{self, StsPolicyInput};
use upload_gateway::providers::cos::{BucketName, CosLocation, Credentials, KeyTime, tc3};

const NOW: i64 = 1_700_000_000;
const KEY: &str = "avatars/user-42/0f8fad5bd9cb469fa16570867728950e.jpg";

fn cos(c: &mut Criterion) {
    let bucket = BucketName::parse("examplebucket-1250000000").unwrap();
    let loc = CosLocation::new(bucket.clone(), "ap-guangzhou").unwrap();
    let creds = Credentials {
        secret_id: "AKIDFakeSecretId000000000000000000000",
        secret_key: "FakeSecretKey0000000000000000000",
        security_token: None,
    };
    let key_time = KeyTime::around(NOW, 900, 60);

    // What the gateway signs for a presign right: type and length pinned, host signed.
    let put = UploadRequest {
        op: UploadOp::Put,
        key: KEY,
        content_type: Some("image/jpeg"),
        content_md5: None,
        content_length: Some(48_213),
        extra_headers: &[],
        key_time,
    };
    c.bench_function("cos_qsign_presign_put", |b| {
        b.iter(|| presign_upload(&loc, creds, black_box(&put)))
    });

    let part = UploadRequest {
        op: UploadOp::UploadPart {
            upload_id: "1700000000a1b2c3d4e5f60718293a4b5c6d7e8f",
            part_number: 17,
        },
        content_type: None,
        content_length: Some(8 << 20),
        ..put
    };
    c.bench_function("cos_qsign_presign_upload_part", |b| {
        b.iter(|| presign_upload(&loc, creds, black_box(&part)))
    });

    let fields = [(
        "x-cos-meta-upload-id",
        "0190c1f2-7b3a-7c4d-9e5f-0a1b2c3d4e5f",
    )];
    let policy = PolicyInput {
        key: KeyCondition::Exact(KEY),
        content_type: ContentTypeCondition::Exact("image/jpeg"),
        min_size: 1,
        max_size: 10 << 20,
        success_action_status: Some(201),
        fields: &fields,
        key_time,
    };
    c.bench_function("cos_post_policy", |b| {
        b.iter(|| post_policy::sign(&loc, creds, black_box(&policy)))
    });

    let grant = sts::policy_json(&StsPolicyInput {
        region: "ap-guangzhou",
        bucket: &bucket,
        prefix: "avatars/user-42/",
        allow_append: false,
        content_types: &["image/*"],
        max_size: Some(10 << 20),
    })
    .unwrap();
    let body = tc3::federation_token_body("ugw-user-42", &grant, 1800);
    let req = tc3::Tc3Request {
        service: "sts",
        host: tc3::STS_HOST,
        action: "GetFederationToken",
        version: tc3::STS_VERSION,
        region: "ap-guangzhou",
        content_type: tc3::JSON,
        payload: &body,
        timestamp: NOW,
    };
    c.bench_function("cos_sts_tc3_sign", |b| {
        b.iter(|| tc3::sign(creds.secret_id, creds.secret_key, None, black_box(&req)))
    });
}

criterion_group!(benches, cos);
criterion_main!(benches);
