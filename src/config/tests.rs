use super::*;
use std::time::Duration;

pub(crate) const MINIMAL: &str = r#"
[auth]
[[auth.api_keys]]
name = "k"
user = "svc"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"

[security]
ticket_secret = "0123456789abcdef0123"

[buckets.main]
provider = "oss"
bucket = "examplebucket"
endpoint = "https://oss-cn-hangzhou.aliyuncs.com"
region = "cn-hangzhou"
access_key_id = "LTAI5tFakeAccessKeyId000"
access_key_secret = "FakeAccessKeySecret0000000000000"

[profiles.avatars]
bucket = "main"
key_template = "avatars/{user}/{uuid}{ext}"
max_size_bytes = 1048576
content_types = ["image/*"]
"#;

fn err(text: &str) -> String {
    match Settings::from_toml(text) {
        Ok(_) => panic!("config unexpectedly valid"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_shipped_example_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let s = Settings::load(Some(&path)).unwrap();
    assert!(s.profiles.contains_key("avatars"));
    assert_eq!(
        s.callbacks.url.as_str(),
        "http://127.0.0.1:8080/v1/callbacks/oss"
    );
}

/// The commented S3 block of the example, uncommented, loads as it is.
#[test]
fn the_examples_s3_block_is_valid_when_uncommented() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let (_, rest) = text.split_once("# --- s3 example ---\n").unwrap();
    let (block, _) = rest.split_once("# --- end of s3 example ---").unwrap();
    let block: String = block
        .lines()
        .filter(|l| !l.starts_with("# #"))
        .map(|l| l.strip_prefix("# ").unwrap_or(l).to_string() + "\n")
        .collect();
    let s3 = block.replace(
        "access_key_secret_file = \"/run/secrets/s3-secret-key\"",
        "access_key_secret = \"x\"",
    );
    let s = Settings::from_toml(&format!("{MINIMAL}\n{s3}")).unwrap();
    let b = &s.buckets["s3"];
    assert_eq!(b.kind(), ProviderKind::S3);
    assert_eq!(
        b.endpoint.as_str(),
        "https://s3.eu-central-1.amazonaws.com/"
    );
    assert!(s.profiles["s3sts"].allows(crate::domain::UploadKind::Sts));
}

#[test]
fn a_minimal_config_gets_defaults() {
    let s = Settings::from_toml(MINIMAL).unwrap();
    assert_eq!(s.listen.port(), 8080);
    assert_eq!(s.redis.key_prefix, "ugw");
    let p = s.profile("avatars").unwrap();
    match &p.bucket.vendor {
        VendorBucket::Oss(oss) => assert_eq!(oss.signature_version, SignatureVersion::V4),
        _ => panic!("the example's main bucket is at OSS"),
    }
    assert_eq!(p.expires_in, Duration::from_secs(900));
    assert!(p.callback);
}

#[test]
fn unknown_keys_are_named() {
    let e = err(&format!("{MINIMAL}\n[server]\nlisten_addr = \"x\"\n"));
    assert_eq!(
        e,
        "config error: server.listen_addr: unknown key (from TOML source string)"
    );
    let e = err(&format!("{MINIMAL}\n[sever]\n"));
    assert_eq!(
        e,
        "config error: sever: unknown key (from TOML source string)"
    );
    let e = err(&MINIMAL.replace("max_size_bytes", "max_size"));
    assert!(
        e.starts_with("config error: profiles.avatars.max_size: unknown key"),
        "{e}"
    );
}

#[test]
fn a_missing_secret_is_named() {
    let e = err(&MINIMAL.replace(
        "access_key_secret = \"FakeAccessKeySecret0000000000000\"",
        "",
    ));
    assert_eq!(
        e,
        "config error: buckets.main.access_key_secret: missing secret: set buckets.main.access_key_secret or buckets.main.access_key_secret_file"
    );
    let e = err(&MINIMAL.replace("ticket_secret = \"0123456789abcdef0123\"", ""));
    assert!(
        e.starts_with("config error: security.ticket_secret: missing secret"),
        "{e}"
    );
}

#[test]
fn bad_values_are_explained() {
    assert!(
        err(&MINIMAL.replace("{user}/{uuid}", "{uuid}")).contains("profiles.avatars.key_template")
    );
    assert!(err(&MINIMAL.replace("image/*", "image")).contains("profiles.avatars.content_types"));
    assert!(
        err(&MINIMAL.replace("bucket = \"main\"", "bucket = \"nope\""))
            .contains("no [buckets.nope] section")
    );
    assert!(
        err(&MINIMAL.replace("provider = \"oss\"", "provider = \"ftp\""))
            .contains("unknown provider")
    );
    assert!(
        err(&MINIMAL.replace("https://oss-cn", "ftp://oss-cn")).contains("buckets.main.endpoint")
    );
    assert!(
        err(&MINIMAL.replace("max_size_bytes = 1048576", "max_size_bytes = \"big\""))
            .contains("profiles.avatars.max_size_bytes")
    );
    assert!(
        err(&format!(
            "{MINIMAL}\n[redis]\nurl = \"redis://:pw@h:6379\"\n"
        ))
        .contains("must not embed credentials")
    );
}

#[test]
fn auth_must_be_configured() {
    let no_auth = MINIMAL.replace(
        "[[auth.api_keys]]\nname = \"k\"\nuser = \"svc\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"",
        "",
    );
    assert!(err(&no_auth).starts_with("config error: auth: configure"));
    let short_hs = format!(
        "{MINIMAL}\n[auth.jwt]\nhs256_secret = \"short\"\nissuer = \"i\"\naudience = \"a\"\n"
    );
    assert!(err(&short_hs).contains("auth.jwt.hs256_secret: must be at least 32"));
    let no_aud = format!(
        "{MINIMAL}\n[auth.jwt]\nhs256_secret = \"{}\"\nissuer = \"i\"\n",
        "x".repeat(32)
    );
    assert!(err(&no_aud).contains("issuer and audience are required"));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let s = Settings::from_toml(MINIMAL).unwrap();
    let dbg = format!("{:?}", s.profile("avatars").unwrap());
    assert!(!dbg.contains("FakeAccessKeySecret"), "{dbg}");
    assert!(!format!("{:?}", s.ticket_secret).contains("0123456789abcdef0123"));
}

#[test]
fn callback_settings_are_checked_at_load() {
    let e = err(&format!(
        "{MINIMAL}\n[callbacks]\nresponse_fields = [\"user_secret\"]\n"
    ));
    assert!(
        e.starts_with("config error: callbacks.response_fields: 'user_secret' is not one of"),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}\n[[callbacks.pinned_keys]]\nurl = \"https://gosspublic.alicdn.com/k2.pem\"\npem = \"not a key\"\n"
    ));
    assert!(
        e.starts_with("config error: callbacks.pinned_keys[0]: not an RSA public key"),
        "{e}"
    );
    let e = err(&format!(
        "{MINIMAL}\n[callbacks]\nkey_url_prefixes = [\"https://keys.example.com\"]\n"
    ));
    assert!(e.contains("must end with '/'"), "{e}");
}

