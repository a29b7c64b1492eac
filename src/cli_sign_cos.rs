//! `upload-gateway sign cos ...`: a COS presigned URL exactly as the gateway signs it, for
//! chasing SignatureDoesNotMatch. `--explain` prints HttpString and StringToSign, the two
//! strings COS returns in its error body, so they can be compared line by line.

use crate::providers::cos::presign::{UrlInput, presign_url};
use crate::providers::cos::{BucketName, CosLocation, Credentials, DEFAULT_SKEW_SECS, KeyTime};
use clap::Args;
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(Args, Debug)]
pub struct CosSign {
    #[arg(long, default_value = "PUT")]
    method: String,
    /// Full bucket name with APPID, e.g. examplebucket-1250000000.
    #[arg(long)]
    bucket: String,
    /// e.g. ap-guangzhou.
    #[arg(long)]
    region: String,
    /// The object key, raw (not URL-encoded).
    #[arg(long)]
    key: String,
    /// The signature's validity window, 'START;END' (unix seconds), as COS echoes it.
    #[arg(long, conflicts_with_all = ["now", "expires_in"])]
    key_time: Option<String>,
    /// The signing time (unix seconds); default: the current time.
    #[arg(long)]
    now: Option<i64>,
    /// Lifetime in seconds from --now.
    #[arg(long)]
    expires_in: Option<u64>,
    /// How many seconds before --now the key time starts.
    #[arg(long, default_value_t = DEFAULT_SKEW_SECS)]
    skew: u64,
    /// Default https://{bucket}.cos.{region}.myqcloud.com; {bucket} and {region} are filled in.
    #[arg(long)]
    endpoint: Option<String>,
    /// Leave `host` out of the signature (CDN and custom domains; weaker).
    #[arg(long)]
    no_sign_host: bool,
    /// A header to sign, which the client must then send: 'name: value' (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// A query parameter to sign: 'name=value' or 'name' (repeatable).
    #[arg(long = "param")]
    params: Vec<String>,
    /// Temporary credentials' token: signed into the query, as cos-python-sdk-v5 does.
    #[arg(long)]
    security_token: Option<String>,
    /// Print HttpString and StringToSign on stderr.
    #[arg(long)]
    explain: bool,
}

pub fn run(a: CosSign) -> ExitCode {
    match sign(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn sign(a: CosSign) -> Result<(), String> {
    let id = std::env::var("COS_SECRET_ID").map_err(|_| "set COS_SECRET_ID".to_string())?;
    let secret = std::env::var("COS_SECRET_KEY").map_err(|_| "set COS_SECRET_KEY".to_string())?;
    let key_time = match (&a.key_time, a.expires_in) {
        (Some(kt), _) => KeyTime::parse(kt)
            .ok_or_else(|| format!("--key-time '{kt}': expected 'START;END' with START <= END"))?,
        (None, Some(secs)) => {
            let now = a
                .now
                .unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
            KeyTime::around(now, secs, a.skew)
        }
        (None, None) => return Err("give --key-time, or --expires-in (with --now)".into()),
    };
    let bucket = BucketName::parse(&a.bucket).map_err(|e| format!("--bucket: {e}"))?;
    let loc = match &a.endpoint {
        Some(ep) => CosLocation::with_endpoint(bucket, &a.region, ep),
        None => CosLocation::new(bucket, &a.region),
    }
    .map_err(|e| e.to_string())?;

    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(a.headers.len());
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header '{h}': expected 'name: value'"))?;
        headers.push((name.trim(), value.trim_start()));
    }
    let params: Vec<(&str, &str)> = a
        .params
        .iter()
        .map(|p| p.split_once('=').unwrap_or((p.as_str(), "")))
        .collect();
    let method = a.method.to_ascii_uppercase();
    let creds = Credentials {
        secret_id: &id,
        secret_key: &secret,
        security_token: a.security_token.as_deref(),
    };
    let (url, signed) = presign_url(
        &loc,
        creds,
        &UrlInput {
            method: &method,
            // The SDKs take '/key' and 'key' alike.
            key: a.key.strip_prefix('/').unwrap_or(&a.key),
            headers: &headers,
            params: &params,
            sign_host: !a.no_sign_host,
            key_time,
        },
    );
    if a.explain {
        eprintln!("--- HttpString\n{}", signed.http_string);
        eprintln!("--- StringToSign\n{}", signed.string_to_sign);
        eprintln!(
            "--- q-header-list: {}\n--- q-url-param-list: {}",
            signed.header_list, signed.url_param_list
        );
        if !headers.is_empty() {
            eprintln!("--- the client must send exactly these headers");
            for (k, v) in &headers {
                eprintln!("{k}: {v}");
            }
        }
    }
    println!("{url}");
    Ok(())
}
