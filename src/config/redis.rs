//! `[redis]`: where records and events are kept.

use super::values::ms;
use super::{ConfigError, raw, secret};
use secrecy::SecretString;
use std::time::Duration;

pub struct RedisSettings {
    pub url: String,
    pub cluster_nodes: Vec<String>,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub key_prefix: String,
    pub command_timeout: Duration,
    pub connect_timeout: Duration,
    pub record_ttl: Duration,
    pub events_maxlen: u64,
}

pub(super) fn validate(r: raw::RedisSection, world: bool) -> Result<RedisSettings, ConfigError> {
    if r.key_prefix.is_empty() || r.key_prefix.contains(['{', '}', ' ']) {
        return Err(ConfigError::new(
            "redis.key_prefix",
            "must be non-empty and contain no '{', '}' or spaces",
        ));
    }
    if r.cluster_nodes.is_empty()
        && !r.url.starts_with("redis://")
        && !r.url.starts_with("rediss://")
    {
        return Err(ConfigError::new(
            "redis.url",
            "must start with redis:// or rediss://",
        ));
    }
    if r.url.contains('@') {
        return Err(ConfigError::new(
            "redis.url",
            "must not embed credentials; use redis.username and redis.password(_file)",
        ));
    }
    if r.record_ttl_secs < 60 {
        return Err(ConfigError::new(
            "redis.record_ttl_secs",
            "must be at least 60",
        ));
    }
    Ok(RedisSettings {
        password: secret::resolve(
            "redis.password",
            r.password,
            r.password_file.as_deref(),
            world,
        )?,
        url: r.url,
        cluster_nodes: r.cluster_nodes,
        username: r.username,
        key_prefix: r.key_prefix,
        command_timeout: ms("redis.command_timeout_ms", r.command_timeout_ms)?,
        connect_timeout: ms("redis.connect_timeout_ms", r.connect_timeout_ms)?,
        record_ttl: Duration::from_secs(r.record_ttl_secs),
        events_maxlen: r.events_maxlen.max(1),
    })
}
