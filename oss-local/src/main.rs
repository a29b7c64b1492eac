//! `oss-local`: run the local OSS-compatible store.

use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    version,
    about = "A local OSS-compatible object store for development and tests"
)]
struct Args {
    #[arg(long, env = "OSS_LOCAL_LISTEN", default_value = "127.0.0.1:9000")]
    listen: SocketAddr,
    #[arg(long, env = "OSS_LOCAL_DATA_DIR", default_value = "data/oss-local")]
    data_dir: PathBuf,
    #[arg(long, env = "OSS_LOCAL_REGION", default_value = "local")]
    region: String,
    /// Buckets to serve (repeat the flag for more).
    #[arg(
        long = "bucket",
        env = "OSS_LOCAL_BUCKETS",
        value_delimiter = ',',
        default_value = "local-bucket"
    )]
    buckets: Vec<String>,
    /// AccessKeyId:AccessKeySecret (repeat the flag for more).
    #[arg(
        long = "access-key",
        env = "OSS_LOCAL_ACCESS_KEYS",
        value_delimiter = ',',
        required = true
    )]
    access_keys: Vec<String>,
    /// PKCS#1 PEM file of the callback signing key; a bundled development key otherwise.
    #[arg(long, env = "OSS_LOCAL_CALLBACK_KEY_FILE")]
    callback_key_file: Option<PathBuf>,
    /// Also serve the Tencent COS dialect here (same disk and keys, used as SecretId:SecretKey;
    /// its STS stand-in answers TC3-signed POSTs carrying X-TC-Action on the same address).
    #[arg(long, env = "OSS_LOCAL_COS_LISTEN")]
    cos_listen: Option<SocketAddr>,
    /// COS buckets, with the APPID (repeat the flag for more); the Host's first label picks
    /// one, and with a single bucket any Host means it.
    #[arg(
        long = "cos-bucket",
        env = "OSS_LOCAL_COS_BUCKETS",
        value_delimiter = ',',
        default_value = "local-1250000000"
    )]
    cos_buckets: Vec<String>,
    #[arg(long, env = "OSS_LOCAL_COS_REGION", default_value = "ap-guangzhou")]
    cos_region: String,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let mut access_keys = Vec::new();
    for pair in &args.access_keys {
        let (id, secret) = pair.split_once(':').ok_or_else(|| {
            std::io::Error::other("--access-key takes AccessKeyId:AccessKeySecret")
        })?;
        access_keys.push((id.to_string(), secret.to_string()));
    }
    let callback_key_pem = args
        .callback_key_file
        .map(std::fs::read_to_string)
        .transpose()?;
    let running = oss_local::start(oss_local::Config {
        listen: args.listen,
        data_dir: args.data_dir,
        region: args.region,
        buckets: args.buckets,
        access_keys,
        callback_key_pem,
    })
    .await?;
    tracing::info!(url = %running.base_url(), key = %running.store.key_url(), "oss-local listening");
    let Some(listen) = args.cos_listen else {
        return running.server.await;
    };
    let cos = oss_local::cos::start(
        running.store.clone(),
        oss_local::cos::CosConfig {
            listen,
            buckets: args.cos_buckets,
            region: args.cos_region,
        },
    )
    .await?;
    tracing::info!(port = cos.port, "oss-local COS listener");
    let (a, b) = tokio::join!(running.server, cos.server);
    a.and(b)
}
