// Shared by every test module; not each module uses every helper.
#![allow(dead_code)]

//! Test harness: a real `redis-server` on a free loopback port (one per test binary, plus
//! private ones for tests that stop Redis), and the real gateway on port 0 against it.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};
use upload_gateway::config::Settings;
use upload_gateway::config::raw::{LogFormat, RawSettings};
use upload_gateway::startup::Application;

// Every secret the tests configure. `tests/fixtures/log-forbidden.txt` lists them too, and the
// test script fails the run when any of them appears in the captured logs.
pub const HS256_SECRET: &str = "test-hs256-secret-0123456789-abcdefghij";
pub const API_KEY: &str = "test-api-key-ZK4q9w2Lm7Xv";
pub const TICKET_SECRET: &str = "test-ticket-secret-7f3a9c2e";
pub const OSS_ACCESS_KEY_SECRET: &str = "TestOssAccessKeySecret00000000000";
pub const ISSUER: &str = "https://auth.test.local/";
pub const AUDIENCE: &str = "upload-gateway-tests";

pub fn forbidden_in_logs() -> Vec<String> {
    let path = fixtures().join("log-forbidden.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------- logs

/// Where this test binary's logs go (always captured; printed too when TEST_LOG is set).
pub fn log_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("api-{}.log", std::process::id()))
}

fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let file = std::fs::File::create(log_path()).unwrap();
        let file = Mutex::new(file);
        // Debug level: the secret check should see everything the service could ever print.
        if std::env::var_os("TEST_LOG").is_some() {
            use tracing_subscriber::fmt::writer::MakeWriterExt;
            upload_gateway::telemetry::init(LogFormat::Json, "debug", file.and(std::io::stdout))
                .unwrap();
        } else {
            upload_gateway::telemetry::init(LogFormat::Json, "debug", file).unwrap();
        }
    });
}

// ---------------------------------------------------------------- redis

/// A throwaway `redis-server`. It dies with the test process (PR_SET_PDEATHSIG on a thread
/// that lives as long as the process), so no server outlives a run.
pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Mutex<Option<Child>>,
    extra_args: Vec<String>,
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

fn spawner() -> &'static Mutex<mpsc::Sender<SpawnRequest>> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::spawn(move || {
            for (mut cmd, reply) in rx {
                use std::os::unix::process::CommandExt;
                // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                        Ok(())
                    });
                }
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    })
}

/// Spawns a child that is killed when the test process exits.
pub fn spawn_tied(cmd: Command) -> Child {
    let (tx, rx) = mpsc::channel();
    spawner().lock().unwrap().send((cmd, tx)).unwrap();
    rx.recv().unwrap().expect("spawn child process")
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// `extra` are extra redis-server arguments, e.g. `["--appendonly", "yes"]`.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let server = RedisServer {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: Mutex::new(None),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.launch();
        server
    }

    fn launch(&self) {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &self.port.to_string(),
            "--save",
            "",
        ])
        .args(["--appendonly", "no", "--dir"])
        .arg(self.dir.path())
        .args(&self.extra_args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let child = spawn_tied(cmd);
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if redis_ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server did not start on port {} (is redis-server installed? run scripts/test.sh)",
            self.port
        );
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would) and waits until the port is closed.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a
    /// hung Redis.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: i32) {
        if let Some(child) = self.child.lock().unwrap().as_ref() {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe {
                libc::kill(child.id() as i32, sig);
            }
        }
    }

    /// Starts it again after [`RedisServer::stop`], same port and data directory.
    pub fn launch_again(&self) {
        self.launch();
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn redis_ping(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// The Redis shared by the tests of this binary (each test uses its own key prefix).
pub fn shared_redis() -> &'static RedisServer {
    static REDIS: OnceLock<RedisServer> = OnceLock::new();
    REDIS.get_or_init(RedisServer::start)
}

// ---------------------------------------------------------------- the app

pub fn base_config(redis_url: &str, prefix: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "http://127.0.0.1:1"
workers = 1
shutdown_timeout_secs = 1

[metrics]
public = true

[redis]
url = "{redis_url}"
key_prefix = "{prefix}"
command_timeout_ms = 1000
connect_timeout_ms = 300

[auth.jwt]
hs256_secret = "{HS256_SECRET}"
rs256_public_key_file = "{fixtures}/jwt_rs256_public.pem"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
leeway_secs = 0

[[auth.api_keys]]
name = "backend"
user = "service-backend"
sha256 = "{api_key_hash}"

[rate_limit]
enabled = true
per_minute = 600
burst = 50

[security]
ticket_secret = "{TICKET_SECRET}"

[buckets.main]
provider = "oss"
bucket = "examplebucket"
endpoint = "http://127.0.0.1:1"
region = "cn-hangzhou"
url_style = "cname"
access_key_id = "LTAI5tTestAccessKeyId0"
access_key_secret = "{OSS_ACCESS_KEY_SECRET}"

[profiles.avatars]
bucket = "main"
key_template = "avatars/{{user}}/{{uuid}}{{ext}}"
max_size_bytes = 10485760
content_types = ["image/*"]
expires_in_secs = 900

[profiles.documents]
bucket = "main"
key_template = "docs/{{user}}/{{date}}/{{upload_id}}-{{filename}}"
max_size_bytes = 104857600
content_types = ["application/pdf", "text/*", "application/octet-stream"]
expires_in_secs = 3600
"#,
        fixtures = fixtures().display(),
        api_key_hash = hex::encode(upload_gateway::auth::hash_api_key(API_KEY)),
    )
}

