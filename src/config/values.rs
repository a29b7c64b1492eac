//! Checks on single values that several sections share, so each key is judged by one rule.

use super::ConfigError;
use std::time::Duration;
use url::Url;

/// A timeout in milliseconds: zero would fail every call at once.
pub(super) fn ms(key: &str, v: u64) -> Result<Duration, ConfigError> {
    if v == 0 {
        return Err(ConfigError::new(key, "must be > 0"));
    }
    Ok(Duration::from_millis(v))
}

/// Section names appear in keys, metrics labels and logs: a small safe alphabet.
pub(super) fn check_name(section: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            &format!("{section}.{name}"),
            "names must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ))
    }
}

pub(super) fn parse_http_url(key: &str, s: &str) -> Result<Url, ConfigError> {
    let u = Url::parse(s).map_err(|e| ConfigError::new(key, format!("'{s}' is not a URL: {e}")))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(ConfigError::new(
            key,
            format!("'{s}' must be http:// or https://"),
        ));
    }
    if u.host_str().is_none() {
        return Err(ConfigError::new(key, format!("'{s}' has no host")));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(ConfigError::new(
            key,
            format!("'{s}' must not carry credentials"),
        ));
    }
    Ok(u)
}
