//! Garage, a real S3 server, for the S3 signer tests: one single-node instance per test on
//! free loopback ports, with a key and a bucket, killed on drop.
//!
//! The binary comes from `GARAGE_BIN` (set by `scripts/test.sh`, which builds it once into
//! its cache). Without it the tests FAIL, so a run that silently lost its S3 server cannot
//! pass; `UPLOAD_GATEWAY_SKIP_GARAGE=1` is the explicit way to run without them.

use crate::helpers::{free_port, spawn_tied};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use upload_gateway::providers::s3::{
    BucketName, Credentials, Region, S3Location, Service, SignedRequest, Signer, UrlStyle,
};

pub const REGION: &str = "us-east-1";
pub const BUCKET: &str = "gateway-tests";
pub const ACCESS_KEY: &str = "GKtestgarage00000000000a";
// Listed in tests/fixtures/log-forbidden.txt, like every test secret.
pub const SECRET_KEY: &str = "TestGarageSecretKey000000000000000000000000000000000000000000000";

pub struct Garage {
    pub endpoint: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn garage_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("GARAGE_BIN") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "GARAGE_BIN={} does not exist", p.display());
        return Some(p);
    }
    if std::env::var("UPLOAD_GATEWAY_SKIP_GARAGE").as_deref() == Ok("1") {
        eprintln!("UPLOAD_GATEWAY_SKIP_GARAGE=1: skipping a Garage test");
        return None;
    }
    panic!(
        "the Garage tests need GARAGE_BIN (run scripts/test.sh, which builds garage 2.5.0 once \
         into ~/.cache/upload-gateway), or set UPLOAD_GATEWAY_SKIP_GARAGE=1 to skip them"
    );
}

impl Garage {
    pub fn location(&self) -> S3Location {
        S3Location::new(
            &url::Url::parse(&self.endpoint).unwrap(),
            BucketName::parse(BUCKET).unwrap(),
            UrlStyle::Path,
        )
        .unwrap()
    }

    pub fn signer(&self) -> Signer {
        signer_with(SECRET_KEY)
    }
}

pub fn signer_with(secret: &str) -> Signer {
    let creds = Credentials::new(ACCESS_KEY, secret.to_string().into(), None).unwrap();
    Signer::new(creds, Region::parse(REGION).unwrap(), Service::S3)
}

/// `None` only when skipping was asked for explicitly.
pub async fn spawn_garage() -> Option<Garage> {
    let bin = garage_bin()?;
    let dir = tempfile::tempdir().unwrap();
    let (s3_port, rpc_port) = (free_port(), free_port());
    let secret_file = dir.path().join("rpc_secret");
    std::fs::write(&secret_file, "4b".repeat(32)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.path().join("garage.toml");
    std::fs::write(
        &config,
        format!(
            r#"metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret_file = "{secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
"#,
            d = dir.path().display(),
            secret = secret_file.display(),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("garage.log")).unwrap();
    let mut cmd = Command::new(bin);
    cmd.arg("-c")
        .arg(&config)
        .args(["server", "--single-node", "--default-bucket"])
        .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY)
        .env("GARAGE_DEFAULT_SECRET_KEY", SECRET_KEY)
        .env("GARAGE_DEFAULT_BUCKET", BUCKET)
        .env("RUST_LOG", "garage=warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let garage = Garage {
        endpoint: format!("http://127.0.0.1:{s3_port}"),
        child: spawn_tied(cmd),
        _dir: dir,
    };
    // Ready when a signed HEAD of a missing object gets a 404: the API is up, and the key
    // and bucket exist (before that: refused connections, then 403s).
    let (loc, signer) = (garage.location(), garage.signer());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let head = signer
            .head_object(&loc, "readiness-probe", time::OffsetDateTime::now_utc())
            .unwrap();
        if let Ok(r) = send(&head).await
            && r.status() == 404
        {
            return Some(garage);
        }
        let log =
            std::fs::read_to_string(garage._dir.path().join("garage.log")).unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "garage did not become ready:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends a header-signed request as is.
pub async fn send(req: &SignedRequest) -> reqwest::Result<reqwest::Response> {
    let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes()).unwrap();
    let mut r = client().request(method, &req.url);
    for (k, v) in &req.headers {
        r = r.header(k, v);
    }
    r.body(req.body.clone()).send().await
}

pub fn client() -> reqwest::Client {
    upload_gateway::http_client::builder().build().unwrap()
}
