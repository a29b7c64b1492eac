//! `[security]`: the ticket secret that binds callbacks to the uploads they belong to.

use super::{ConfigError, raw, secret};
use secrecy::{ExposeSecret, SecretString};

/// Reads the secret as configured; whether one is required is known only once the profiles
/// are (see [`require_ticket_secret`]).
pub(super) fn ticket_secret(
    s: raw::SecuritySection,
    world: bool,
) -> Result<Option<SecretString>, ConfigError> {
    secret::resolve(
        "security.ticket_secret",
        s.ticket_secret,
        s.ticket_secret_file.as_deref(),
        world,
    )
}

/// `needs_ticket`: some profile requests callbacks, so tickets are issued and checked.
pub(super) fn require_ticket_secret(
    configured: Option<SecretString>,
    needs_ticket: bool,
) -> Result<SecretString, ConfigError> {
    match configured {
        Some(s) => {
            if s.expose_secret().len() < 16 {
                return Err(ConfigError::new(
                    "security.ticket_secret",
                    "must be at least 16 characters",
                ));
            }
            Ok(s)
        }
        None if needs_ticket => Err(ConfigError::new(
            "security.ticket_secret",
            "missing secret: set security.ticket_secret or security.ticket_secret_file (profiles request callbacks)",
        )),
        // No profile asks for callbacks: any value works, none is ever checked.
        None => Ok(SecretString::from(uuid::Uuid::new_v4().to_string())),
    }
}
