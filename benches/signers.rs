//! Signer throughput: V1 and V4 presign, PostObject policy, STS request signing.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use time::OffsetDateTime;
use upload_gateway::config::{SignatureVersion, UrlStyle};
use upload_gateway::providers::oss::location::BucketLocation;
use upload_gateway::providers::oss::post_policy::{
    self, ContentTypeCondition, KeyCondition, PolicyInput,
};
use upload_gateway::providers::oss::presign::{Credentials, PresignInput};
use upload_gateway::providers::oss::{sign_v1, sign_v4, sts};

fn signers(c: &mut Criterion) {
    let loc = BucketLocation::new(
        "https",
        "oss-cn-hangzhou.aliyuncs.com",
        "examplebucket",
        UrlStyle::VirtualHosted,
    );
    let creds = Credentials {
        access_key_id: "LTAI5tFakeAccessKeyId000",
        access_key_secret: "FakeAccessKeySecret0000000000000",
        security_token: None,
    };
    let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
    let headers = vec![("Content-Type".to_string(), "image/jpeg".to_string())];
    let input = PresignInput {
        method: "PUT",
        key: "avatars/user-42/0f8fad5bd9cb469fa16570867728950e.jpg",
        headers: &headers,
        additional_headers: &[],
        params: &[],
        now,
        expires_in: 900,
    };
    c.bench_function("oss_v1_presign_put", |b| {
        b.iter(|| sign_v1::presign(&loc, creds, black_box(&input), true))
    });
    c.bench_function("oss_v4_presign_put", |b| {
        b.iter(|| sign_v4::presign(&loc, "cn-hangzhou", creds, black_box(&input)))
    });

    let fields = vec![("success_action_status".to_string(), "200".to_string())];
    let policy = PolicyInput {
        bucket: "examplebucket",
        key: KeyCondition::Exact("avatars/user-42/0f8fad5bd9cb469fa16570867728950e.jpg"),
        content_type: ContentTypeCondition::Exact("image/jpeg"),
        min_size: 1,
        max_size: 10 << 20,
        fields: &fields,
        expiration: now + std::time::Duration::from_secs(900),
    };
    c.bench_function("oss_post_policy_v4", |b| {
        b.iter(|| {
            post_policy::sign(
                SignatureVersion::V4,
                "cn-hangzhou",
                creds,
                black_box(&policy),
                now,
            )
        })
    });
    c.bench_function("oss_post_policy_v1", |b| {
        b.iter(|| {
            post_policy::sign(
                SignatureVersion::V1,
                "cn-hangzhou",
                creds,
                black_box(&policy),
                now,
            )
        })
    });

    let sts_input = sts::AssumeRoleInput {
        access_key_id: "LTAI5tFakeAccessKeyId000",
        role_arn: "acs:ram::1234567890123456:role/upload-gateway",
        session_name: "ugw-0123456789abcdef01234567",
        duration_secs: 3600,
        policy: &sts::inline_policy("examplebucket", "avatars/user-42/"),
        now,
        nonce: "5e9c3a1e-2f0b-4c55-9a55-1d3e8f0b7a21",
    };
    c.bench_function("sts_assume_role_sign", |b| {
        b.iter(|| sts::signed_params(black_box(&sts_input), "FakeAccessKeySecret0000000000000"))
    });
}

criterion_group!(benches, signers, primitives);
criterion_main!(benches);

fn primitives(c: &mut Criterion) {
    let data = "PUT\n\nimage/jpeg\n1700003600\n/examplebucket/avatars/user-42/0f8fad5bd9cb469fa16570867728950e.jpg";
    c.bench_function("primitive_hmac_sha1", |b| {
        b.iter(|| sign_v1::hmac_sha1_base64("FakeAccessKeySecret0000000000000", black_box(data)))
    });
    c.bench_function("primitive_v4_signing_key", |b| {
        b.iter(|| {
            sign_v4::signing_key(
                black_box("FakeAccessKeySecret0000000000000"),
                "20231114",
                "cn-hangzhou",
            )
        })
    });
}
