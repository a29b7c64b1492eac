use crate::helpers::fixtures;
use std::process::Command;

fn gateway() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upload-gateway"));
    // Keep the developer's environment out of these runs.
    for (k, _) in std::env::vars() {
        if k.starts_with("UPLOAD_GATEWAY") {
            c.env_remove(k);
        }
    }
    c
}

fn example() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml").to_string()
}

#[test]
fn check_config_accepts_the_example() {
    let out = gateway()
        .args(["check-config", &example()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("config ok"));
}

fn failing(path: &std::path::Path, envs: &[(&str, &str)]) -> String {
    let out = gateway()
        .arg("check-config")
        .arg(path)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.trim().to_string()
}

#[test]
fn check_config_names_an_unknown_key_and_a_missing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example()).unwrap();

    let p = dir.path().join("unknown.toml");
    std::fs::write(&p, text.replace("[redis]\n", "[redis]\nhost = \"x\"\n")).unwrap();
    assert_eq!(
        failing(&p, &[]),
        "config error: redis.host: unknown key (from TOML file ".to_string()
            + &format!("`{}`)", p.display())
    );

    let p = dir.path().join("nosecret.toml");
    std::fs::write(
        &p,
        text.replace("access_key_secret = \"example-access-key-secret\"", ""),
    )
    .unwrap();
    assert_eq!(
        failing(&p, &[]),
        "config error: buckets.main.access_key_secret: missing secret: set buckets.main.access_key_secret or buckets.main.access_key_secret_file"
    );
}

#[test]
fn environment_variables_override_the_file() {
    let p = std::path::PathBuf::from(example());
    let err = failing(&p, &[("UPLOAD_GATEWAY__SERVER__LISTEN", "not-an-address")]);
    assert!(
        err.starts_with("config error: server.listen: not a socket address"),
        "{err}"
    );
    let err = failing(&p, &[("UPLOAD_GATEWAY__REDIS__NOPE", "1")]);
    assert!(
        err.starts_with("config error: redis.nope: unknown key"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "from-a-file\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = gateway()
        .args(["check-config", &example()])
        .env(
            "UPLOAD_GATEWAY__BUCKETS__MAIN__ACCESS_KEY_SECRET_FILE",
            &secret,
        )
        .output()
        .unwrap();
    // Both the file's inline secret and the _FILE variable are set: refused, by name.
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("set either buckets.main.access_key_secret or buckets.main.access_key_secret_file, not both"), "{err}");
}

#[test]
fn hash_api_key_prints_the_sha256() {
    use std::io::Write;
    let mut child = gateway()
        .arg("hash-api-key")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

fn sign(args: &[&str]) -> (String, String) {
    sign_as(
        (
            "LTAI5tFakeAccessKeyId000",
            "FakeAccessKeySecret0000000000000",
        ),
        args,
    )
}

fn sign_as(keys: (&str, &str), args: &[&str]) -> (String, String) {
    let out = gateway()
        .arg("sign")
        .arg("oss")
        .args(args)
        .env("OSS_ACCESS_KEY_ID", keys.0)
        .env("OSS_ACCESS_KEY_SECRET", keys.1)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap().trim().to_string(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn sorted_url(u: &str) -> (String, Vec<(String, String)>) {
    let parsed = url::Url::parse(u).unwrap();
    let mut q: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    q.sort();
    // oss2 escapes '/' in the path by default; OSS decodes the path either way.
    let path = percent_encoding::percent_decode_str(parsed.path())
        .decode_utf8()
        .unwrap()
        .into_owned();
    (format!("{}{path}", parsed.host_str().unwrap()), q)
}

#[test]
fn sign_reproduces_the_sdk_vectors() {
    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("vectors/oss_v1_presign.json")).unwrap(),
    )
    .unwrap();
    let v = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "put_callback_query")
        .unwrap();
    let p = &v["inputs"]["extra_query_params"];
    let (url, _) = sign(&[
        "--signature-version",
        "v1",
        "--endpoint",
        "https://oss-cn-hangzhou.aliyuncs.com",
        "--bucket",
        "examplebucket",
        "--key",
        "uploads/2023/photo.jpg",
        "--expires-at",
        "1700003600",
        "--param",
        &format!("callback={}", p["callback"].as_str().unwrap()),
        "--param",
        &format!("callback-var={}", p["callback-var"].as_str().unwrap()),
    ]);
    assert_eq!(
        sorted_url(&url),
        sorted_url(v["expected"]["url"].as_str().unwrap())
    );

    let vectors: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("vectors/oss_v4_presign.json")).unwrap(),
    )
    .unwrap();
    let v = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "put_sts_token")
        .unwrap();
    let i = &v["inputs"];
    let keys = (
        i["access_key_id"].as_str().unwrap(),
        i["access_key_secret"].as_str().unwrap(),
    );
    let (url, explain) = sign_as(
        keys,
        &[
            "--endpoint",
            "https://oss-cn-hangzhou.aliyuncs.com",
            "--region",
            "cn-hangzhou",
            "--bucket",
            "examplebucket",
            "--key",
            "uploads/2023/photo.jpg",
            "--expires-in",
            "3600",
            "--now",
            "1700000000",
            "--security-token",
            v["inputs"]["security_token"].as_str().unwrap(),
            "--explain",
        ],
    );
    assert_eq!(
        sorted_url(&url),
        sorted_url(v["expected"]["url"].as_str().unwrap())
    );
    assert!(
        explain.contains("--- canonical request\nPUT\n/examplebucket/uploads/2023/photo.jpg\n"),
        "{explain}"
    );
    assert!(explain.contains("OSS4-HMAC-SHA256\n20231114T221320Z\n"));
}
