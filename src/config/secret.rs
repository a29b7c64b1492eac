//! Secrets come inline (`x = "..."`) or from a file (`x_file = "/run/secrets/x"`), never both.

use super::ConfigError;
use secrecy::SecretString;
use std::path::Path;

/// Resolves one secret. `key` is the dotted config key, used in error messages.
pub fn resolve(
    key: &str,
    inline: Option<SecretString>,
    file: Option<&Path>,
    allow_world_readable: bool,
) -> Result<Option<SecretString>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            key,
            format!("set either {key} or {key}_file, not both"),
        )),
        (Some(s), None) => Ok(Some(s)),
        (None, Some(path)) => read_file(key, path, allow_world_readable).map(Some),
        (None, None) => Ok(None),
    }
}

pub fn require(
    key: &str,
    inline: Option<SecretString>,
    file: Option<&Path>,
    allow_world_readable: bool,
) -> Result<SecretString, ConfigError> {
    resolve(key, inline, file, allow_world_readable)?
        .ok_or_else(|| ConfigError::new(key, format!("missing secret: set {key} or {key}_file")))
}

fn read_file(
    key: &str,
    path: &Path,
    allow_world_readable: bool,
) -> Result<SecretString, ConfigError> {
    let file_key = format!("{key}_file");
    let meta = std::fs::metadata(path)
        .map_err(|e| ConfigError::new(&file_key, format!("cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if !allow_world_readable && meta.permissions().mode() & 0o004 != 0 {
            return Err(ConfigError::new(
                &file_key,
                format!(
                    "{} is world-readable; chmod o-r it (or set security.allow_world_readable_secret_files = true)",
                    path.display()
                ),
            ));
        }
    }
    let _ = meta;
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&file_key, format!("cannot read {}: {e}", path.display())))?;
    // Files written by `echo` end with a newline that is never part of the secret.
    let trimmed = text.trim_end_matches(['\n', '\r']);
    if trimmed.is_empty() {
        return Err(ConfigError::new(
            &file_key,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(SecretString::from(trimmed.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::io::Write;

    #[test]
    fn reads_files_and_refuses_both_or_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "hunter2").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let s = require("a.b", None, Some(&path), false).unwrap();
        assert_eq!(s.expose_secret(), "hunter2");

        let both = resolve("a.b", Some("x".into()), Some(&path), false);
        assert!(both.unwrap_err().to_string().contains("not both"));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = require("a.b", None, Some(&path), false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("world-readable"), "{err}");
            assert!(require("a.b", None, Some(&path), true).is_ok());
        }
        let missing = require("a.b", None, None, false).unwrap_err().to_string();
        assert!(missing.contains("a.b_file"), "{missing}");
    }
}
