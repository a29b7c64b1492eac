//! The real gateway binary for the fault suite: started on a fixed loopback port over a
//! journal directory, killed with SIGKILL, started again; optionally with its journal on a
//! filesystem that fills up (a small tmpfs, or, where mounting is refused, a file-size
//! limit on the process: the documented fallback).

use crate::helpers::{base_config, eventually, free_port, spawn_tied};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Gateway {
    pub port: u16,
    redis_url: String,
    pub prefix: String,
    key_prefix: String,
    dir: tempfile::TempDir,
    pub journal: PathBuf,
    /// RLIMIT_FSIZE for the process, in KiB (the full-disk fallback).
    fsize_kib: Option<u64>,
    child: Option<Child>,
    client: reqwest::Client,
}

impl Gateway {
    pub fn new(redis_url: &str, prefix: &str, key_prefix: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        Gateway {
            port: free_port(),
            redis_url: redis_url.to_string(),
            prefix: prefix.to_string(),
            key_prefix: key_prefix.to_string(),
            journal: dir.path().join("journal"),
            dir,
            fsize_kib: None,
            child: None,
            client: upload_gateway::http_client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The journal directory (and file-size cap) the next start uses.
    pub fn use_journal(&mut self, dir: &Path, fsize_kib: Option<u64>) {
        self.journal = dir.to_path_buf();
        self.fsize_kib = fsize_kib;
    }

    fn write_config(&self) -> PathBuf {
        let config = base_config(&self.redis_url, &self.prefix).replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{}\"", self.port),
        ) + &format!(
            "\n[callbacks]\nkey_url_prefixes = [\"{}\"]\njournal_dir = \"{}\"\nredis_timeout_ms = 300\nreplay_interval_ms = 200\n",
            self.key_prefix,
            self.journal.display()
        );
        let path = self.dir.path().join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        path
    }

    /// Starts the binary and waits until it listens (Redis may be down: `/healthz`).
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let config = self.write_config();
        let bin = env!("CARGO_BIN_EXE_upload-gateway");
        let mut cmd = match self.fsize_kib {
            None => {
                let mut c = Command::new(bin);
                c.arg("--config").arg(&config).arg("serve");
                c
            }
            Some(kib) => {
                // Writes past the limit fail with EFBIG instead of killing the process.
                let mut c = Command::new("bash");
                c.arg("-c")
                    .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
                    .arg(bin)
                    .arg("--config")
                    .arg(&config)
                    .arg("serve");
                c
            }
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        self.child = Some(spawn_tied(cmd));
        let url = format!("{}/healthz", self.base());
        let up = eventually(Duration::from_secs(30), || async {
            let r = self.client.get(&url).send().await.ok()?;
            (r.status() == 200).then_some(())
        })
        .await;
        assert!(up.is_some(), "gateway listening on {}", self.port);
    }

    /// SIGKILL, as a crash or the OOM killer would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// The value of the metric line starting with `series` (name and labels), since start.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base()))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    pub async fn journal_depth(&self) -> Option<i64> {
        self.metric("upload_gateway_callback_journal_depth ")
            .await
            .map(|v| v as i64)
    }

    /// Callbacks answered 200 from the journal since this process started.
    pub async fn journaled(&self) -> f64 {
        self.metric(r#"upload_gateway_callbacks_total{provider="oss",result="journaled"} "#)
            .await
            .unwrap_or(0.0)
    }

    /// Waits until the journal is empty (replayed), up to `limit`.
    pub async fn drained(&self, limit: Duration) -> bool {
        eventually(limit, || async {
            (self.journal_depth().await == Some(0)).then_some(())
        })
        .await
        .is_some()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A directory whose filesystem holds only `kib` KiB: a tmpfs where mounting is allowed,
/// otherwise a plain directory with a file-size limit for the process writing there.
pub struct SmallDisk {
    pub dir: PathBuf,
    _root: tempfile::TempDir,
    mounted: bool,
    /// What the gateway must be started with when no filesystem could be mounted.
    pub fsize_kib: Option<u64>,
    pub how: String,
}

impl SmallDisk {
    pub fn new(kib: u64) -> SmallDisk {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("journal");
        std::fs::create_dir_all(&dir).unwrap();
        // UPLOAD_GATEWAY_FAULTS_NO_MOUNT=1 takes the fallback, to check it where mounting works.
        let out = if std::env::var_os("UPLOAD_GATEWAY_FAULTS_NO_MOUNT").is_some() {
            Err(std::io::Error::other(
                "UPLOAD_GATEWAY_FAULTS_NO_MOUNT is set",
            ))
        } else {
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={kib}k,mode=0700")])
                .arg("tmpfs")
                .arg(&dir)
                .output()
        };
        match out {
            Ok(o) if o.status.success() => SmallDisk {
                dir,
                _root: root,
                mounted: true,
                fsize_kib: None,
                how: format!("tmpfs of {kib} KiB"),
            },
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                    Err(e) => e.to_string(),
                };
                SmallDisk {
                    dir,
                    _root: root,
                    mounted: false,
                    fsize_kib: Some(kib),
                    how: format!(
                        "size-capped directory (RLIMIT_FSIZE {kib} KiB; mount -t tmpfs refused: {why})"
                    ),
                }
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        }
    }
}
