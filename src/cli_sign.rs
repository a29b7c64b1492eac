//! `upload-gateway sign oss ...`: presign one request the way the gateway does, for users
//! chasing SignatureDoesNotMatch. `--explain` shows what was signed.

use crate::config::UrlStyle;
use crate::providers::oss::location::BucketLocation;
use crate::providers::oss::presign::{Credentials, PresignInput};
use crate::providers::oss::{sign_v1, sign_v4};
use clap::{Args, Subcommand, ValueEnum};
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(Subcommand, Debug)]
pub enum SignCommand {
    /// Alibaba Cloud OSS (credentials from OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET).
    Oss(OssSign),
    /// Tencent Cloud COS (credentials from COS_SECRET_ID / COS_SECRET_KEY).
    Cos(crate::cli_sign_cos::CosSign),
    /// S3 and S3-compatible stores, SigV4 (credentials from AWS_ACCESS_KEY_ID /
    /// AWS_SECRET_ACCESS_KEY).
    S3(crate::cli_sign_s3::S3Sign),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Version {
    V1,
    V4,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Style {
    VirtualHosted,
    Cname,
    Path,
}

#[derive(Args, Debug)]
pub struct OssSign {
    #[arg(long, value_enum, default_value = "v4")]
    signature_version: Version,
    #[arg(long, default_value = "PUT")]
    method: String,
    /// e.g. https://oss-cn-hangzhou.aliyuncs.com
    #[arg(long)]
    endpoint: url::Url,
    #[arg(long)]
    bucket: String,
    #[arg(long)]
    key: String,
    /// Required for V4, e.g. cn-hangzhou.
    #[arg(long)]
    region: Option<String>,
    #[arg(long, value_enum, default_value = "virtual-hosted")]
    url_style: Style,
    /// Absolute expiry (unix seconds).
    #[arg(long, conflicts_with = "expires_in")]
    expires_at: Option<i64>,
    /// Lifetime in seconds from --now.
    #[arg(long)]
    expires_in: Option<u64>,
    /// The signing time (unix seconds); default: the current time.
    #[arg(long)]
    now: Option<i64>,
    #[arg(long)]
    content_type: Option<String>,
    #[arg(long)]
    content_md5: Option<String>,
    /// A header the client will send, 'name: value' (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// V4: a further header name to sign (repeatable).
    #[arg(long = "additional-header")]
    additional_headers: Vec<String>,
    /// A query parameter or sub-resource, 'name=value' or 'name' (repeatable).
    #[arg(long = "param")]
    params: Vec<String>,
    #[arg(long)]
    security_token: Option<String>,
    /// Print the canonical request and string to sign on stderr.
    #[arg(long)]
    explain: bool,
}

pub fn run(cmd: SignCommand) -> ExitCode {
    let done = match cmd {
        SignCommand::Oss(args) => sign_oss(args),
        SignCommand::Cos(args) => return crate::cli_sign_cos::run(args),
        SignCommand::S3(args) => crate::cli_sign_s3::sign_s3(args),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sign_oss(a: OssSign) -> Result<(), String> {
    let id = std::env::var("OSS_ACCESS_KEY_ID").map_err(|_| "set OSS_ACCESS_KEY_ID".to_string())?;
    let secret = std::env::var("OSS_ACCESS_KEY_SECRET")
        .map_err(|_| "set OSS_ACCESS_KEY_SECRET".to_string())?;
    let mut now_unix = a
        .now
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
    if let (Some(at), None, Version::V1) = (a.expires_at, a.now, a.signature_version) {
        // V1 signs only the absolute expiry, so a past one (reproducing an old URL) is fine.
        if at < now_unix {
            eprintln!("note: --expires-at is in the past; the URL is already expired");
            now_unix = at;
        }
    }
    let now = OffsetDateTime::from_unix_timestamp(now_unix).map_err(|e| format!("--now: {e}"))?;
    let expires_in = match (a.expires_at, a.expires_in) {
        (Some(at), None) => {
            u64::try_from(at - now_unix).map_err(|_| "--expires-at is before --now".to_string())?
        }
        (None, Some(secs)) => secs,
        _ => return Err("give --expires-at or --expires-in".into()),
    };

    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(ct) = a.content_type {
        headers.push(("Content-Type".into(), ct));
    }
    if let Some(md5) = a.content_md5 {
        headers.push(("Content-MD5".into(), md5));
    }
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header '{h}': expected 'name: value'"))?;
        headers.push((name.trim().to_string(), value.trim_start().to_string()));
    }
    let params: Vec<(String, String)> = a
        .params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect();

    let host = match a.endpoint.port() {
        Some(p) => format!("{}:{p}", a.endpoint.host_str().unwrap_or_default()),
        None => a.endpoint.host_str().unwrap_or_default().to_string(),
    };
    let style = match a.url_style {
        Style::VirtualHosted => UrlStyle::VirtualHosted,
        Style::Cname => UrlStyle::Cname,
        Style::Path => UrlStyle::Path,
    };
    let loc = BucketLocation::new(a.endpoint.scheme(), &host, &a.bucket, style);
    let method = a.method.to_ascii_uppercase();
    let input = PresignInput {
        method: &method,
        key: &a.key,
        headers: &headers,
        additional_headers: &a.additional_headers,
        params: &params,
        now,
        expires_in,
    };
    let creds = Credentials {
        access_key_id: &id,
        access_key_secret: &secret,
        security_token: a.security_token.as_deref(),
    };
    let signed = match a.signature_version {
        Version::V1 => sign_v1::presign(&loc, creds, &input, true),
        Version::V4 => {
            let region = a.region.as_deref().ok_or("--region is required for V4")?;
            sign_v4::presign(&loc, region, creds, &input)
        }
    };
    if a.explain {
        if let Some(c) = &signed.canonical_request {
            eprintln!("--- canonical request\n{c}");
        }
        eprintln!("--- string to sign\n{}\n---", signed.string_to_sign);
        if !headers.is_empty() {
            eprintln!("--- the client must send exactly these headers");
            for (k, v) in &headers {
                eprintln!("{k}: {v}");
            }
        }
    }
    println!("{}", signed.url);
    Ok(())
}
