//! The store against the vectors: every `cos_sign.json` case (URLs made by
//! cos-python-sdk-v5 and the doc's worked examples) verifies, and fails with another secret.

use super::*;
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/vectors")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8().unwrap().into_owned()
}

/// Query pairs decoded as the store decodes them (no `+` for space).
fn query_of(url: &url::Url) -> Vec<(String, String)> {
    url.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[test]
fn every_sdk_presigned_url_verifies_and_fails_with_another_secret() {
    let doc = vectors("cos_sign.json");
    let mut n = 0;
    for v in doc["vectors"].as_array().unwrap() {
        let (i, e) = (&v["inputs"], &v["expected"]);
        let url = url::Url::parse(e["url"].as_str().unwrap()).unwrap();
        let query = query_of(&url);
        let mut headers = vec![("host".to_string(), url.host_str().unwrap().to_string())];
        for (k, val) in i["signed_headers"].as_object().unwrap() {
            headers.push((k.to_ascii_lowercase(), val.as_str().unwrap().to_string()));
        }
        let pathname = decode(url.path());
        let req = Request {
            method: i["method"].as_str().unwrap(),
            pathname: &pathname,
            query: &query,
            headers: &headers,
        };
        let auth = from_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        let now = i["now_unix"].as_i64().unwrap();
        let secret = i["secret_key"].as_str().unwrap();
        let (format_string, sts) = string_to_sign(&req, &auth).unwrap();
        assert_eq!(
            format_string,
            e["http_string"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        assert_eq!(sts, e["string_to_sign"].as_str().unwrap());
        verify(&req, &auth, secret, now).unwrap_or_else(|e| panic!("{}: {e:?}", v["name"]));
        assert!(matches!(
            verify(&req, &auth, "AnotherSecretKey000000000000000", now),
            Err(SignError::Mismatch { .. })
        ));
        assert_eq!(
            verify(&req, &auth, secret, auth.sign_time.1 + 1),
            Err(SignError::Expired)
        );
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn the_doc_examples_verify_from_an_authorization_header_with_raw_or_encoded_semicolons() {
    let doc = vectors("cos_sign.json");
    let mut n = 0;
    for v in doc["official_doc_examples"].as_array().unwrap() {
        let kt = v["key_time"].as_str().unwrap();
        let auth_header = format!(
            "q-sign-algorithm=sha1&q-ak={}&q-sign-time={kt}&q-key-time={kt}&q-header-list={}&q-url-param-list={}&q-signature={}",
            v["secret_id"].as_str().unwrap(),
            v["q_header_list"].as_str().unwrap(),
            v["q_url_param_list"].as_str().unwrap(),
            v["signature"].as_str().unwrap(),
        );
        let lower = |m: &Value| -> Vec<(String, String)> {
            m.as_object()
                .unwrap()
                .iter()
                .map(|(k, x)| (k.to_ascii_lowercase(), x.as_str().unwrap().to_string()))
                .collect()
        };
        let headers = lower(&v["headers"]);
        let query: Vec<(String, String)> = v["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_string()))
            .collect();
        let req = Request {
            method: v["method"].as_str().unwrap(),
            pathname: v["uri_pathname"].as_str().unwrap(),
            query: &query,
            headers: &headers,
        };
        let now = time_pair(kt).unwrap().0 + 10;
        let secret = v["secret_key"].as_str().unwrap();
        for header in [auth_header.clone(), auth_header.replace(';', "%3B")] {
            let auth = parse_header(&header).unwrap();
            verify(&req, &auth, secret, now).unwrap_or_else(|e| panic!("{}: {e:?}", v["name"]));
            assert!(matches!(
                verify(&req, &auth, "BQYIM75p8x0iWVFSIgqEKwFprpRSVHly", now),
                Err(SignError::Mismatch { .. })
            ));
        }
        // A header that is not listed may change; a listed one may not.
        let mut changed = headers.clone();
        changed.push(("x-unsigned".into(), "anything".into()));
        let auth = parse_header(&auth_header).unwrap();
        let req2 = Request {
            headers: &changed,
            ..req
        };
        verify(&req2, &auth, secret, now).unwrap();
        let mut changed = headers.clone();
        changed.iter_mut().find(|(k, _)| k == "host").unwrap().1 = "other-1250000000".into();
        let req3 = Request {
            headers: &changed,
            ..req2
        };
        assert!(matches!(
            verify(&req3, &auth, secret, now),
            Err(SignError::Mismatch { .. })
        ));
        n += 1;
    }
    assert_eq!(n, 2);
}

#[test]
fn the_post_object_doc_example_verifies_and_fails_with_another_secret() {
    let v = vectors("cos_post_policy.json");
    let text = v["policy_text"].as_str().unwrap().as_bytes();
    let kt = v["key_time"].as_str().unwrap();
    let want = v["q_signature"].as_str().unwrap();
    assert_eq!(
        policy_signature(v["secret_key"].as_str().unwrap(), kt, text),
        want
    );
    assert_ne!(
        policy_signature("BQYIM75p8x0iWVFSIgqEKwFprpRSVHly", kt, text),
        want
    );
}
