//! The public-key URL of a callback is attacker-chosen (the request is unauthenticated until
//! its signature is checked with that key). A corpus of hostile URLs against a loopback
//! listener that counts every connection: none may reach it, or anything else; and however
//! many URLs a flood names, the gateway makes a bounded number of fetches.

use crate::helpers::*;
use crate::oss_sim::{self, Callback, Stored, test_public_key_pem};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Serves the test key at every path (so any fetch would succeed) and logs each connection.
async fn listener() -> (u16, Arc<Mutex<Vec<String>>>) {
    let pem = test_public_key_pem();
    serve_raw(move |line: String| {
        let pem = pem.clone();
        async move {
            if line.contains("/keys/redirect.pem") {
                return "HTTP/1.1 302 Found\r\nLocation: /uploads/attacker.pem\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string();
            }
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{pem}",
                pem.len()
            )
        }
    })
    .await
}

async fn signed_callback(app: &TestApp, user: &str) -> Callback {
    let resp = app
        .as_user(user, Method::POST, "/v1/uploads/presign")
        .json(&json!({"profile": "documents", "filename": "a.txt", "content_type": "text/plain", "size": 5}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let issued = oss_sim::Issued::from_url(body["url"].as_str().unwrap());
    let obj = Stored {
        bucket: "examplebucket".into(),
        object: body["key"].as_str().unwrap().into(),
        etag: "E1".into(),
        size: 5,
        mime_type: "text/plain".into(),
    };
    let keys = oss_sim::KeyServer::start().await;
    oss_sim::callback(&keys, &issued, &obj)
}

/// Every URL here lies outside `http://127.0.0.1:{port}/keys/`, by host, port, scheme, user
/// info, path escape or encoding; most would reach the listener if normalised or decoded.
fn hostile(port: u16, other: u16) -> Vec<String> {
    let p = port;
    let hosts = [
        format!("localhost:{p}"),
        format!("127.1:{p}"),
        format!("2130706433:{p}"),
        format!("0x7f000001:{p}"),
        format!("0177.0.0.1:{p}"),
        format!("127.0.0.01:{p}"),
        format!("[::1]:{p}"),
        format!("[::ffff:127.0.0.1]:{p}"),
        format!("[0:0:0:0:0:ffff:7f00:1]:{p}"),
        format!("127.0.0.1.nip.io:{p}"),
        format!("127.0.0.1:{p}.evil.test"),
        format!("evil.test#@127.0.0.1:{p}"),
        format!("127.0.0.1:{p}@127.0.0.1:{other}"),
        format!("user:pass@127.0.0.1:{p}"),
        format!("user@127.0.0.1:{p}"),
        format!("127.0.0.1:{other}"),
        format!("127.0.0.1:0{p}"),
        format!("127.0.0.1:{p}:{p}"),
        format!("１２７.０.０.１:{p}"),
        format!("127。0。0。1:{p}"),
        format!("ｌｏｃａｌｈｏｓｔ:{p}"),
        format!("127.0.0.1.:{p}"),
        format!("0.0.0.0:{p}"),
        format!("0:{p}"),
    ];
    let good_paths = [
        "/keys/key.pem",
        "/keys/a/b.pem",
        "/keys/",
        "/uploads/attacker.pem",
    ];
    let mut out = Vec::new();
    for h in &hosts {
        for path in good_paths {
            out.push(format!("http://{h}{path}"));
        }
    }
    let base = format!("http://127.0.0.1:{p}");
    for path in [
        "/keys/../uploads/attacker.pem",
        "/keys/%2e%2e/uploads/attacker.pem",
        "/keys/%2E%2E/uploads/attacker.pem",
        "/keys/.%2e/uploads/attacker.pem",
        "/keys/%2e./uploads/attacker.pem",
        "/keys/..%2fuploads/attacker.pem",
        "/keys%2f..%2fuploads/attacker.pem",
        "/keys/..%5cuploads/attacker.pem",
        "/keys/%5c..%5cuploads/attacker.pem",
        "/keys/..\\uploads/attacker.pem",
        "/keys\\..\\uploads\\attacker.pem",
        "/keys/%252e%252e/uploads/attacker.pem",
        "/keys/%c0%ae%c0%ae/uploads/attacker.pem",
        "/keys/./key.pem",
        "/keys//../uploads/attacker.pem",
        "/keys/key.pem/..",
        "/keys/key.pem/.",
        "/keys/..",
        "/keys",
        "/KEYS/key.pem",
        "/Keys/key.pem",
        "/uploads/attacker.pem",
        "/",
        "/keys/key.pem%00",
        "/keys/key.pem%0d%0aHost:%20evil",
        "/keys/key.pem\r\nHost: evil",
        "/keys/key.pem\n",
        "/keys/key.pem\t",
        "/keys/key .pem",
        "/keys/key.pem#frag",
        "/keys/key.pem?x=1",
        "/keys/key.pem?../../uploads/attacker.pem",
        "/keys/ké.pem",
        "/keys/\u{202e}mep.key",
        "/keys/\u{ff0e}\u{ff0e}/uploads/attacker.pem",
        "/keys/%ef%bc%8e%ef%bc%8e/uploads/attacker.pem",
    ] {
        out.push(format!("{base}{path}"));
        if path.starts_with("/keys/") {
            out.push(format!("{base}{}", path.replace("/keys/", "/keys/sub/")));
            out.push(format!("{base}{}", path.replace("/keys/", "/keys/a/b/")));
        }
    }
    for scheme in [
        "https", "HTTP", "Http", "ftp", "file", "gopher", "dict", "ws", "ldap", "jar:http",
    ] {
        out.push(format!("{scheme}://127.0.0.1:{p}/keys/key.pem"));
    }
    out.extend([
        format!("http:/127.0.0.1:{p}/keys/key.pem"),
        format!("http:127.0.0.1:{p}/keys/key.pem"),
        format!("http:\\\\127.0.0.1:{p}/keys/key.pem"),
        format!("//127.0.0.1:{p}/keys/key.pem"),
        format!("127.0.0.1:{p}/keys/key.pem"),
        format!(" http://127.0.0.1:{p}/keys/key.pem"),
        format!("http://127.0.0.1:{p}/keys/key.pem "),
        format!("http://127.0.0.1:{p}\t/keys/key.pem"),
        format!("http://127.0.0.1:{p}/keys/key.pem\0"),
        "file:///etc/passwd".into(),
        "data:text/plain,-----BEGIN PUBLIC KEY-----".into(),
        "javascript:alert(1)".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://100.100.100.200/latest/meta-data/".into(),
        "http://gosspublic.alicdn.com.evil.test/callback_pub_key_v1.pem".into(),
        "http://evil.test/gosspublic.alicdn.com/callback_pub_key_v1.pem".into(),
        "".into(),
    ]);
    out
}

#[tokio::test]
async fn no_key_url_outside_the_allow_list_is_ever_connected_to() {
    let (port, seen) = listener().await;
    let (other, other_seen) = listener().await;
    let app = spawn_app_with(|raw| {
        raw.callbacks.key_url_prefixes = vec![format!("http://127.0.0.1:{port}/keys/")];
    })
    .await;
    let genuine = signed_callback(&app, "sam").await;
    let corpus = hostile(port, other);
    assert!(corpus.len() >= 200, "{}", corpus.len());
    let mut accepted = 0;
    for url in &corpus {
        let mut c = genuine.clone();
        c.pub_key_url_b64 = STANDARD.encode(url);
        let resp = c.send(&app).await;
        if resp.status() == 200 {
            accepted += 1;
            println!("accepted: {url:?}");
            continue;
        }
        let (status, code, _) = error_code(resp).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "callback-key-url-rejected"),
            "{url:?}"
        );
    }
    assert_eq!(accepted, 0);
    let lost = seen.lock().unwrap().len() + other_seen.lock().unwrap().len();
    println!(
        "key-URL corpus: tried {}, accepted {accepted}, connections outside the allow-list {lost}",
        corpus.len()
    );
    assert_eq!(lost, 0, "{:?}", seen.lock().unwrap());

    // The listener is reachable: allowed URLs are fetched, and a redirect is not followed.
    let mut c = genuine.clone();
    c.pub_key_url_b64 = STANDARD.encode(format!("http://127.0.0.1:{port}/keys/redirect.pem"));
    assert_eq!(c.send(&app).await.status(), 502);
    c.pub_key_url_b64 = STANDARD.encode(format!("http://127.0.0.1:{port}/keys/key.pem"));
    assert_eq!(c.send(&app).await.status(), 200);
    let lines = seen.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("/uploads/")), "{lines:?}");
}

