//! The API test binary: the real server on port 0 against a real redis-server.

mod helpers;
mod store_harness;

mod auth;
mod callbacks;
mod cli;
mod cli_cos;
mod cluster;
mod cos;
mod cos_sts;
mod deploy;
mod errors;
mod forgery;
mod health;
mod key_urls;
mod logs;
mod metrics;
mod multipart;
mod openapi;
mod oss_sim;
mod rights;
mod store;
mod sts_callbacks;
mod sts_standin;
mod uploads;
