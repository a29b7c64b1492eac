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
    // What the gateway does with its own keys: the day's signing key comes from the cache.
    let keys = sign_v4::SigningKeyCache::new(creds.access_key_secret, "cn-hangzhou");
    let cached = sign_v4::KeySource::Cached(&keys);
    c.bench_function("oss_v4_presign_put_cached_key", |b| {
        b.iter(|| sign_v4::presign_with(&loc, "cn-hangzhou", creds, cached, black_box(&input)))
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
    c.bench_function("oss_post_policy_v4_cached_key", |b| {
        b.iter(|| {
            post_policy::sign_with(
                SignatureVersion::V4,
                "cn-hangzhou",
                creds,
                cached,
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

/// Callback verification: OSS's pinned 512-bit key (the production case) and a 1024-bit key,
/// over the official doc example and a realistic JSON callback body; `_rsa09` is the same
/// check with the `rsa` 0.9 crate the verifier used before (kept for comparison).
fn verifiers(c: &mut Criterion) {
    use upload_gateway::providers::oss::callback::{body, signature};
    let vectors: serde_json::Value = serde_json::from_str(include_str!(
        "../tests/fixtures/vectors/oss_callback_example.json"
    ))
    .unwrap();
    let doc = &vectors["vectors"][0];
    let key512 = signature::parse_public_key(signature::OSS_PUB_KEY_V1_PEM).unwrap();
    let target = doc["request_target"].as_str().unwrap();
    let body512 = doc["body"].as_str().unwrap().as_bytes();
    let auth512 = doc["headers"]["authorization"].as_str().unwrap();
    assert!(signature::verify(&key512, target, body512, auth512).is_ok());
    c.bench_function("callback_verify_rsa512_md5", |b| {
        b.iter(|| signature::verify(&key512, black_box(target), black_box(body512), auth512))
    });

    let syn = &vectors["synthetic_vectors"][1];
    let key1024 = signature::parse_public_key(
        vectors["synthetic_rsa1024_public_key_pem"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let t = syn["request_target"].as_str().unwrap();
    let b1024 = syn["body"].as_str().unwrap().as_bytes();
    let a1024 = syn["authorization"].as_str().unwrap();
    assert!(signature::verify(&key1024, t, b1024, a1024).is_ok());
    c.bench_function("callback_verify_rsa1024_md5", |b| {
        b.iter(|| signature::verify(&key1024, black_box(t), black_box(b1024), a1024))
    });
    use md5::{Digest, Md5};
    use rsa::Pkcs1v15Sign;
    use upload_gateway::config::parse_public_key;
    for (name, pem, t, body, auth) in [
        (
            "callback_verify_rsa512_md5_rsa09",
            signature::OSS_PUB_KEY_V1_PEM,
            target,
            body512,
            auth512,
        ),
        (
            "callback_verify_rsa1024_md5_rsa09",
            vectors["synthetic_rsa1024_public_key_pem"]
                .as_str()
                .unwrap(),
            t,
            b1024,
            a1024,
        ),
    ] {
        use base64::Engine;
        let key = parse_public_key(pem).unwrap();
        let check = |t: &str, body: &[u8], auth: &str| {
            let sig = base64::engine::general_purpose::STANDARD
                .decode(auth)
                .unwrap();
            let digest = Md5::digest(signature::string_to_sign(t, body));
            key.verify(Pkcs1v15Sign::new::<Md5>(), &digest, &sig)
                .is_ok()
        };
        assert!(check(t, body, auth));
        c.bench_function(name, |b| {
            b.iter(|| check(black_box(t), black_box(body), auth))
        });
    }
    c.bench_function("callback_parse_json_body", |b| {
        b.iter(|| body::parse(Some("application/json"), black_box(b1024)))
    });
}

criterion_group!(benches, signers, primitives, verifiers);
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
