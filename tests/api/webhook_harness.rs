// Shared by the webhook test modules; not each uses every helper.
#![allow(dead_code)]

//! Harness for webhook tests: a receiver that verifies with the Standard Webhooks reference
//! library (tests/webhooks/receiver.py, `standardwebhooks` from PyPI), the webhook config, and
//! events made by the store's own finish script.

use crate::helpers::*;
use crate::webhook_events::issued_record;
use secrecy::SecretString;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use upload_gateway::config::raw::{RawSettings, WebhookEndpointSection};
use upload_gateway::domain::UploadStatus;

/// What the receiver knows. The gateway signs with [`NEW_SECRET`] and this one, as during a
/// rotation, so a receiver still on the old secret verifies.
pub const SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5";
pub const NEW_SECRET: &str = "whsec_bmV3LXdlYmhvb2stc2VjcmV0LWFiY2RlZmdoaWpr";

pub struct Receiver {
    pub port: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Receiver {
    pub fn start(status: u16, delay_ms: u64) -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Receiver {
            port: free_port(),
            log: dir.path().join("received.jsonl"),
            _dir: dir,
            child: None,
        };
        r.launch(status, delay_ms);
        r
    }

    /// Starts it (again) on the same port, appending to the same log.
    pub fn launch(&mut self, status: u16, delay_ms: u64) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/webhooks/receiver.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args(["--port", &self.port.to_string(), "--secret", SECRET])
            .arg("--log")
            .arg(&self.log)
            .args(["--status", &status.to_string()])
            .args(["--delay-ms", &delay_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = spawn_tied(cmd);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the receiver needs `standardwebhooks` (scripts/test.sh installs it with pip)"
        );
        self.child = Some(child);
    }

    /// SIGKILL: requests in flight get no answer.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every line logged so far.
    pub fn lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Verified deliveries: (webhook-id, type, upload id). Panics on any request whose
    /// signature the reference library refused.
    pub fn verified(&self) -> Vec<(String, String, String)> {
        self.lines()
            .into_iter()
            .map(|l| {
                assert!(
                    l.get("invalid").is_none(),
                    "refused by the reference library: {l}"
                );
                let s = |k: &str| l[k].as_str().unwrap().to_string();
                (s("id"), s("type"), s("upload_id"))
            })
            .collect()
    }

    /// Waits until `n` distinct events arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Tally {
        eventually(timeout, || async {
            let t = Tally::of(&self.verified());
            (t.distinct >= n).then_some(())
        })
        .await;
        Tally::of(&self.verified())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Deliveries counted: distinct events, repeats, and whether any upload arrived under two
/// ids (which would make the id useless for deduplication).
#[derive(Debug)]
pub struct Tally {
    pub requests: usize,
    pub distinct: usize,
    pub duplicates: usize,
    pub ids: HashSet<String>,
    pub uploads_with_two_ids: usize,
}

impl Tally {
    pub fn of(got: &[(String, String, String)]) -> Tally {
        let ids: HashSet<String> = got.iter().map(|g| g.0.clone()).collect();
        let mut per_upload: HashMap<(&str, &str), HashSet<&str>> = HashMap::new();
        for (id, ty, up) in got {
            per_upload.entry((up, ty)).or_default().insert(id);
        }
        Tally {
            requests: got.len(),
            distinct: ids.len(),
            duplicates: got.len() - ids.len(),
            uploads_with_two_ids: per_upload.values().filter(|s| s.len() > 1).count(),
            ids,
        }
    }
}

/// One endpoint at the receiver, retried quickly, taken over after a second.
pub fn configure(raw: &mut RawSettings, receiver_port: u16, retry_period_secs: u64) {
    let w = &mut raw.webhooks;
    w.start_at = "oldest".into();
    w.retry_period_secs = retry_period_secs;
    w.initial_backoff_ms = 100;
    w.max_backoff_ms = 400;
    w.timeout_ms = 2000;
    w.connect_timeout_ms = 500;
    w.poll_interval_ms = 100;
    w.claim_idle_ms = 1000;
    w.endpoints = vec![WebhookEndpointSection {
        name: "backend".into(),
        url: format!("http://127.0.0.1:{receiver_port}/hooks/uploads"),
        secrets: vec![SecretString::from(NEW_SECRET), SecretString::from(SECRET)],
        secrets_file: None,
        events: vec![],
        allow_http: false,
    }];
}

/// The same, as TOML for the binary.
pub fn config_toml(redis_url: &str, prefix: &str, receiver_port: u16, retry: u64) -> String {
    let journal = journal_dir(&format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    format!(
        "{}\n[callbacks]\njournal_dir = \"{}\"\n\n[webhooks]\nstart_at = \"oldest\"\nretry_period_secs = {retry}\ninitial_backoff_ms = 100\nmax_backoff_ms = 400\ntimeout_ms = 2000\nconnect_timeout_ms = 500\npoll_interval_ms = 100\nclaim_idle_ms = 1000\n\n[[webhooks.endpoints]]\nname = \"backend\"\nurl = \"http://127.0.0.1:{receiver_port}/hooks/uploads\"\nsecrets = [\"{NEW_SECRET}\", \"{SECRET}\"]\n",
        base_config(redis_url, prefix),
        journal.display()
    )
}

/// `n` uploads expired by the store's finish script (what the reconciler and sweeper call),
/// so `n` `upload.expired` events. Returns their ids.
pub async fn expire_uploads(store: &upload_gateway::store::Store, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let rec = issued_record("wendy", i);
        store.create_record(&rec).await.unwrap();
        store
            .finish_record(&rec.id, UploadStatus::Expired)
            .await
            .unwrap();
        ids.push(rec.id.to_string());
    }
    ids
}

/// `upload-gateway` with the given args and config file, the developer's environment kept out.
pub fn gateway_cli(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upload-gateway"));
    for (k, _) in std::env::vars() {
        if k.starts_with("UPLOAD_GATEWAY") {
            c.env_remove(k);
        }
    }
    c.arg("--config").arg(config).args(args).output().unwrap()
}
