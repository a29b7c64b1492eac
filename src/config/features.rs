//! `[multipart]`, `[uppy]` and `[demo]`: the optional upload routes, checked against the
//! profiles they name.

use super::{ConfigError, Profile, raw};
use crate::domain::UserId;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

type Profiles = BTreeMap<String, Arc<Profile>>;

pub(super) fn check_multipart(m: &raw::MultipartSection) -> Result<(), ConfigError> {
    if m.part_url_expires_secs == 0 || m.upload_expires_secs == 0 {
        return Err(ConfigError::new("multipart", "expiry times must be > 0"));
    }
    if m.orphan_age_secs <= m.upload_expires_secs {
        // Otherwise the orphan scan would abort uploads that are still in use.
        return Err(ConfigError::new(
            "multipart.orphan_age_secs",
            "must be greater than multipart.upload_expires_secs",
        ));
    }
    Ok(())
}

pub(super) fn check_uppy(u: &raw::UppySection, profiles: &Profiles) -> Result<(), ConfigError> {
    if !u.enabled {
        return Ok(());
    }
    if !u.prefix.starts_with('/') || u.prefix.ends_with('/') {
        return Err(ConfigError::new(
            "uppy.prefix",
            "must start with '/' and not end with '/' (e.g. /s3)",
        ));
    }
    if let Some(p) = &u.profile
        && !profiles.contains_key(p)
    {
        return Err(ConfigError::new(
            "uppy.profile",
            format!("no profile named '{p}'"),
        ));
    }
    Ok(())
}

pub(super) fn check_demo(
    d: &raw::DemoSection,
    listen: SocketAddr,
    profiles: &Profiles,
) -> Result<(), ConfigError> {
    if !d.enabled {
        return Ok(());
    }
    // The demo acts as one user without any login: never on a reachable address.
    if !listen.ip().is_loopback() {
        return Err(ConfigError::new(
            "demo.enabled",
            "the demo has no login; it is only allowed with a loopback server.listen",
        ));
    }
    match &d.profile {
        Some(p) if profiles.contains_key(p) => {}
        Some(p) => {
            return Err(ConfigError::new(
                "demo.profile",
                format!("no profile named '{p}'"),
            ));
        }
        None => {
            return Err(ConfigError::new(
                "demo.profile",
                "required when demo.enabled",
            ));
        }
    }
    match d.user.as_deref().map(UserId::parse) {
        Some(Ok(_)) => {}
        _ => return Err(ConfigError::new("demo.user", "required when demo.enabled")),
    }
    Ok(())
}
