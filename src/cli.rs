//! Command line: `serve` (default), `check-config`, `hash-api-key`, the debug tools, and the
//! operator tools in [`crate::cli_ops`].

use crate::config::{CONFIG_PATH_ENV, Settings};
use crate::startup::Application;
use crate::telemetry;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "upload-gateway",
    version,
    about = "Short-lived, scoped upload rights for object storage"
)]
pub struct Cli {
    /// Configuration file (TOML); environment variables UPLOAD_GATEWAY__* override it.
    #[arg(long, short, global = true, env = CONFIG_PATH_ENV)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Validate a configuration file and exit: 0 when valid, 1 with one line naming the problem.
    CheckConfig {
        /// The file to check (default: --config).
        path: Option<PathBuf>,
    },
    /// Read an API key on stdin and print the sha256 to put in [[auth.api_keys]].
    HashApiKey,
    /// Presign a request as the gateway would (debugging SignatureDoesNotMatch).
    #[command(subcommand)]
    Sign(Box<crate::cli_sign::SignCommand>),
    /// Check a storage callback's signature as the server does: prints `valid` (exit 0) or
    /// `invalid: <reason>` (exit 1).
    VerifyCallback(VerifyCallbackArgs),
    /// Probe the running gateway (for container HEALTHCHECKs): exit 0 on a 200.
    Healthcheck(crate::cli_ops::HealthcheckArgs),
    /// Inspect or replay a callback journal directory.
    #[command(subcommand)]
    Journal(crate::cli_ops::JournalCommand),
    /// List or redeliver the webhook events given up on after the retry period.
    #[command(subcommand)]
    Webhooks(crate::cli_webhooks::WebhooksCommand),
}

#[derive(clap::Args, Debug)]
struct VerifyCallbackArgs {
    /// Path and query exactly as on the request line, e.g. '/v1/callbacks/oss?x=1'.
    #[arg(long)]
    request_target: String,
    /// The Authorization header (base64 signature).
    #[arg(long)]
    authorization: String,
    /// The x-oss-pub-key-url header (base64 of the key URL).
    #[arg(long)]
    pub_key_url_b64: String,
    /// File with the raw request body.
    #[arg(long)]
    body_file: PathBuf,
    /// PEM of the public key (default: the key pinned for the URL, OSS's current key).
    #[arg(long)]
    pub_key_file: Option<PathBuf>,
    /// Allow-listed key URL prefix (repeatable; default: OSS's two prefixes).
    #[arg(long)]
    allow_prefix: Vec<String>,
    /// On failure, also print the string that was checked (stderr).
    #[arg(long)]
    explain: bool,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::CheckConfig { path } => check_config(path.or(cli.config)),
        Command::Sign(cmd) => crate::cli_sign::run(*cmd),
        Command::VerifyCallback(args) => verify_callback(args),
        Command::Healthcheck(args) => crate::cli_ops::healthcheck(args, cli.config.as_deref()),
        Command::Journal(cmd) => crate::cli_ops::journal(cmd, cli.config.as_deref()),
        Command::Webhooks(cmd) => crate::cli_webhooks::run(cmd, cli.config.as_deref()),
        Command::HashApiKey => {
            let mut key = String::new();
            if std::io::stdin().read_to_string(&mut key).is_err() {
                eprintln!("cannot read stdin");
                return ExitCode::FAILURE;
            }
            println!(
                "{}",
                hex::encode(crate::auth::hash_api_key(
                    key.trim_end_matches(['\n', '\r'])
                ))
            );
            ExitCode::SUCCESS
        }
    }
}

fn verify_callback(a: VerifyCallbackArgs) -> ExitCode {
    use crate::providers::oss::callback::{key_url, signature};
    let invalid = |reason: String| {
        println!("invalid: {reason}");
        ExitCode::FAILURE
    };
    let prefixes = if a.allow_prefix.is_empty() {
        key_url::KeyUrlPrefixes::new(signature::OSS_KEY_URL_PREFIXES)
    } else {
        key_url::KeyUrlPrefixes::new(&a.allow_prefix)
    };
    let url = match key_url::allowed_key_url(&a.pub_key_url_b64, &prefixes) {
        Ok(u) => u,
        Err(e) => return invalid(e.to_string()),
    };
    let pem = match (&a.pub_key_file, signature::pinned_oss_key_pem(&url)) {
        (Some(f), _) => match std::fs::read_to_string(f) {
            Ok(p) => p,
            Err(e) => return invalid(format!("cannot read {}: {e}", f.display())),
        },
        (None, Some(pinned)) => pinned.to_string(),
        (None, None) => {
            return invalid(format!(
                "no pinned key for {url}; download it and pass --pub-key-file"
            ));
        }
    };
    let key = match signature::parse_public_key(&pem) {
        Ok(k) => k,
        Err(e) => return invalid(e.to_string()),
    };
    let body = match std::fs::read(&a.body_file) {
        Ok(b) => b,
        Err(e) => return invalid(format!("cannot read {}: {e}", a.body_file.display())),
    };
    match signature::verify(&key, &a.request_target, &body, &a.authorization) {
        Ok(()) => {
            println!("valid");
            ExitCode::SUCCESS
        }
        Err(e) => {
            if a.explain {
                let sts = signature::string_to_sign(&a.request_target, &body);
                eprintln!(
                    "string to sign (url_decode(path) [?query] \\n body):\n{}",
                    String::from_utf8_lossy(&sts)
                );
            }
            invalid(e.to_string())
        }
    }
}

fn check_config(path: Option<PathBuf>) -> ExitCode {
    if let Some(msg) = crate::cli_ops::missing_config(path.as_deref()) {
        eprintln!("{msg}");
        return ExitCode::FAILURE;
    }
    let checked = Settings::load(path.as_deref())
        .and_then(|s| crate::providers::Providers::check(&s).map(|()| s));
    match checked {
        Ok(s) => {
            for w in s.warnings() {
                eprintln!("warning: {w}");
            }
            println!(
                "config ok: {} bucket(s), {} profile(s)",
                s.buckets.len(),
                s.profiles.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(path: Option<PathBuf>) -> ExitCode {
    if let Some(msg) = crate::cli_ops::missing_config(path.as_deref()) {
        eprintln!("{msg}");
        return ExitCode::FAILURE;
    }
    let settings = match Settings::load(path.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = telemetry::init(settings.log.format, &settings.log.level, std::io::stdout) {
        eprintln!("config error: log.level: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in settings.warnings() {
        tracing::warn!(warning = %w, "suspicious configuration");
    }
    runtime.block_on(async {
        let app = match Application::build(settings).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!(error = %e, "start-up failed");
                eprintln!("start-up failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}
