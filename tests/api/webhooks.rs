//! Signed webhooks end to end: the real gateway delivers the events of its shard streams to
//! a receiver that verifies them with the Standard Webhooks reference library; the receiver
//! and a gateway replica are killed mid-run; undeliverable events become dead letters that
//! the CLI redelivers.

use crate::helpers::*;
use crate::oss_sim::{self, Issued, KeyServer, Stored};
use crate::store_harness::spawn_app_on_cluster;
use crate::webhook_harness::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use upload_gateway::domain::{UploadId, UploadStatus};

#[tokio::test]
async fn every_event_type_arrives_signed_as_the_reference_library_verifies() {
    let receiver = Receiver::start(204, 0);
    let keys = KeyServer::start().await;
    let app = spawn_app_with(|raw| {
        raw.callbacks.key_url_prefixes = vec![keys.prefix()];
        configure(raw, receiver.port, 60);
    })
    .await;

    // A completion through a genuine signed callback, an expiry, an abort.
    let resp = app
        .as_user("ada", Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "avatars", "filename": "a.png",
                      "content_type": "image/png", "size": 100}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let completed = body["upload_id"].as_str().unwrap().to_string();
    let obj = Stored {
        bucket: "examplebucket".into(),
        object: body["key"].as_str().unwrap().into(),
        etag: "E1".into(),
        size: 100,
        mime_type: "image/png".into(),
    };
    let issued = Issued::from_url(body["url"].as_str().unwrap());
    let cb = oss_sim::callback(&keys, &issued, &obj);
    assert_eq!(cb.send(&app).await.status(), 200);
    let expired = expire_uploads(app.store(), 1).await.remove(0);
    let aborted = crate::webhook_events::issued_record("ada", 9);
    app.store().create_record(&aborted).await.unwrap();
    app.store()
        .finish_record(&aborted.id, UploadStatus::Aborted)
        .await
        .unwrap();

    let tally = receiver.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(tally.distinct, 3, "{tally:?}");
    let got = receiver.verified();
    for (upload, ty) in [
        (&completed, "upload.completed"),
        (&expired, "upload.expired"),
        (&aborted.id.to_string(), "upload.aborted"),
    ] {
        let (id, _, _) = got.iter().find(|g| &g.2 == upload).expect(ty);
        assert!(got.iter().any(|g| &g.2 == upload && g.1 == ty), "{got:?}");
        // The webhook id is the event's stream entry id, qualified by its shard.
        let rec = app
            .store()
            .get_record(&UploadId::parse(upload).unwrap())
            .await
            .unwrap()
            .unwrap();
        let shard = upload_gateway::store::Keys::shard_of(&rec.id);
        assert_eq!(id, &format!("s{shard}-{}", rec.event_id.unwrap()));
    }
    let text = eventually(Duration::from_secs(10), || async {
        let t = app.metrics_text().await;
        t.contains(
            r#"upload_gateway_webhook_deliveries_total{endpoint="backend",outcome="delivered"} 3"#,
        )
        .then_some(t)
    })
    .await
    .expect("delivery metrics");
    assert!(text.contains(
        r#"upload_gateway_webhook_deliveries_total{endpoint="backend",outcome="timeout"} 0"#
    ));
    assert!(text.contains("upload_gateway_webhook_delivery_duration_seconds_bucket"));
}

