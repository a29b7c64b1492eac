//! What an operator relies on, with the real binary: the journal drained into Redis on SIGTERM,
//! an orphaned journal volume drained with `journal replay`, the `healthcheck` probe, the
//! Redis eviction warning and the "no config" message.

use crate::helpers::*;
use crate::oss_sim::{self, Callback, Issued, KeyServer, Stored};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn gateway() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upload-gateway"));
    for (k, _) in std::env::vars() {
        if k.starts_with("UPLOAD_GATEWAY") {
            c.env_remove(k);
        }
    }
    c
}

fn run(args: &[&str]) -> (bool, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = gateway().args(args).output().unwrap();
    (
        status.success(),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// A gateway binary whose periodic replay never comes round (1 h), so only start-up,
/// shutdown or the CLI can move its journal into Redis.
struct Rig {
    keys: KeyServer,
    redis: RedisServer,
    prefix: String,
    base: String,
    config: PathBuf,
    journal: PathBuf,
    log: PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new(redis_args: &[&str]) -> Rig {
        let keys = KeyServer::start().await;
        let mut args = vec!["--appendonly", "yes", "--appendfsync", "always"];
        args.extend_from_slice(redis_args);
        let redis = RedisServer::start_with(&args);
        let prefix = unique_prefix();
        let port = free_port();
        let journal = journal_dir(&prefix);
        let text = base_config(&redis.url(), &prefix).replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        ) + &format!(
            "\n[callbacks]\nkey_url_prefixes = [\"{}\"]\njournal_dir = \"{}\"\nreplay_interval_ms = 3600000\n",
            keys.prefix(),
            journal.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gateway.toml");
        std::fs::write(&config, text).unwrap();
        // Under target/tmp, so the end-of-suite secret scan reads the binary's logs too.
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("deploy-{prefix}.log"));
        Rig {
            keys,
            redis,
            prefix,
            base: format!("http://127.0.0.1:{port}"),
            config,
            journal,
            log,
            client: upload_gateway::http_client::builder().build().unwrap(),
            _dir: dir,
        }
    }

    fn start(&self) -> Child {
        let mut cmd = gateway();
        cmd.arg("--config").arg(&self.config).arg("serve");
        let log = std::fs::File::create(&self.log).unwrap();
        cmd.stdout(log).stderr(Stdio::null());
        spawn_tied(cmd)
    }

    async fn ready(&self) {
        eventually(Duration::from_secs(20), || async {
            let r = self
                .client
                .get(format!("{}/readyz", self.base))
                .send()
                .await
                .ok()?;
            (r.status() == 200).then_some(())
        })
        .await
        .expect("gateway ready");
    }

    /// Three uploads whose callbacks arrive while Redis is down: acknowledged from the journal.
    async fn journal_three_callbacks(&self) -> Vec<String> {
        let mut sent: Vec<(String, Callback)> = Vec::new();
        for i in 0..3u64 {
            let body: Value = self
                .client
                .post(format!("{}/v1/uploads/presign", self.base))
                .bearer_auth(token_for("lee"))
                .json(&json!({"profile": "avatars", "filename": "l.png",
                              "content_type": "image/png", "size": 9 + i}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let issued = Issued::from_url(body["url"].as_str().unwrap());
            let stored = Stored {
                bucket: "examplebucket".into(),
                object: body["key"].as_str().unwrap().into(),
                etag: format!("D{i}"),
                size: 9 + i,
                mime_type: "image/png".into(),
            };
            let cb = oss_sim::callback(&self.keys, &issued, &stored);
            sent.push((body["upload_id"].as_str().unwrap().to_string(), cb));
        }
        self.redis.stop();
        for (_, cb) in &sent {
            let r = self
                .client
                .post(format!("{}{}", self.base, cb.target))
                .header("authorization", &cb.authorization)
                .header("x-oss-pub-key-url", &cb.pub_key_url_b64)
                .header("content-type", &cb.content_type)
                .body(cb.body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "acknowledged from the journal");
        }
        sent.into_iter().map(|(id, _)| id).collect()
    }

    async fn recorded_events(&self) -> usize {
        let mut c = self
            .redis
            .client()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        crate::store_harness::stream_events(&mut c, &self.prefix)
            .await
            .len()
    }

    fn inspect(&self) -> String {
        let (ok, out, err) = run(&["journal", "inspect", "--dir", path(&self.journal)]);
        assert!(ok, "{err}");
        out
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "gateway did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn on_sigterm_the_gateway_replays_its_journal_into_redis_before_exiting() {
    let rig = Rig::new(&["--maxmemory-policy", "allkeys-lru"]).await;
    let mut gw = rig.start();
    rig.ready().await;

    let config = path(&rig.config);
    let (ok, out, _) = run(&["--config", config, "healthcheck"]);
    assert!(ok && out.starts_with("healthy: 200"), "{out}");
    let (ok, out, _) = run(&["--config", config, "healthcheck", "--ready"]);
    assert!(ok, "{out}");

    let ids = rig.journal_three_callbacks().await;
    let (ok, out, _) = run(&["--config", config, "healthcheck", "--ready"]);
    assert!(!ok && out.starts_with("unhealthy: 503"), "{out}");
    let listing = rig.inspect();
    assert!(listing.contains("3 journaled callback(s)"), "{listing}");
    for id in &ids {
        assert!(listing.contains(id.as_str()), "{id} in\n{listing}");
    }

    rig.redis.launch_again();
    rig.ready().await;
    assert_eq!(
        rig.recorded_events().await,
        0,
        "nothing replayed before SIGTERM"
    );
    let killed = Command::new("kill")
        .args(["-TERM", &gw.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(wait_exit(&mut gw, Duration::from_secs(20)).success());

    assert_eq!(rig.recorded_events().await, 3);
    assert!(rig.inspect().contains("0 journaled callback(s)"));
    let log = std::fs::read_to_string(&rig.log).unwrap();
    assert!(
        log.contains("journal replayed into Redis on shutdown"),
        "{log}"
    );
    assert!(log.contains("maxmemory-policy evicts keys"), "{log}");
    assert!(log.contains("allkeys-lru"), "{log}");

    let (ok, out, _) = run(&["--config", config, "healthcheck"]);
    assert!(!ok && out.starts_with("unhealthy: "), "{out}");
}

#[tokio::test]
async fn an_orphaned_journal_is_drained_with_journal_replay() {
    let rig = Rig::new(&[]).await;
    let mut gw = rig.start();
    rig.ready().await;
    rig.journal_three_callbacks().await;
    gw.kill().unwrap();
    gw.wait().unwrap();
    let log = std::fs::read_to_string(&rig.log).unwrap();
    assert!(
        !log.contains("maxmemory-policy evicts"),
        "noeviction is quiet: {log}"
    );

    let journal = path(&rig.journal);
    let config = path(&rig.config);
    let (ok, _, err) = run(&["--config", config, "journal", "replay", "--dir", journal]);
    assert!(!ok && err.contains("redis is not answering"), "{err}");
    assert!(rig.inspect().contains("3 journaled callback(s)"));

    rig.redis.launch_again();
    let (ok, out, err) = run(&["--config", config, "journal", "replay", "--dir", journal]);
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        format!("applied 3, duplicate 0, refused 0; 0 left in {journal}")
    );
    assert_eq!(rig.recorded_events().await, 3);
    assert!(rig.inspect().contains("0 journaled callback(s)"));
}

#[test]
fn serve_and_check_config_without_any_config_say_so() {
    for cmd in [&["serve"][..], &["check-config"], &[]] {
        let (ok, out, err) = run(cmd);
        assert!(!ok, "{cmd:?}: {out}");
        assert_eq!(err.lines().count(), 1, "{cmd:?}: {err}");
        assert!(err.starts_with("no config file given"), "{cmd:?}: {err}");
    }
    // Environment variables alone are a configuration: the error is then about its content.
    let out = gateway()
        .arg("check-config")
        .env("UPLOAD_GATEWAY__REDIS__URL", "redis://127.0.0.1:1")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!out.status.success());
    assert!(!err.contains("no config file given"), "{err}");
}
