//! `upload-gateway sign s3 ...`: presign one request with the gateway's SigV4 signer, for
//! people chasing SignatureDoesNotMatch. `--explain` shows what was signed.

use crate::providers::s3::{
    BucketName, Credentials, Expiry, Method, PresignRequest, Region, S3Location, Service, Signer,
    UrlStyle,
};
use clap::{Args, ValueEnum};
use secrecy::SecretString;
use time::OffsetDateTime;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Style {
    Virtual,
    Path,
}

#[derive(Args, Debug)]
pub struct S3Sign {
    #[arg(long, default_value = "PUT")]
    method: String,
    /// e.g. https://s3.eu-central-1.amazonaws.com or http://127.0.0.1:3900
    #[arg(long)]
    endpoint: url::Url,
    #[arg(long)]
    bucket: String,
    #[arg(long)]
    key: String,
    /// e.g. eu-central-1 (the store's configured region for S3-compatible servers).
    #[arg(long)]
    region: String,
    #[arg(long, value_enum, default_value = "virtual")]
    url_style: Style,
    /// The signing time (unix seconds); default: the current time.
    #[arg(long)]
    now: Option<i64>,
    /// Lifetime in seconds from --now.
    #[arg(long, conflicts_with = "expires_at")]
    expires_in: Option<u64>,
    /// Absolute expiry (unix seconds).
    #[arg(long)]
    expires_at: Option<i64>,
    #[arg(long)]
    content_type: Option<String>,
    /// A header the client will send, 'name: value' (repeatable); all are signed.
    #[arg(long = "header")]
    headers: Vec<String>,
    /// A query parameter, 'name=value' (repeatable), e.g. partNumber=1.
    #[arg(long = "param")]
    params: Vec<String>,
    #[arg(long)]
    session_token: Option<String>,
    /// Print the canonical request and string to sign on stderr.
    #[arg(long)]
    explain: bool,
}

pub fn sign_s3(a: S3Sign) -> Result<(), String> {
    let id = std::env::var("AWS_ACCESS_KEY_ID").map_err(|_| "set AWS_ACCESS_KEY_ID")?;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").map_err(|_| "set AWS_SECRET_ACCESS_KEY")?;
    let now_unix = a
        .now
        .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
    let now = OffsetDateTime::from_unix_timestamp(now_unix).map_err(|e| format!("--now: {e}"))?;
    let secs = match (a.expires_at, a.expires_in) {
        (Some(at), None) => {
            u64::try_from(at - now_unix).map_err(|_| "--expires-at is before --now".to_string())?
        }
        (None, Some(secs)) => secs,
        _ => return Err("give --expires-at or --expires-in".into()),
    };
    let expires = Expiry::from_secs(secs).map_err(|e| e.to_string())?;
    let method = Method::parse(&a.method).ok_or("--method: GET, HEAD, PUT, POST or DELETE")?;

    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(ct) = a.content_type {
        headers.push(("Content-Type".into(), ct));
    }
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header '{h}': expected 'name: value'"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let params: Vec<(&str, &str)> = a
        .params
        .iter()
        .map(|p| p.split_once('=').unwrap_or((p.as_str(), "")))
        .collect();

    let style = match a.url_style {
        Style::Virtual => UrlStyle::Virtual,
        Style::Path => UrlStyle::Path,
    };
    let bucket = BucketName::parse(&a.bucket).map_err(|e| format!("--bucket: {e}"))?;
    let loc =
        S3Location::new(&a.endpoint, bucket, style).map_err(|e| format!("--endpoint: {e}"))?;
    let region = Region::parse(&a.region).map_err(|e| format!("--region: {e}"))?;
    let creds = Credentials::new(
        &id,
        SecretString::from(secret),
        a.session_token.map(SecretString::from),
    )
    .map_err(|e| format!("AWS_ACCESS_KEY_ID: {e}"))?;
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signed = Signer::new(creds, region, Service::S3)
        .presign(
            &loc,
            &PresignRequest {
                method,
                key: &a.key,
                headers: &header_refs,
                params: &params,
                now,
                expires,
            },
        )
        .map_err(|e| e.to_string())?;
    if a.explain {
        eprintln!("--- canonical request\n{}", signed.canonical_request);
        eprintln!("--- string to sign\n{}\n---", signed.string_to_sign);
        if !signed.headers.is_empty() {
            eprintln!("--- the client must send exactly these headers");
            for (k, v) in &signed.headers {
                eprintln!("{k}: {v}");
            }
        }
    }
    println!("{}", signed.url);
    Ok(())
}
