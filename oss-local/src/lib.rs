//! oss-local: an OSS-compatible object store for development and tests.
//!
//! It speaks the part of the OSS REST API the gateway and its clients use (path-style
//! addressing: `http://host:port/<bucket>/<key>`), checks every request's signature the way
//! OSS does, keeps objects on local disk, and sends upload callbacks signed with its own RSA
//! key, whose public half it serves at `/_oss-local/callback-key.pem`. It is never part of a
//! production deployment: the gateway does not link it.
//!
//! Layout: the shared core (`store`, `disk`, `form`, `callback`, `http`, `xml`, `error`) holds
//! what any object store needs; `oss` is the OSS dialect (signatures, headers, error XML,
//! limits, STS), and `cos` the Tencent COS one, served on its own listener over the same disk.

pub mod callback;
pub mod cos;
pub mod disk;
pub mod error;
pub mod form;
pub mod http;
pub mod oss;
pub mod store;
pub mod xml;

pub use store::{Stats, Store, TempCredential};

use actix_web::{App, HttpServer, web};
use disk::Disk;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where the public key of the callback signer is served.
pub const KEY_PATH: &str = "/_oss-local/callback-key.pem";
/// Where the STS AssumeRole stand-in answers (the gateway's `sts.endpoint` in local runs).
pub const STS_PATH: &str = "/_oss-local/sts/";
pub(crate) const MAX_BODY: usize = 1 << 30;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub buckets: Vec<String>,
    /// Long-lived keys: (AccessKeyId, AccessKeySecret).
    pub access_keys: Vec<(String, String)>,
    /// PKCS#1 PEM of the callback signing key; the bundled development key when unset.
    pub callback_key_pem: Option<String>,
}

pub struct Running {
    pub port: u16,
    pub store: Arc<Store>,
    pub server: actix_web::dev::Server,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Binds and returns the server (not yet polled: spawn or await `server`).
pub async fn start(config: Config) -> std::io::Result<Running> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let disk = Disk::new(config.data_dir.clone());
    for b in &config.buckets {
        disk.ensure_bucket(b).await?;
    }
    let signer = callback::Signer::from_pem(config.callback_key_pem.as_deref())
        .map_err(std::io::Error::other)?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)?;
    let store = Arc::new(Store {
        keys: config.access_keys.iter().cloned().collect(),
        disk,
        temp: Mutex::default(),
        signer,
        http,
        stats: Stats::default(),
        base_url: Mutex::new(String::new()),
        config: config.clone(),
    });
    let data = web::Data::from(store.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .default_service(web::to(oss::handle))
    })
    .workers(2)
    .bind(config.listen)?;
    let port = server.addrs()[0].port();
    *store.base_url.lock().unwrap() = format!("http://{}:{port}", config.listen.ip());
    Ok(Running {
        port,
        store,
        server: server.run(),
    })
}