#[tokio::test]
async fn a_flood_of_distinct_allowed_key_urls_makes_a_bounded_number_of_fetches() {
    let (port, seen) = serve_raw(|_line: String| async {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
    })
    .await;
    let app = spawn_app_with(|raw| {
        raw.callbacks.key_url_prefixes = vec![format!("http://127.0.0.1:{port}/")];
    })
    .await;
    let genuine = signed_callback(&app, "flo").await;
    let sends = (0..300).map(|n| {
        let mut c = genuine.clone();
        c.pub_key_url_b64 = STANDARD.encode(format!("http://127.0.0.1:{port}/k{n}.pem"));
        let app = &app;
        async move { c.send(app).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 502), "{statuses:?}");
    let fetches = seen.lock().unwrap().len();
    println!("key-fetch flood: 300 callbacks with distinct key URLs, {fetches} fetches");
    assert!(fetches <= 10, "{fetches} fetches for 300 callbacks");
}

#[tokio::test]
async fn with_an_exact_set_no_other_allowed_key_url_is_ever_fetched() {
    let (port, seen) = listener().await;
    let listed = format!("http://127.0.0.1:{port}/keys/key.pem");
    let app = spawn_app_with(|raw| {
        raw.callbacks.key_url_prefixes = vec![format!("http://127.0.0.1:{port}/keys/")];
        raw.callbacks.exact_key_urls = vec![listed.clone()];
    })
    .await;
    let genuine = signed_callback(&app, "uma").await;
    // Under the prefix, and served with the right key, but not in the set: never fetched.
    for path in ["other.pem", "key.pem.bak", "a/key.pem", "key2.pem"] {
        let mut c = genuine.clone();
        c.pub_key_url_b64 = STANDARD.encode(format!("http://127.0.0.1:{port}/keys/{path}"));
        let (status, code, _) = error_code(c.send(&app).await).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "callback-key-url-rejected"),
            "{path}"
        );
    }
    assert_eq!(
        seen.lock().unwrap().len(),
        0,
        "nothing outside the set fetched"
    );
    let mut c = genuine.clone();
    c.pub_key_url_b64 = STANDARD.encode(&listed);
    assert_eq!(c.send(&app).await.status(), 200);
    assert_eq!(seen.lock().unwrap().len(), 1, "the listed URL was fetched");
}

#[test]
fn an_exact_key_url_outside_the_prefixes_or_not_normal_is_refused_at_start() {
    use upload_gateway::config::Settings;
    let base = base_config("redis://127.0.0.1:1", "cfg-exact");
    for bad in [
        "http://127.0.0.1:9/elsewhere/key.pem",
        "http://127.0.0.1:9/keys/../key.pem",
        "http://127.0.0.1:9/keys/key.pem?x=1",
    ] {
        let text = format!(
            "{base}\n[callbacks]\nkey_url_prefixes = [\"http://127.0.0.1:9/keys/\"]\nexact_key_urls = [\"{bad}\"]\n"
        );
        let err = Settings::from_toml(&text).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("exact_key_urls")),
            "{bad}: {err:?}"
        );
    }
}