#[tokio::test]
async fn a_receiver_killed_mid_run_and_restarted_gets_every_event() {
    const N: usize = 150;
    let mut receiver = Receiver::start(204, 10);
    let app = spawn_app_with(|raw| configure(raw, receiver.port, 300)).await;
    let first = expire_uploads(app.store(), N / 2).await;
    receiver.wait_for(30, Duration::from_secs(30)).await;
    receiver.kill();
    // Events keep coming while the receiver is down; deliveries fail and back off.
    let second = expire_uploads(app.store(), N - first.len()).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    receiver.launch(204, 0);

    let tally = receiver.wait_for(N, Duration::from_secs(60)).await;
    let uploads: std::collections::HashSet<String> =
        receiver.verified().into_iter().map(|g| g.2).collect();
    let lost = first
        .iter()
        .chain(&second)
        .filter(|u| !uploads.contains(*u))
        .count();
    println!(
        "receiver restart: {N} events, delivered {}, lost {lost}, duplicates {} ({} requests)",
        tally.distinct, tally.duplicates, tally.requests
    );
    assert_eq!(lost, 0, "{tally:?}");
    assert_eq!(tally.distinct, N);
    assert_eq!(tally.uploads_with_two_ids, 0);
}

#[tokio::test]
async fn a_replica_killed_mid_delivery_loses_nothing_and_repeats_keep_their_id() {
    const N: usize = 200;
    let receiver = Receiver::start(204, 50);
    let redis = shared_redis();
    let prefix = unique_prefix();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    // Few requests in flight per replica, so the kill lands mid-run with entries in hand.
    let toml = config_toml(&redis.url(), &prefix, receiver.port, 300)
        .replace(
            "poll_interval_ms = 100",
            "poll_interval_ms = 100\nmax_concurrency = 4",
        )
        .replace(
            "listen = \"127.0.0.1:0\"",
            &format!("listen = \"127.0.0.1:{port}\""),
        );
    std::fs::write(&path, toml).unwrap();
    // Replica one: the real binary, killed with SIGKILL. Replica two: in process.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_upload-gateway"));
    cmd.arg("--config").arg(&path).arg("serve");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut doomed = spawn_tied(cmd);
    let survivor = spawn_app_with(|raw| {
        raw.redis.key_prefix = prefix.clone();
        configure(raw, receiver.port, 300);
        raw.webhooks.max_concurrency = 4;
    })
    .await;
    // Both replicas up before any event exists, so both take a share.
    let client = upload_gateway::http_client::builder().build().unwrap();
    let up = eventually(Duration::from_secs(20), || async {
        let r = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
    assert!(up.is_some(), "the binary replica started");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids = expire_uploads(survivor.store(), N).await;

    receiver.wait_for(40, Duration::from_secs(30)).await;
    doomed.kill().unwrap();
    doomed.wait().unwrap();
    let at_kill = Tally::of(&receiver.verified()).distinct;

    let tally = receiver.wait_for(N, Duration::from_secs(60)).await;
    let uploads: std::collections::HashSet<String> =
        receiver.verified().into_iter().map(|g| g.2).collect();
    let lost = ids.iter().filter(|u| !uploads.contains(*u)).count();
    println!(
        "replica killed after {at_kill} deliveries: {N} events, delivered {}, lost {lost}, duplicates {} ({} requests)",
        tally.distinct, tally.duplicates, tally.requests
    );
    assert_eq!(lost, 0, "{tally:?}");
    assert_eq!(tally.distinct, N);
    assert_eq!(
        tally.uploads_with_two_ids, 0,
        "a repeat carries the same webhook-id"
    );
}

#[tokio::test]
async fn events_past_the_retry_period_become_dead_letters_the_cli_redelivers() {
    const N: usize = 5;
    let mut receiver = Receiver::start(500, 0);
    let prefix = unique_prefix();
    let app = spawn_app_with(|raw| {
        raw.redis.key_prefix = prefix.clone();
        configure(raw, receiver.port, 2);
    })
    .await;
    let uploads = expire_uploads(app.store(), N).await;
    let dead = eventually(Duration::from_secs(30), || async {
        let n = app
            .store()
            .dead_letter_count("webhook:backend")
            .await
            .unwrap();
        (n as usize == N).then_some(n)
    })
    .await;
    assert_eq!(
        dead,
        Some(N as u64),
        "every event dead after the retry period"
    );
    assert!(
        receiver.verified().is_empty(),
        "every attempt was answered 500"
    );

    let gauges = eventually(Duration::from_secs(15), || async {
        let t = app.metrics_text().await;
        (t.contains(r#"upload_gateway_webhook_dead_letters{endpoint="backend"} 5"#)
            && t.contains(r#"upload_gateway_webhook_dead_lettered_total{endpoint="backend"} 5"#)
            && t.contains(r#"upload_gateway_webhook_backlog_events{endpoint="backend"} 0"#))
        .then_some(())
    })
    .await;
    assert!(
        gauges.is_some(),
        "dead-letter and backlog metrics: {}",
        app.metrics_text().await
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        config_toml(&shared_redis().url(), &prefix, receiver.port, 2),
    )
    .unwrap();
    let listed = gateway_cli(&path, &["webhooks", "list-failed"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(listed.lines().count(), N, "{listed}");
    for u in &uploads {
        assert!(
            listed.contains(u.as_str()) && listed.contains("answered 500"),
            "{listed}"
        );
    }

    // Still failing: redelivery reports it and keeps them.
    let again = gateway_cli(&path, &["webhooks", "redeliver", "--all"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("redelivered 0, failed 5"));

    receiver.kill();
    receiver.launch(204, 0);
    let out = gateway_cli(&path, &["webhooks", "redeliver", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("redelivered 5, failed 0"), "{stdout}");
    let tally = Tally::of(&receiver.verified());
    assert_eq!(tally.distinct, N);
    let ids_listed: std::collections::HashSet<String> = listed
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect();
    assert_eq!(
        tally.ids, ids_listed,
        "redelivered under the same webhook-id"
    );
    let empty = gateway_cli(&path, &["webhooks", "list-failed"]);
    assert!(String::from_utf8_lossy(&empty.stdout).trim().is_empty());
}

#[tokio::test]
async fn events_of_every_shard_are_delivered_on_a_redis_cluster() {
    const N: usize = 64;
    let receiver = Receiver::start(204, 0);
    let app = spawn_app_on_cluster(|raw| configure(raw, receiver.port, 60)).await;
    let ids = expire_uploads(app.store(), N).await;
    let shards: std::collections::HashSet<usize> = ids
        .iter()
        .map(|i| upload_gateway::store::Keys::shard_of(&UploadId::parse(i).unwrap()))
        .collect();
    let tally = receiver.wait_for(N, Duration::from_secs(60)).await;
    assert_eq!(tally.distinct, N, "over {} shards: {tally:?}", shards.len());
    // The backlog is read stream by stream, each in its own slot.
    let backlog = eventually(Duration::from_secs(15), || async {
        let t = app.metrics_text().await;
        t.contains(r#"upload_gateway_webhook_backlog_events{endpoint="backend"} 0"#)
            .then_some(())
    })
    .await;
    assert!(backlog.is_some());
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_counts_as_a_refusal() {
    let (elsewhere, hits) =
        serve_raw(|_| async { "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n".to_string() })
            .await;
    let (port, seen) = serve_raw(move |_| async move {
        format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:{elsewhere}/\r\ncontent-length: 0\r\n\r\n")
    })
    .await;
    let app = spawn_app_with(|raw| configure(raw, port, 60)).await;
    expire_uploads(app.store(), 1).await;
    let retried = eventually(Duration::from_secs(20), || async {
        (seen.lock().unwrap().len() >= 2).then_some(())
    })
    .await;
    assert!(
        retried.is_some(),
        "the redirect was retried at the configured URL"
    );
    assert!(seen.lock().unwrap()[0].starts_with("POST /hooks/uploads "));
    assert!(
        hits.lock().unwrap().is_empty(),
        "the redirect target was never called"
    );
    let text = app.metrics_text().await;
    assert!(
        !text.contains(r#"{endpoint="backend",outcome="rejected"} 0"#),
        "{text}"
    );
}
