//! The one error a bad configuration gives: the key at fault and what is wrong with it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "config error: {}", self.message)
        } else {
            write!(f, "config error: {}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        let source = e
            .metadata
            .as_ref()
            .map(|m| match &m.source {
                Some(figment::Source::File(path)) => {
                    format!(" (from {} `{}`)", m.name, path.display())
                }
                _ => format!(" (from {})", m.name),
            })
            .unwrap_or_default();
        let message = match &e.kind {
            figment::error::Kind::UnknownField(field, _) => {
                // figment's path already ends with the unknown field.
                let key = if e.path.is_empty() {
                    field.clone()
                } else {
                    e.path.join(".")
                };
                return ConfigError::new(&key, format!("unknown key{source}"));
            }
            kind => format!("{kind}{source}"),
        };
        ConfigError::new(&e.path.join("."), message)
    }
}