#[test]
fn the_demo_runs_only_on_loopback_and_the_local_config_is_valid() {
    let demo = "\n[demo]\nenabled = true\nprofile = \"avatars\"\nuser = \"demo-user\"\n";
    let local = format!("[server]\nlisten = \"127.0.0.1:8080\"\n{MINIMAL}{demo}");
    assert!(Settings::from_toml(&local).is_ok());
    let public = format!("[server]\nlisten = \"0.0.0.0:8080\"\n{MINIMAL}{demo}");
    assert!(err(&public).contains("demo.enabled"));
    let orphan =
        format!("{MINIMAL}\n[multipart]\nupload_expires_secs = 100\norphan_age_secs = 50\n");
    assert!(err(&orphan).contains("orphan_age_secs"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/local.toml");
    let s = Settings::load(Some(&path)).unwrap();
    assert!(s.demo.enabled && s.uppy.profile.is_some());
}

#[test]
fn a_loopback_callback_url_with_a_cloud_bucket_is_warned_about() {
    let cloud = Settings::from_toml(MINIMAL).unwrap();
    let w = cloud.warnings();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("bucket 'main'") && w[0].contains("server.public_url"),
        "{w:?}"
    );
    let reachable = Settings::from_toml(&format!(
        "[server]\npublic_url = \"https://gw.example.com\"\n{MINIMAL}"
    ))
    .unwrap();
    assert!(reachable.warnings().is_empty());
    let local = Settings::from_toml(include_str!("../../config/local.toml")).unwrap();
    assert!(local.warnings().is_empty(), "{:?}", local.warnings());
}

#[test]
fn an_sts_key_pair_is_both_halves_or_neither() {
    let sts = "\n[buckets.main.sts]\nrole_arn = \"acs:ram::1234567890123456:role/uploader\"\n";
    let base = MINIMAL.replace(
        "\n[profiles.avatars]",
        &format!("{sts}\n[profiles.avatars]"),
    );
    Settings::from_toml(&base).expect("the bucket's own pair");
    let half = base.replace(
        "role_arn = ",
        "access_key_id = \"LTAI5tStsOnlyKeyId0000\"\nrole_arn = ",
    );
    assert!(
        err(&half).contains("buckets.main.sts.access_key_id"),
        "{}",
        err(&half)
    );
    let both = half.replace(
        "role_arn = ",
        "access_key_secret = \"StsOnlySecret00000000000000000\"\nrole_arn = ",
    );
    Settings::from_toml(&both).expect("the section's own pair");
}
