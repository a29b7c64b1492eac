//! Builds the running service from validated settings. The listener is bound here (so
//! tests can ask for port 0 and read the port back); `main` only calls [`Application::build`]
//! and [`Application::run_until_stopped`].

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::error::ApiError;
use crate::lifecycle;
use crate::metrics::Metrics;
use crate::providers::Providers;
use crate::routes::{self, RouteTable};
use crate::state::AppState;
use crate::store::Store;
use crate::telemetry;
use crate::uploads::Uploads;
use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::middleware::{Condition, Next, from_fn};
use actix_web::{App, HttpRequest, HttpServer, web};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

impl StartupError {
    fn from_display(context: &str, e: impl std::fmt::Display) -> Self {
        StartupError(format!("{context}: {e}"))
    }
}

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    routes: RouteTable,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let settings = Arc::new(settings);
        let metrics = Arc::new(Metrics::new());
        let store = Store::new(&settings.redis, metrics.clone())
            .map_err(|e| StartupError::from_display("redis", e))?;
        let auth = web::Data::new(
            Authenticator::new(&settings.auth, metrics.clone()).map_err(StartupError)?,
        );
        let http = crate::http_client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| StartupError::from_display("http client", e))?;
        let providers =
            Providers::from_settings(&settings, &http).map_err(|e| StartupError(e.to_string()))?;
        let verifiers = providers
            .verifiers(&settings, metrics.clone())
            .map_err(StartupError)?;
        let callbacks = crate::callbacks::Receiver::new(
            settings.clone(),
            verifiers,
            providers.clone(),
            &store,
            metrics.clone(),
        )
        .map_err(StartupError)?;
        let notifiers = providers
            .notification_verifiers(&settings, metrics.clone())
            .map_err(StartupError)?;
        let uploads = Uploads::new(settings.clone(), store.clone(), providers, metrics.clone())
            .with_notifiers(notifiers);
        let state = web::Data::new(AppState {
            settings: settings.clone(),
            store,
            metrics: metrics.clone(),
            uploads: Arc::new(uploads),
            callbacks: Arc::new(callbacks),
        });

        let listener = TcpListener::bind(settings.listen).map_err(|e| {
            StartupError::from_display(&format!("cannot listen on {}", settings.listen), e)
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::from_display("listener", e))?
            .port();
        let routes = routes::router(&state).table().clone();
        let route_table = web::Data::new(routes.clone());

        let max_body = settings.server.max_body_bytes;
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            let state = server_state.clone();
            let metrics = state.metrics.clone();
            let cors = cors(&state.settings);
            let router = routes::router(&state);
            App::new()
                .app_data(state)
                .app_data(route_table.clone())
                .app_data(auth.clone())
                .app_data(json_config(max_body))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .app_data(web::PayloadConfig::new(max_body))
                .wrap(Condition::new(cors.is_some(), cors.unwrap_or_default()))
                .wrap(from_fn(cors_refusals_as_json))
                .wrap(from_fn(move |req, next| {
                    telemetry::request_context(metrics.clone(), req, next)
                }))
                .service(router.into_services())
                .default_service(web::to(routes::route_not_found))
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs);
        let server = if settings.server.workers > 0 {
            server.workers(settings.server.workers)
        } else {
            server
        };
        let server = server
            .listen(listener)
            .map_err(|e| StartupError::from_display("listen", e))?
            .run();

        let (metrics_server, metrics_port) = match settings.metrics.listen {
            None => (None, None),
            Some(addr) => {
                let listener = TcpListener::bind(addr).map_err(|e| {
                    StartupError::from_display(&format!("cannot listen on {addr}"), e)
                })?;
                let port = listener
                    .local_addr()
                    .map_err(|e| StartupError::from_display("listener", e))?
                    .port();
                let metrics_state = state.clone();
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(metrics_state.clone())
                        .service(routes::metrics_router().into_services())
                        .default_service(web::to(routes::route_not_found))
                })
                .workers(1)
                .listen(listener)
                .map_err(|e| StartupError::from_display("listen", e))?
                .run();
                (Some(server), Some(port))
            }
        };

        tracing::info!(
            port,
            metrics_port,
            profiles = settings.profiles.len(),
            "upload-gateway listening"
        );
        Ok(Application {
            port,
            metrics_port,
            server,
            metrics_server,
            routes,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// Every `(method, path)` the API listener serves.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM/SIGINT (or the server handle stops it), draining in-flight
    /// requests for up to `server.shutdown_timeout_secs`, then the callback journal into
    /// Redis when Redis answers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // An actix `Server` only accepts connections while it is polled, so the metrics
        // listener gets its own task; it is stopped after the API listener has drained.
        let metrics = self.metrics_server.map(|s| {
            let handle = s.handle();
            (handle, tokio::spawn(s))
        });
        // Aborted when this future ends or is dropped.
        let background = AbortOnDrop(vec![
            tokio::spawn(replay_journal(self.state.clone())),
            tokio::spawn(reconcile(self.state.clone())),
            tokio::spawn(sweep_multipart(self.state.clone())),
            tokio::spawn(lifecycle::warn_if_redis_evicts(self.state.settings.clone())),
            tokio::spawn(deliver_webhooks(self.state.clone())),
        ]);
        let result = self.server.await;
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        // Stop the periodic replay first, so the final one has the journal to itself.
        drop(background);
        lifecycle::drain_journal(&self.state).await;
        tracing::info!("upload-gateway stopped");
        result
    }
}

struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Moves journaled callbacks into Redis whenever the journal holds any (at start too: a
/// previous run may have left some).
async fn replay_journal(state: web::Data<AppState>) {
    let interval = state.settings.callbacks.replay_interval;
    loop {
        if state.callbacks.journal().depth() > 0 {
            match state.callbacks.replay(&state.store).await {
                Ok(n) => tracing::info!(entries = n, "journaled callbacks replayed into Redis"),
                Err(e) => tracing::warn!(error = %e, "journal replay paused; will retry"),
            }
        }
        tokio::time::sleep(interval).await;
    }
}

async fn reconcile(state: web::Data<AppState>) {
    let interval = state.settings.callbacks.reconcile_interval;
    loop {
        tokio::time::sleep(interval).await;
        match state.uploads.reconcile_once().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(uploads = n, "reconciled uploads past their expiry"),
            Err(e) => tracing::warn!(error = %e, "reconcile round failed; will retry"),
        }
    }
}

async fn deliver_webhooks(state: web::Data<AppState>) {
    let built = crate::webhooks::Webhooks::new(
        state.settings.clone(),
        state.store.clone(),
        state.metrics.clone(),
    );
    match built {
        Ok(Some(webhooks)) => webhooks.run().await,
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "webhook delivery cannot start"),
    }
}

async fn sweep_multipart(state: web::Data<AppState>) {
    let interval = Duration::from_secs(state.settings.multipart.sweep_interval_secs.max(1));
    loop {
        tokio::time::sleep(interval).await;
        match state.uploads.sweep_once().await {
            Ok(s) if s.expired + s.orphans > 0 => tracing::info!(
                expired = s.expired,
                orphans = s.orphans,
                errors = s.errors,
                "multipart sweep aborted stale uploads"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "multipart sweep failed; will retry"),
        }
    }
}

/// actix-cors answers a refused origin or preflight in plain text; every answer here is the
/// JSON error body.
async fn cors_refusals_as_json(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    use actix_web::ResponseError;
    let res = next.call(req).await?;
    let refused = res
        .response()
        .error()
        .and_then(|e| e.as_error::<actix_cors::CorsError>())
        .map(|c| c.to_string());
    Ok(match refused {
        Some(why) => res.into_response(ApiError::CorsRefused(why).error_response()),
        None => res.map_into_boxed_body(),
    })
}

fn cors(settings: &Settings) -> Option<Cors> {
    let origins = &settings.cors.allowed_origins;
    if origins.is_empty() {
        return None;
    }
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers(
            [
                "authorization",
                "content-type",
                "accept",
                "x-api-key",
                "x-request-id",
                "uppy-auth-token",
                "uppy-credentials-params",
            ]
            .into_iter()
            .map(String::from)
            .chain(
                settings
                    .cors
                    .allowed_headers
                    .iter()
                    .map(|h| h.to_ascii_lowercase()),
            ),
        )
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(settings.cors.max_age_secs.unwrap_or(600));
    if origins.iter().any(|o| o == "*") {
        cors = cors.allow_any_origin();
    } else {
        for o in origins {
            cors = cors.allowed_origin(o.trim_end_matches('/'));
        }
    }
    Some(cors)
}

fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req: &HttpRequest| {
            let api = match &err {
                JsonPayloadError::OverflowKnownLength { limit, .. }
                | JsonPayloadError::Overflow { limit } => {
                    ApiError::PayloadTooLarge { limit: *limit }
                }
                JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ),
                JsonPayloadError::Deserialize(e) => {
                    ApiError::InvalidJson(format!("invalid JSON body: {e}"))
                }
                other => ApiError::InvalidJson(format!("could not read the JSON body: {other}")),
            };
            api.into()
        })
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let msg = match &err {
        QueryPayloadError::Deserialize(e) => format!("invalid query string: {e}"),
        other => format!("invalid query string: {other}"),
    };
    ApiError::InvalidQuery(msg).into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::InvalidPath(format!("invalid path parameter: {err}")).into()
}
