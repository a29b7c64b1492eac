//! A loopback HTTPS server standing in for `sns.<region>.amazonaws.com`: it serves the
//! vectors' test signing certificate and answers ConfirmSubscription, with a certificate
//! from a throwaway CA (`tests/fixtures/sns_tls`). The gateway reaches it through
//! `callbacks.s3_sns.resolve` (every host a vector names points here) and trusts it through
//! `ca_file`, so the vectors travel unmodified. It counts every TCP connection, so a test
//! can prove that a certificate URL off the allow-list was never fetched.
//!
//! Also: signing SNS messages with the vectors' test key, and the SNS section for a config.

use crate::helpers::fixtures;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use upload_gateway::config::raw::{RawSettings, S3SnsSection};

pub fn vectors() -> Value {
    let text = std::fs::read_to_string(fixtures().join("vectors/sns_messages.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every host some vector's SigningCertURL or SubscribeURL names.
pub const HOSTS: &[&str] = &[
    "sns.eu-central-1.amazonaws.com",
    "sns.us-east-1.amazonaws.com",
    "sns.s3.eu-central-1.amazonaws.com",
    "sns.eu-central-1.amazonaws.com.evil.example",
    "evil.example",
];

pub struct SnsStandIn {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl SnsStandIn {
    pub async fn start() -> SnsStandIn {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let dir = fixtures().join("sns_tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("server.pem"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests: Arc<Mutex<Vec<String>>> = Default::default();
        let pem = vectors()["test_certificate_pem"]
            .as_str()
            .unwrap()
            .to_string();
        let (conns, log) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                let (acceptor, log, pem) = (acceptor.clone(), log.clone(), pem.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let line = text.lines().next().unwrap_or("").to_string();
                    let path = line.split(' ').nth(1).unwrap_or("").to_string();
                    let host = text
                        .lines()
                        .find_map(|l| l.strip_prefix("host: ").or(l.strip_prefix("Host: ")))
                        .unwrap_or("");
                    log.lock().unwrap().push(format!("{line} host={host}"));
                    if path.contains("slow") {
                        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    }
                    let resp = respond(&path, &pem, port);
                    let _ = tls.write_all(&resp).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        SnsStandIn {
            port,
            connections,
            requests,
        }
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// `<request line> host=<Host header>` of each request (paths may carry a confirmation
    /// token: test data only).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// `[callbacks.s3_sns]` pointing every vector host here, trusting the test CA.
    pub fn configure(&self, raw: &mut RawSettings, topics: &[&str]) {
        let resolve: BTreeMap<String, String> = HOSTS
            .iter()
            .map(|h| (h.to_string(), format!("127.0.0.1:{}", self.port)))
            .collect();
        raw.callbacks.s3_sns = Some(S3SnsSection {
            topic_arns: topics.iter().map(|t| t.to_string()).collect(),
            ca_file: Some(fixtures().join("sns_tls/ca.pem")),
            resolve,
            ..S3SnsSection::default()
        });
    }
}

fn respond(path: &str, pem: &str, port: u16) -> Vec<u8> {
    let answer = |status: &str, extra: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    if path.starts_with("/?Action=ConfirmSubscription&") && path.ends_with("Token=failtoken") {
        return answer("500 Internal Server Error", "", "<ErrorResponse/>");
    }
    if path.starts_with("/?Action=ConfirmSubscription&") {
        return answer(
            "200 OK",
            "Content-Type: text/xml\r\n",
            "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ConfirmSubscriptionResult><SubscriptionArn>arn:aws:sns:eu-central-1:123456789012:upload-events:6b0e71bd-7e97-4d97-80ce-4a0994e55286</SubscriptionArn></ConfirmSubscriptionResult></ConfirmSubscriptionResponse>",
        );
    }
    if !(path.starts_with("/SimpleNotificationService-") && path.ends_with(".pem")) {
        return answer("404 Not Found", "", "");
    }
    if path.contains("redirect") {
        let to = format!(
            "Location: https://127.0.0.1:{port}/SimpleNotificationService-0000000000000000000000000000000a.pem\r\n"
        );
        return answer("302 Found", &to, "");
    }
    if path.contains("big") {
        return answer("200 OK", "", &format!("{pem}{}", "x".repeat(64 * 1024)));
    }
    answer("200 OK", "Content-Type: application/x-pem-file\r\n", pem)
}

/// Signs `message` (an SNS message object) with the vectors' test key, as SNS would:
/// the string to sign is the gateway's own (itself checked against every vector).
pub fn sign(message: &mut Value) {
    use rsa::pkcs8::DecodePrivateKey;
    use sha2::Digest;
    let file = vectors();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(
        file["test_private_key_pem_for_building_more_cases"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    message["Signature"] = "AA==".into();
    let body = serde_json::to_vec(message).unwrap();
    let text = upload_gateway::providers::s3::sns::SnsEnvelope::parse(&body)
        .unwrap()
        .string_to_sign();
    let sig = match message["SignatureVersion"].as_str() {
        Some("2") => key.sign(
            rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(text.as_bytes()),
        ),
        _ => key.sign(
            rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
            &sha1::Sha1::digest(text.as_bytes()),
        ),
    }
    .unwrap();
    message["Signature"] = base64::engine::general_purpose::STANDARD.encode(sig).into();
}

/// An SNS Notification carrying `s3_event` (the S3 event JSON), signed with the test key.
pub fn notification(s3_event: &Value, message_id: &str) -> Value {
    let file = vectors();
    let mut m = file["cases"][0]["message"].clone();
    m["Message"] = s3_event.to_string().into();
    m["MessageId"] = message_id.into();
    sign(&mut m);
    m
}

/// The S3 event of one created object, as S3 writes it (key form-encoded).
pub fn s3_created(bucket: &str, key: &str, size: u64, etag: &str, minio: bool) -> Value {
    let encoded: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    // S3 leaves '/' unescaped in keys.
    let encoded = encoded.replace("%2F", "/");
    let name = if minio {
        "s3:ObjectCreated:Put"
    } else {
        "ObjectCreated:Put"
    };
    let record = serde_json::json!({
        "eventVersion": "2.1",
        "eventSource": if minio { "minio:s3" } else { "aws:s3" },
        "eventName": name,
        "s3": {
            "bucket": {"name": bucket},
            "object": {"key": encoded, "size": size, "eTag": etag, "sequencer": "0065540A6F2B1C3D4E"},
        },
    });
    if minio {
        serde_json::json!({"EventName": name, "Key": format!("{bucket}/{key}"), "Records": [record]})
    } else {
        serde_json::json!({"Records": [record]})
    }
}
