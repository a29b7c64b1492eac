//! The API test binary: the real server on port 0 against a real redis-server.

mod helpers;

mod auth;
mod cli;
mod errors;
mod health;
mod logs;
mod metrics;
mod openapi;
mod rights;
mod sts_standin;
mod uploads;
