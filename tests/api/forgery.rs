//! The callback forgery suite: mutations of genuine signed callbacks (body bytes, truncation,
//! field repeats, request target, headers, ticket/upload/object swaps between users and
//! uploads, replays) sent at a gateway whose uploads are already settled or still pending.
//! None may change a record or append an event.

use crate::helpers::*;
use crate::oss_sim::{self, Callback, Issued, KeyServer, Stored};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

struct Upload {
    user: &'static str,
    id: String,
    key: String,
    issued: Issued,
    etag: String,
}

async fn presign(app: &TestApp, user: &'static str, n: usize) -> Upload {
    let resp = app
        .as_user(user, Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "avatars", "filename": "me.png", "content_type": "image/png", "size": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    Upload {
        user,
        id: body["upload_id"].as_str().unwrap().into(),
        key: body["key"].as_str().unwrap().into(),
        issued: Issued::from_url(body["url"].as_str().unwrap()),
        etag: format!("E{n:031X}"),
    }
}

fn stored(object: &str, etag: &str) -> Stored {
    Stored {
        bucket: "examplebucket".into(),
        object: object.into(),
        etag: etag.into(),
        size: 100,
        mime_type: "image/png".into(),
    }
}

async fn snapshot(app: &TestApp, uploads: &[Upload]) -> (Vec<Value>, usize) {
    let mut recs = Vec::new();
    for u in uploads {
        recs.push(app.get_upload(u.user, &u.id).await.json().await.unwrap());
    }
    let mut c = shared_redis()
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let events = crate::store_harness::stream_events(&mut c, &app.prefix)
        .await
        .len();
    (recs, events)
}

fn mutations(keys: &KeyServer, ups: &[Upload], settled: usize) -> Vec<Callback> {
    let mut out = Vec::new();
    let genuine: Vec<Callback> = ups[..settled]
        .iter()
        .map(|u| oss_sim::callback(keys, &u.issued, &stored(&u.key, &u.etag)))
        .collect();
    for g in &genuine {
        // Unsigned tampering: every byte flipped in turn, truncations, extensions.
        for i in 0..g.body.len() {
            let mut c = g.clone();
            c.body[i] ^= 0x01;
            out.push(c);
        }
        for cut in (0..g.body.len()).step_by(7) {
            let mut c = g.clone();
            c.body.truncate(cut);
            out.push(c);
        }
        let mut c = g.clone();
        c.body.extend_from_slice(b" ");
        out.push(c);
        for target in ["?x=1", "/", "%2F", "?", "#"] {
            let mut c = g.clone();
            c.target.push_str(target);
            out.push(c.clone());
            out.push(c.resign()); // signed by storage but replayed: a duplicate at most
        }
        let mut c = g.clone();
        c.target = c.target.to_uppercase();
        out.push(c);
        for auth in ["", "x", "AAAA", &STANDARD.encode([0u8; 128])] {
            let mut c = g.clone();
            c.authorization = auth.to_string();
            out.push(c);
        }
        let mut c = g.clone();
        c.content_type = "application/x-www-form-urlencoded".into();
        out.push(c.clone());
        out.push(c.resign());
        let mut c = g.clone();
        c.pub_key_url_b64 = STANDARD.encode("http://127.0.0.1:1/key.pem");
        out.push(c);
        // Repeated members, signed: refused, never "the last one wins".
        let text = String::from_utf8(g.body.clone()).unwrap();
        for field in [
            "\"size\":",
            "\"object\":",
            "\"x:upload_id\":",
            "\"x:ticket\":",
        ] {
            if let Some(at) = text.find(field) {
                let mut c = g.clone();
                let dup = format!("{field}\"0\",");
                let mut body = text.clone();
                body.insert_str(at, &dup);
                c.body = body.into_bytes();
                out.push(c.resign());
            }
        }
    }
    // Signed swaps: any upload id with any ticket and any object, pending or settled.
    let mut objects: Vec<String> = ups.iter().map(|u| u.key.clone()).collect();
    objects.push(format!("avatars/{}/other.png", ups[0].user));
    for (i, a) in ups.iter().enumerate() {
        for (j, b) in ups.iter().enumerate() {
            for (k, object) in objects.iter().enumerate() {
                // The pending uploads' own genuine callbacks would rightly complete them.
                if i == j && k == i && i >= settled {
                    continue;
                }
                let mut vars = a.issued.vars.clone();
                vars.insert("x:ticket".into(), b.issued.vars["x:ticket"].clone());
                let issued = Issued {
                    callback: a.issued.callback.clone(),
                    vars,
                };
                for etag in [ups.get(k).map_or("E0", |u| u.etag.as_str()), "FFFF"] {
                    out.push(oss_sim::callback(keys, &issued, &stored(object, etag)));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_thousand_mutations_of_genuine_callbacks_change_no_record() {
    let keys = KeyServer::start().await;
    let app = spawn_app_with(|raw| raw.callbacks.key_url_prefixes = vec![keys.prefix()]).await;
    let mut ups = Vec::new();
    for (n, user) in ["alice", "alice", "bob", "alice", "bob"]
        .into_iter()
        .enumerate()
    {
        ups.push(presign(&app, user, n).await);
    }
    // The first three are completed by their genuine callbacks; the last two stay pending.
    let settled = 3;
    for u in &ups[..settled] {
        let cb = oss_sim::callback(&keys, &u.issued, &stored(&u.key, &u.etag));
        assert_eq!(cb.send(&app).await.status(), 200);
    }
    let before = snapshot(&app, &ups).await;
    let all = mutations(&keys, &ups, settled);
    assert!(all.len() >= 1000, "{}", all.len());
    let mut accepted = 0;
    for chunk in all.chunks(32) {
        let sends = chunk.iter().map(|c| c.send(&app));
        for resp in futures_util::future::join_all(sends).await {
            let status = resp.status().as_u16();
            assert!(status < 500, "a mutation got {status}");
            if status == 200 {
                accepted += 1;
            }
        }
    }
    let after = snapshot(&app, &ups).await;
    let changed = before
        .0
        .iter()
        .zip(&after.0)
        .filter(|(a, b)| a != b)
        .count()
        + after.1.abs_diff(before.1);
    println!(
        "callback forgery: tried {}, accepted {accepted} (duplicates answered with the existing record), records or events changed {changed}",
        all.len()
    );
    assert_eq!(before, after);
    for u in &ups[settled..] {
        let rec: Value = app.get_upload(u.user, &u.id).await.json().await.unwrap();
        assert_eq!(rec["status"], "issued", "{rec}");
    }
}