pub fn raw_settings(redis_url: &str, prefix: &str) -> RawSettings {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    Figment::new()
        .merge(Toml::string(&base_config(redis_url, prefix)))
        .extract()
        .unwrap()
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub prefix: String,
    pub redis_url: String,
    pub app_state: actix_web::web::Data<upload_gateway::state::AppState>,
    pub routes: Vec<(actix_web::http::Method, String)>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn journal_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("journals")
        .join(name)
}

pub fn unique_prefix() -> String {
    format!("t{}", uuid::Uuid::new_v4().simple())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut RawSettings)) -> TestApp {
    spawn_app_on(&shared_redis().url(), customise).await
}

pub async fn spawn_app_on(redis_url: &str, customise: impl FnOnce(&mut RawSettings)) -> TestApp {
    init_logs();
    let prefix = unique_prefix();
    let mut raw = raw_settings(redis_url, &prefix);
    // Each app its own journal: a journal directory serves one process at a time.
    raw.callbacks.journal_dir = journal_dir(&prefix);
    customise(&mut raw);
    let settings = Settings::validate(raw).expect("test config is valid");
    let app = Application::build(settings).await.expect("app builds");
    let port = app.port();
    let app_state = app.state();
    let routes = app.routes().clone();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: upload_gateway::http_client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap(),
        prefix,
        redis_url: redis_url.to_string(),
        app_state,
        routes,
        server: Some(server),
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

// ---------------------------------------------------------------- tokens

pub fn jwt_hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(HS256_SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn jwt_rs256(claims: &Value) -> String {
    let pem = std::fs::read(fixtures().join("jwt_rs256_private.pem")).unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn claims_for(user: &str) -> Value {
    json!({"sub": user, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "iat": now()})
}

/// A valid token for `user`.
pub fn token_for(user: &str) -> String {
    jwt_hs256(&claims_for(user))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request authenticated as `user`.
    pub fn as_user(&self, user: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token_for(user))
    }

    pub async fn get_upload(&self, user: &str, id: &str) -> Response {
        self.as_user(user, Method::GET, &format!("/v1/uploads/{id}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn list_uploads(&self, user: &str, query: &str) -> Response {
        self.as_user(user, Method::GET, &format!("/v1/uploads{query}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn metrics_text(&self) -> String {
        self.request(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn store(&self) -> &upload_gateway::store::Store {
        &self.app_state.store
    }
}

/// Reads a JSON error body and checks its shape.
pub async fn error_code(resp: Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("error bodies are JSON");
    let code = body["code"].as_str().expect("error has a code").to_string();
    let message = body["message"]
        .as_str()
        .expect("error has a message")
        .to_string();
    assert!(!message.is_empty());
    (status, code, message)
}

/// Polls `f` until it returns Some or the timeout passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------- raw HTTP stand-ins

/// A one-shot-per-connection HTTP/1.1 server for stand-ins: `respond` gets the request line
/// and returns the whole response. Returns the port and every request line seen.
pub async fn serve_raw<F, Fut>(respond: F) -> (u16, std::sync::Arc<Mutex<Vec<String>>>)
where
    F: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = String> + Send,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: std::sync::Arc<Mutex<Vec<String>>> = Default::default();
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (respond, log) = (respond.clone(), log.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                log.lock().unwrap().push(line.clone());
                let resp = respond(line).await;
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// The value of the one sample in a metrics `text` whose line starts with `series` (name and
/// labels).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}
