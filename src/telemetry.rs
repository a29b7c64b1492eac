//! Structured logs, and the request context every log line of a request carries.
//!
//! What is never logged: secrets, tokens, signatures, presigned URLs, query strings and raw
//! paths. Requests are identified by their route pattern and a request id.

use crate::config::raw::LogFormat;
use crate::metrics::Metrics;
use crate::upstream_wait;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::sync::Arc;
use std::time::Instant;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served; handlers may read it from request extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Installs the global subscriber. `RUST_LOG` wins over `level`.
pub fn init<W>(format: LogFormat, level: &str, writer: W) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .map_err(|e| format!("log.level '{level}': {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    let result = match format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .flatten_event(true)
                .finish(),
        ),
        LogFormat::Pretty => tracing::subscriber::set_global_default(builder.finish()),
    };
    result.map_err(|e| e.to_string())
}

/// Accept a caller's request id only when it is short and plain, so logs cannot be forged
/// or bloated through it.
fn usable_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| s.to_string())
}

/// Request id, span, access log and HTTP metrics for every request, in one place.
pub async fn request_context(
    metrics: Arc<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(usable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let started = Instant::now();
    let (result, waited) = upstream_wait::measured(next.call(req).instrument(span.clone())).await;
    let elapsed = started.elapsed();
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    metrics.observe_http(&route, method.as_str(), status, elapsed);
    // Every request, so that per route the two histograms describe the same requests.
    metrics
        .http_own_duration_seconds
        .with_label_values(&[&route])
        .observe(upstream_wait::own_time(elapsed, waited).as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request completed"
        );
    });
    result.map(|mut res| {
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            res.headers_mut().insert(REQUEST_ID_HEADER, v);
        }
        res
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_request_ids_are_taken_over() {
        assert_eq!(
            usable_request_id(&HeaderValue::from_static("abc-123")),
            Some("abc-123".into())
        );
        assert_eq!(usable_request_id(&HeaderValue::from_static("a b")), None);
        assert_eq!(usable_request_id(&HeaderValue::from_static("")), None);
        let long = "x".repeat(65);
        assert_eq!(
            usable_request_id(&HeaderValue::from_str(&long).unwrap()),
            None
        );
    }
}
