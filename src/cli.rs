//! Command line: `serve` (default), `check-config`, `hash-api-key`, and the debug tools.

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
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::CheckConfig { path } => check_config(path.or(cli.config)),
        Command::Sign(cmd) => crate::cli_sign::run(*cmd),
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

fn check_config(path: Option<PathBuf>) -> ExitCode {
    match Settings::load(path.as_deref()) {
        Ok(s) => {
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
