//! Prepares a callback load run: creates N issued upload records in the gateway's Redis (as
//! the presign route would) and writes N callbacks for them, signed as OSS signs, one per
//! line (`target \t authorization \t key-url-b64 \t body`) for `scripts/load/callbacks.lua`.
//!
//! cargo run --release --example callback_load_fixture -- CONFIG N OUT [KEY_PEM KEY_URL]
//!
//! Signed with the 1024-bit test key by default; KEY_PEM (PKCS#1) and the URL the gateway
//! pins its public half under select another, such as a 512-bit key like OSS's own.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use std::io::Write;
use std::sync::Arc;
use time::OffsetDateTime;
use upload_gateway::config::Settings;
use upload_gateway::domain::ticket::{self, TicketScope};
use upload_gateway::domain::{RecordTarget, UploadId, UploadKind, UploadRecord, UserId};
use upload_gateway::metrics::Metrics;
use upload_gateway::store::Store;

pub const KEY_URL: &str = "http://keys.load.test/callback_test_key.pem";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (config, n, out) = (&args[1], args[2].parse::<usize>().unwrap(), &args[3]);
    let settings = Settings::load(Some(std::path::Path::new(config))).unwrap();
    let store = Store::new(&settings.redis, Arc::new(Metrics::new())).unwrap();
    let (pem_path, key_url) = match (args.get(4), args.get(5)) {
        (Some(p), Some(u)) => (p.as_str(), u.as_str()),
        _ => (
            "tests/fixtures/vectors/synthetic_callback_rsa1024.pem",
            KEY_URL,
        ),
    };
    let pem = std::fs::read_to_string(pem_path).unwrap();
    // Signed exactly as oss-local signs its callbacks (RSA/MD5 over target, newline, body).
    let key = oss_local::callback::Signer::from_pem(Some(&pem)).unwrap();
    let profile = settings
        .profile("avatars")
        .expect("profile avatars")
        .clone();
    let secret = settings.ticket_secret.expose_secret().as_bytes().to_vec();
    let target = settings.callbacks.url.path().to_string();
    let user = UserId::parse("load-user").unwrap();
    let now = OffsetDateTime::now_utc();

    let lines: Vec<String> = futures_util::stream::iter(0..n)
        .map(|i| {
            let (store, profile, user, secret, key, target) =
                (&store, &profile, &user, &secret, &key, &target);
            async move {
                let id = UploadId::new();
                let object = format!("avatars/load-user/{i:08}.png");
                let rec = UploadRecord::issued(
                    id.clone(),
                    user.clone(),
                    UploadKind::Presign,
                    RecordTarget {
                        profile: &profile.name,
                        provider: "oss",
                        bucket: &profile.bucket.bucket,
                        key: &object,
                    },
                    now,
                    now + profile.expires_in,
                );
                store.create_record(&rec).await.unwrap();
                let t = ticket::issue(
                    secret,
                    user.as_str(),
                    &TicketScope::Object { upload_id: id.as_str(), key: &object, declared_size: None },
                );
                let body = serde_json::json!({
                    "bucket": profile.bucket.bucket, "object": object, "etag": "5B3C1A2E0F", "size": 1024,
                    "mimeType": "image/png", "crc64": "1234567890", "x:upload_id": id.as_str(), "x:ticket": t,
                })
                .to_string();
                format!(
                    "{target}\t{}\t{}\t{body}",
                    key.sign(target, body.as_bytes()),
                    STANDARD.encode(key_url)
                )
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).unwrap());
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    eprintln!("{n} issued uploads and signed callbacks written to {out}");
}
