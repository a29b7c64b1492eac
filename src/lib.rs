//! upload-gateway: hands out short-lived, tightly scoped upload rights for object storage,
//! verifies the storage callbacks that report finished uploads, and records them in Redis.

#![forbid(unsafe_code)]

pub mod auth;
pub mod callbacks;
pub mod cli;
mod cli_sign;
mod cli_sign_s3;
pub mod config;
pub mod domain;
pub mod error;
pub mod grants;
pub mod http_client;
pub mod metrics;
pub mod multipart;
pub mod providers;
pub mod rights;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
