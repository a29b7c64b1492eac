//! Continuous load: genuine signed OSS callbacks for presigned uploads, sent by a few
//! workers at a steady pace while faults are injected. A callback that is not answered 200
//! is sent again later (as storage's retry or the client's confirm would bring it back),
//! every tenth acknowledged one is delivered a second time (duplicate delivery), and every
//! answer is tallied per upload so that the driver can compare what was acknowledged with
//! what the records say once everything has recovered.

use crate::helpers::token_for;
use crate::oss_sim::{self, Callback, Issued, KeyServer, Stored};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Upload {
    pub id: String,
    pub user: String,
    index: usize,
    callback: Callback,
}

struct Retry {
    due: Instant,
    upload: Arc<Upload>,
}

#[derive(Default)]
pub struct Tally {
    /// Upload id → the phase in which its callback was first sent.
    pub tried: HashMap<String, String>,
    pub acknowledged: HashSet<String>,
    /// Answers by kind: "200", "503 callback-not-recorded", "connection", ...
    pub answers: BTreeMap<String, u64>,
    pub sends: u64,
    /// The phases in the order they began.
    pub phases: Vec<String>,
}

pub struct Load {
    base: String,
    client: reqwest::Client,
    fresh: Mutex<VecDeque<Arc<Upload>>>,
    retries: Mutex<VecDeque<Retry>>,
    pub tally: Mutex<Tally>,
    phase: Mutex<String>,
    stop: AtomicBool,
    /// Fresh callbacks are not started once set; retries still are.
    draining: AtomicBool,
}

/// Issues `n` presigned uploads (spread over users, under the rate limit) and prepares the
/// callback storage would send for each.
pub async fn presign_many(base: &str, keys: &KeyServer, n: usize) -> Vec<Arc<Upload>> {
    let client = upload_gateway::http_client::builder().build().unwrap();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let user = format!("load{:03}", i % 100);
            async move {
                let body: Value = client
                    .post(format!("{base}/v1/uploads/presign"))
                    .bearer_auth(token_for(&user))
                    .json(&json!({"profile": "avatars", "filename": "f.png",
                                  "content_type": "image/png", "size": 100}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let issued = Issued::from_url(body["url"].as_str().expect("presigned"));
                let stored = Stored {
                    bucket: "examplebucket".into(),
                    object: body["key"].as_str().unwrap().into(),
                    etag: format!("E{i:08}"),
                    size: 100,
                    mime_type: "image/png".into(),
                };
                Arc::new(Upload {
                    id: body["upload_id"].as_str().unwrap().into(),
                    user,
                    index: i,
                    callback: oss_sim::callback(keys, &issued, &stored),
                })
            }
        })
        .buffer_unordered(8)
        .collect()
        .await
}

impl Load {
    pub fn new(base: &str, uploads: Vec<Arc<Upload>>) -> Arc<Load> {
        Arc::new(Load {
            base: base.to_string(),
            client: upload_gateway::http_client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            fresh: Mutex::new(uploads.into()),
            retries: Mutex::new(VecDeque::new()),
            tally: Mutex::new(Tally {
                phases: vec!["warm-up".into()],
                ..Tally::default()
            }),
            phase: Mutex::new("warm-up".into()),
            stop: AtomicBool::new(false),
            draining: AtomicBool::new(false),
        })
    }

    pub fn phase(&self, name: &str) {
        {
            let mut t = self.tally.lock().unwrap();
            t.phases.push(name.to_string());
            let fresh = self.fresh.lock().unwrap().len();
            println!(
                "faults: phase {name} (so far {} deliveries, {fresh} uploads not yet sent; {:?})",
                t.sends, t.answers
            );
        }
        *self.phase.lock().unwrap() = name.to_string();
    }

    /// Starts `workers` senders, each sending one callback every `pace` at most.
    pub fn start(
        self: &Arc<Self>,
        workers: usize,
        pace: Duration,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..workers)
            .map(|_| {
                let me = self.clone();
                tokio::spawn(async move {
                    while !me.stop.load(Ordering::Relaxed) {
                        if let Some((upload, duplicate)) = me.next() {
                            me.send(upload, duplicate).await;
                        }
                        tokio::time::sleep(pace).await;
                    }
                })
            })
            .collect()
    }

    fn next(&self) -> Option<(Arc<Upload>, bool)> {
        {
            let mut r = self.retries.lock().unwrap();
            if r.front().is_some_and(|x| x.due <= Instant::now()) {
                let x = r.pop_front().unwrap();
                let duplicate = self
                    .tally
                    .lock()
                    .unwrap()
                    .acknowledged
                    .contains(&x.upload.id);
                return Some((x.upload, duplicate));
            }
        }
        if self.draining.load(Ordering::Relaxed) {
            return None;
        }
        self.fresh.lock().unwrap().pop_front().map(|u| (u, false))
    }

    fn later(&self, upload: Arc<Upload>, after: Duration) {
        self.retries.lock().unwrap().push_back(Retry {
            due: Instant::now() + after,
            upload,
        });
    }

    async fn send(&self, upload: Arc<Upload>, duplicate: bool) {
        let first = {
            let mut t = self.tally.lock().unwrap();
            t.sends += 1;
            let phase = self.phase.lock().unwrap().clone();
            let first = !t.tried.contains_key(&upload.id);
            t.tried.entry(upload.id.clone()).or_insert(phase);
            first
        };
        let cb = &upload.callback;
        let sent = self
            .client
            .post(format!("{}{}", self.base, cb.target))
            .header("authorization", &cb.authorization)
            .header("x-oss-pub-key-url", &cb.pub_key_url_b64)
            .header("content-type", &cb.content_type)
            .body(cb.body.clone())
            .send()
            .await;
        let (answer, ok) = match sent {
            Err(_) => ("connection".to_string(), false),
            Ok(r) if r.status() == 200 => ("200".to_string(), true),
            Ok(r) => {
                let status = r.status().as_u16();
                let code = r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["code"].as_str().map(str::to_string))
                    .unwrap_or_default();
                (format!("{status} {code}"), false)
            }
        };
        let mut t = self.tally.lock().unwrap();
        *t.answers.entry(answer).or_default() += 1;
        if ok {
            t.acknowledged.insert(upload.id.clone());
            drop(t);
            // Storage delivers some callbacks twice.
            if first && upload.index.is_multiple_of(10) && !duplicate {
                self.later(upload, Duration::from_millis(200));
            }
        } else {
            drop(t);
            self.later(upload, Duration::from_millis(300));
        }
    }

    /// Stops starting fresh callbacks and waits (up to `limit`) until every retry is done.
    pub async fn drain(&self, limit: Duration) {
        self.draining.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline && !self.retries.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}
