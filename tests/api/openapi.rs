use crate::helpers::*;
use reqwest::Method;
use std::collections::BTreeSet;
use yaml_rust2::{Yaml, YamlLoader};

fn spec() -> Yaml {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml"))
            .unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

const METHODS: [&str; 7] = ["get", "post", "put", "delete", "patch", "head", "options"];

#[tokio::test]
async fn every_route_is_in_the_spec_and_every_spec_path_is_served() {
    // With every optional route set mounted (Uppy is on by default; the demo is not).
    let app = spawn_app_with(|raw| {
        raw.demo.enabled = true;
        raw.demo.profile = Some("documents".into());
        raw.demo.user = Some("demo-user".into());
        crate::cos::add_cos_bucket(raw, "http://127.0.0.1:1");
        crate::s3::add_s3_bucket(raw, "http://127.0.0.1:1");
        raw.callbacks.s3_sns = Some(upload_gateway::config::raw::S3SnsSection {
            topic_arns: vec!["arn:aws:sns:eu-central-1:123456789012:t".into()],
            ..Default::default()
        });
        raw.callbacks.s3_webhook = crate::sns::webhook_section();
    })
    .await;
    let served: BTreeSet<(String, String)> = app
        .routes
        .iter()
        .map(|(m, p)| (m.as_str().to_string(), p.clone()))
        .collect();
    let spec = spec();
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_hash().unwrap() {
        for (method, _) in item.as_hash().unwrap() {
            let method = method.as_str().unwrap();
            if METHODS.contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_string()));
            }
        }
    }
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "openapi.yaml paths the app does not serve: {unserved:?}"
    );
}

#[test]
fn the_spec_lists_exactly_the_error_codes_the_service_uses() {
    let spec = spec();
    let listed: BTreeSet<String> =
        spec["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|y| y.as_str().unwrap().to_string())
            .collect();
    let used: BTreeSet<String> = upload_gateway::error::ApiError::ALL_CODES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(listed, used);
}

#[tokio::test]
async fn the_spec_is_served() {
    let app = spawn_app().await;
    let resp = app
        .request(Method::GET, "/openapi.yaml")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().starts_with("openapi: 3.1.0"));
}
