//! The API test binary: the real server on port 0 against a real redis-server.

mod helpers;
mod store_harness;

mod app_server;
mod auth;
mod callbacks;
mod cli;
mod cli_cos;
mod cli_s3;
mod cluster;
mod content_check;
mod cos;
mod cos_callback;
mod cos_sts;
mod cos_sts_policy;
mod deploy;
mod errors;
mod forgery;
mod garage;
mod garage_signing;
mod health;
mod key_urls;
mod logs;
mod metrics;
mod multipart;
mod objects;
mod openapi;
mod oss_sim;
mod rights;
mod store;
mod sts_callbacks;
mod sts_standin;
mod uploads;
mod webhook_events;
mod webhook_harness;
mod webhooks;
