//! The API test binary: the real server on port 0 against a real redis-server.

mod helpers;

mod auth;
mod callbacks;
mod cli;
mod cli_s3;
mod errors;
mod garage;
mod garage_signing;
mod health;
mod logs;
mod metrics;
mod multipart;
mod openapi;
mod oss_sim;
mod rights;
mod sts_standin;
mod uploads;
