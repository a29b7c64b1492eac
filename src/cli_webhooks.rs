//! `upload-gateway webhooks list-failed|redeliver`: the dead letters an operator inspects and
//! sends again once the endpoint is fixed. Redelivery uses the configured endpoint (never a
//! URL from the command line) and the same `webhook-id`, newly signed.

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::webhooks::{Sender, dead_letter};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Subcommand, Debug)]
pub enum WebhooksCommand {
    /// List the events given up on after the retry period, one line each: endpoint,
    /// webhook-id, type, upload id, attempts, when, last error.
    ListFailed {
        /// Only this endpoint (default: every configured one).
        #[arg(long)]
        endpoint: Option<String>,
        /// One JSON object per line instead, with the body.
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters again, once each; those the endpoint takes leave the list.
    Redeliver {
        #[arg(long)]
        endpoint: Option<String>,
        /// Only these webhook ids (repeatable).
        #[arg(long = "id", required_unless_present = "all")]
        ids: Vec<String>,
        /// Every dead letter (of --endpoint, or of all endpoints).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub fn run(cmd: WebhooksCommand, config: Option<&Path>) -> ExitCode {
    if let Some(msg) = crate::cli_ops::missing_config(config) {
        eprintln!("{msg}");
        return ExitCode::FAILURE;
    }
    let settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match run_async(cmd, &settings).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn run_async(cmd: WebhooksCommand, settings: &Settings) -> Result<ExitCode, String> {
    let metrics = Arc::new(Metrics::new());
    let store = Store::new(&settings.redis, metrics.clone()).map_err(|e| e.to_string())?;
    let wanted = match &cmd {
        WebhooksCommand::ListFailed { endpoint, .. }
        | WebhooksCommand::Redeliver { endpoint, .. } => endpoint.clone(),
    };
    let endpoints: Vec<_> = settings
        .webhooks
        .endpoints
        .iter()
        .filter(|e| wanted.as_ref().is_none_or(|w| *w == e.name))
        .collect();
    if let Some(w) = &wanted
        && endpoints.is_empty()
    {
        return Err(format!("no webhook endpoint named '{w}' in the config"));
    }
    match cmd {
        WebhooksCommand::ListFailed { json, .. } => {
            let mut n = 0;
            for e in &endpoints {
                for l in dead_letter::list(&store, &e.name)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    n += 1;
                    if json {
                        println!("{}", serde_json::to_string(&l).unwrap_or_default());
                    } else {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                            l.endpoint,
                            l.webhook_id,
                            l.event_type,
                            l.upload_id(),
                            l.attempts,
                            l.dead_at,
                            l.last_error
                        );
                    }
                }
            }
            eprintln!("{n} dead letter(s)");
            Ok(ExitCode::SUCCESS)
        }
        WebhooksCommand::Redeliver { ids, all, .. } => {
            let sender = Sender::new(&settings.webhooks, metrics)?;
            let only = (!all).then_some(ids.as_slice());
            let (mut delivered, mut failed) = (0, 0);
            for e in &endpoints {
                let r = dead_letter::redeliver(&store, &sender, e, only)
                    .await
                    .map_err(|e| e.to_string())?;
                for id in &r.delivered {
                    println!("delivered\t{}\t{id}", e.name);
                }
                for (id, why) in &r.failed {
                    println!("failed\t{}\t{id}\t{why}", e.name);
                }
                delivered += r.delivered.len();
                failed += r.failed.len();
            }
            println!("redelivered {delivered}, failed {failed}");
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
