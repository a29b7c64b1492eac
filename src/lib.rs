//! upload-gateway: hands out short-lived, tightly scoped upload rights for object storage,
//! verifies the storage callbacks that report finished uploads, and records them in Redis.

#![forbid(unsafe_code)]

pub mod auth;
pub mod callbacks;
pub mod cli;
mod cli_ops;
mod cli_sign;
mod cli_sign_cos;
mod cli_sign_s3;
mod cli_webhooks;
pub mod config;
pub mod domain;
pub mod error;
mod error_codes;
pub mod http_client;
pub mod lifecycle;
pub mod metrics;
mod metrics_labels;
pub mod providers;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod uploads;
pub mod upstream_wait;
pub mod webhooks;
