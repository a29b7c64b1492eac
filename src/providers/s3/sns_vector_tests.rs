//! Every case of `sns_messages.json`: the valid messages verify (and their string to sign is
//! the vector's), each forged one is refused with the error it deserves.

use super::s3_event::{self, S3Event};
use super::sns::{MessageType, SigningCert, SnsEnvelope, SnsError, verify};
use super::sns_cert_url::{CertUrlPolicy, validate_cert_url};
use serde_json::Value;

fn load() -> Value {
    let path = format!(
        "{}/tests/fixtures/vectors/sns_messages.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Parse, validate the certificate URL, verify: the order the receiver must follow.
fn check(body: &[u8], cert: &SigningCert) -> Result<super::sns::VerifiedSnsMessage, SnsError> {
    let env = SnsEnvelope::parse(body)?;
    let url = validate_cert_url(
        env.signing_cert_url(),
        env.topic_arn(),
        &CertUrlPolicy::default(),
    )?;
    verify(env, &url, cert)
}

fn expected_refusal(name: &str) -> SnsError {
    match name {
        "tampered_message" | "tampered_topic" | "version_swapped" => SnsError::SignatureInvalid,
        "cert_url_s3_bucket_named_sns" | "cert_url_other_region" | "cert_url_evil_suffix" => {
            SnsError::CertUrlHost
        }
        "cert_url_http" => SnsError::CertUrlScheme,
        "cert_url_userinfo" => SnsError::CertUrlUserinfo,
        "cert_url_not_pem" => SnsError::CertUrlPath,
        "signature_missing" => SnsError::SignatureMissing,
        other => panic!("a forged case without an expected refusal: {other}"),
    }
}

#[test]
fn every_sns_vector_is_accepted_or_refused_as_it_should_be() {
    let file = load();
    let cert =
        SigningCert::from_pem(file["test_certificate_pem"].as_str().unwrap().as_bytes()).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    let (mut valid, mut forged) = (0, 0);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let body = serde_json::to_vec(&c["message"]).unwrap();
        if c["valid"].as_bool().unwrap() {
            let env = SnsEnvelope::parse(&body).unwrap();
            assert_eq!(
                env.string_to_sign(),
                c["string_to_sign"].as_str().unwrap(),
                "{name}"
            );
            let m = check(&body, &cert).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(m.topic_arn().as_str(), file["topic_arn"].as_str().unwrap());
            assert_eq!(m.subject(), c["message"]["Subject"].as_str(), "{name}");
            valid += 1;
        } else {
            let got = check(&body, &cert).err();
            assert_eq!(got, Some(expected_refusal(name)), "{name}");
            forged += 1;
        }
    }
    assert_eq!((valid, forged), (5, 10));
}

#[test]
fn a_verified_notification_yields_the_decoded_s3_record() {
    let file = load();
    let cert =
        SigningCert::from_pem(file["test_certificate_pem"].as_str().unwrap().as_bytes()).unwrap();
    let body = serde_json::to_vec(&file["cases"][0]["message"]).unwrap();
    let m = check(&body, &cert).unwrap();
    assert_eq!(m.kind(), MessageType::Notification);
    let S3Event::Records(records) = s3_event::parse(m.message()).unwrap() else {
        panic!("records expected")
    };
    assert_eq!(records[0].key, "uploads/user-1/目录/photo 1.jpg");
    assert_eq!(records[0].bucket, "examplebucket");
    assert_eq!(records[0].size, Some(12345));
}

#[test]
fn confirmations_keep_token_and_raw_or_odd_bodies_are_refused() {
    let file = load();
    let cert =
        SigningCert::from_pem(file["test_certificate_pem"].as_str().unwrap().as_bytes()).unwrap();
    let sub = &file["cases"][3];
    let m = check(&serde_json::to_vec(&sub["message"]).unwrap(), &cert).unwrap();
    assert_eq!(m.kind(), MessageType::SubscriptionConfirmation);
    assert_eq!(m.token(), sub["message"]["Token"].as_str());

    // Dropping Token from a confirmation is a missing field, not a shorter string to sign.
    let mut no_token = sub["message"].clone();
    no_token.as_object_mut().unwrap().remove("Token");
    let err = check(&serde_json::to_vec(&no_token).unwrap(), &cert).unwrap_err();
    assert_eq!(err, SnsError::MissingField("Token"));

    let raw = file["cases"][0]["message"]["Message"].as_str().unwrap();
    assert_eq!(
        check(raw.as_bytes(), &cert).unwrap_err(),
        SnsError::RawDelivery
    );
    assert_eq!(check(b"not json", &cert).unwrap_err(), SnsError::Malformed);

    // A certificate validated for one URL does not verify a message naming another.
    let env =
        SnsEnvelope::parse(&serde_json::to_vec(&file["cases"][0]["message"]).unwrap()).unwrap();
    let other = validate_cert_url(
        "https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-b.pem",
        env.topic_arn(),
        &CertUrlPolicy::default(),
    )
    .unwrap();
    assert_eq!(
        verify(env, &other, &cert).unwrap_err(),
        SnsError::CertUrlMismatch
    );
    assert_eq!(
        SigningCert::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .unwrap_err(),
        SnsError::Certificate
    );
}

#[test]
fn error_codes_are_distinct() {
    let all = [
        SnsError::Malformed,
        SnsError::RawDelivery,
        SnsError::UnknownType,
        SnsError::MissingField("x"),
        SnsError::SignatureVersion,
        SnsError::SignatureMissing,
        SnsError::SignatureEncoding,
        SnsError::SignatureInvalid,
        SnsError::TopicArn,
        SnsError::CertUrlScheme,
        SnsError::CertUrlUserinfo,
        SnsError::CertUrlPort,
        SnsError::CertUrlHost,
        SnsError::CertUrlPath,
        SnsError::CertUrlSyntax,
        SnsError::CertUrlMismatch,
        SnsError::Certificate,
    ];
    let codes: std::collections::BTreeSet<&str> = all.iter().map(SnsError::code).collect();
    assert_eq!(codes.len(), all.len());
}
