//! Operator subcommands: `healthcheck` (the container image has no curl) and
//! `journal inspect|replay` (drain the journal volume of a replica that is gone).

use crate::callbacks::journal;
use crate::config::{CONFIG_PATH_ENV, Settings};
use crate::metrics::Metrics;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Without a file and without any `UPLOAD_GATEWAY__*` variable, every later error would be
/// about the first missing key, which hides the real cause.
pub fn missing_config(path: Option<&Path>) -> Option<String> {
    let from_env = std::env::vars_os().any(|(k, _)| {
        k.to_str()
            .is_some_and(|k| k.starts_with(crate::config::ENV_PREFIX))
    });
    (path.is_none() && !from_env).then(|| {
        format!(
            "no config file given: pass --config PATH or set {CONFIG_PATH_ENV} \
             (config/example.toml documents every key)"
        )
    })
}

#[derive(clap::Args, Debug)]
pub struct HealthcheckArgs {
    /// URL to GET (default: /healthz on the loopback side of `server.listen`).
    #[arg(long)]
    url: Option<String>,
    /// Ask /readyz instead of /healthz: the gateway and Redis must both answer.
    #[arg(long, conflicts_with = "url")]
    ready: bool,
    #[arg(long, default_value_t = 3)]
    timeout_secs: u64,
}

/// Exit 0 when the URL answers 200, else 1 with one line saying why.
pub fn healthcheck(args: HealthcheckArgs, config: Option<&Path>) -> ExitCode {
    let target = match args.url {
        Some(u) => u,
        None => {
            if let Some(msg) = missing_config(config) {
                return unhealthy(&msg);
            }
            match Settings::load(config) {
                Ok(s) => {
                    let path = if args.ready { "/readyz" } else { "/healthz" };
                    format!("http://{}{path}", loopback_side(s.listen))
                }
                Err(e) => return unhealthy(&e.to_string()),
            }
        }
    };
    match http_get_status(&target, Duration::from_secs(args.timeout_secs.max(1))) {
        Ok(200) => {
            println!("healthy: 200 from {target}");
            ExitCode::SUCCESS
        }
        Ok(status) => unhealthy(&format!("{status} from {target}")),
        Err(e) => unhealthy(&format!("{target}: {e}")),
    }
}

fn unhealthy(msg: &str) -> ExitCode {
    println!("unhealthy: {msg}");
    ExitCode::FAILURE
}

/// A wildcard listen address is reached through loopback from inside the container.
fn loopback_side(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listen.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listen.port()).into(),
        _ => listen,
    }
}

/// The status code of one plain-HTTP GET; enough for a probe, and no TLS or runtime needed.
fn http_get_status(target: &str, timeout: Duration) -> Result<u16, String> {
    let url = url::Url::parse(target).map_err(|e| format!("not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err("only http:// URLs can be probed".into());
    }
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("the host resolves to nothing")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    // One write: a formatted write! to the socket goes out in pieces.
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: upload-gateway-healthcheck\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let mut n = 0;
    while n < 12 {
        match stream.read(&mut head[n..]).map_err(|e| e.to_string())? {
            0 => break,
            k => n += k,
        }
    }
    let line = String::from_utf8_lossy(&head[..n]);
    line.strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {line:?}"))
}

#[derive(clap::Subcommand, Debug)]
pub enum JournalCommand {
    /// List the callbacks a journal directory holds. Takes no lock, so it is safe next to a
    /// running gateway.
    Inspect {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Record a journal directory's callbacks in Redis (from the config) and delete them.
    /// Refused while a gateway uses the directory.
    Replay {
        #[arg(long)]
        dir: PathBuf,
    },
}

pub fn journal(cmd: JournalCommand, config: Option<&Path>) -> ExitCode {
    match cmd {
        JournalCommand::Inspect { dir } => inspect(&dir),
        JournalCommand::Replay { dir } => replay(&dir, config),
    }
}

fn inspect(dir: &Path) -> ExitCode {
    let files = match journal::files_in(dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let mut total = 0;
    for file in &files {
        let entries = match journal::read_entries(file) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("{}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        };
        for e in &entries {
            let f = e.callback.fields();
            let received = e
                .callback
                .received_at()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            println!(
                "{received}\t{}\t{}\t{}/{}\tsize={}\tetag={}",
                e.binding.upload_id(),
                e.callback.provider(),
                f.bucket,
                f.object,
                f.size.map(|s| s.to_string()).unwrap_or_default(),
                f.etag.as_deref().unwrap_or("")
            );
        }
        total += entries.len();
    }
    println!(
        "{total} journaled callback(s) in {} file(s) under {}",
        files.len(),
        dir.display()
    );
    ExitCode::SUCCESS
}

fn replay(dir: &Path, config: Option<&Path>) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("{msg}");
        ExitCode::FAILURE
    };
    if !dir.is_dir() {
        return fail(format!("{}: not a directory", dir.display()));
    }
    if let Some(msg) = missing_config(config) {
        return fail(msg);
    }
    let mut settings = match Settings::load(config) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    settings.callbacks.journal_dir = dir.to_path_buf();
    let settings = Arc::new(settings);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async {
        let metrics = Arc::new(Metrics::new());
        let store = match crate::store::Store::new(&settings.redis, metrics.clone()) {
            Ok(s) => s,
            Err(e) => return fail(format!("redis: {e}")),
        };
        if let Err(e) = store.ping().await {
            return fail(format!("redis is not answering, nothing replayed: {e}"));
        }
        // Replay records what was verified before it was journaled: no verifier is needed.
        let no_verifiers = Default::default();
        let receiver = match crate::callbacks::Receiver::new(
            settings.clone(),
            no_verifiers,
            crate::providers::Providers::default(),
            &store,
            metrics.clone(),
        ) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let result = receiver.replay(&store).await;
        let count = |r: &str| metrics.journal_replayed_total.with_label_values(&[r]).get();
        let summary = format!(
            "applied {}, duplicate {}, refused {}; {} left in {}",
            count("applied"),
            count("duplicate"),
            count("refused"),
            receiver.journal().depth(),
            dir.display()
        );
        match result {
            Ok(_) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("replay stopped ({e}): {summary}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_probed_on_loopback() {
        let probe = |s: &str| loopback_side(s.parse().unwrap()).to_string();
        assert_eq!(probe("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(probe("[::]:8080"), "[::1]:8080");
        assert_eq!(probe("10.1.2.3:9"), "10.1.2.3:9");
    }

    #[test]
    fn the_probe_reads_the_status_line_and_refuses_https() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            // Read the whole request first: answering early makes the client's write fail.
            let mut got = Vec::new();
            let mut buf = [0u8; 512];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&got).to_string()
        });
        let status = http_get_status(
            &format!("http://127.0.0.1:{port}/readyz?x=1"),
            Duration::from_secs(2),
        );
        assert_eq!(status, Ok(503));
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /readyz?x=1 HTTP/1.1\r\n")
        );
        assert!(http_get_status("https://127.0.0.1:1/", Duration::from_secs(1)).is_err());
    }
}
