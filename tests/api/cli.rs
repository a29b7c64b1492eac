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
