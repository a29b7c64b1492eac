//! The callback variables every right carries: what the gateway itself sets (the upload or
//! grant id and the ticket binding them), then the client's own variables. One builder, so
//! the reserved names, the limits and the order live in one place.

use super::ticket::{self, TicketScope};
use super::{UploadId, UserId};
use std::collections::BTreeMap;

/// Variables the gateway sets itself; clients cannot supply them, and a callback's values
/// for them are never copied into a record.
pub const RESERVED_VARS: &[&str] = &["upload_id", "ticket", "grant_id", "declared_size"];
pub const MAX_CLIENT_VARS: usize = 8;
pub const MAX_VAR_NAME: usize = 32;
pub const MAX_VAR_VALUE: usize = 256;

/// A client's callback variables: lower-case names, bounded in number and size, none
/// reserved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientVars(BTreeMap<String, String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("vars: {0}")]
pub struct VarsError(String);

impl ClientVars {
    pub fn parse(vars: Option<BTreeMap<String, String>>) -> Result<ClientVars, VarsError> {
        let vars = vars.unwrap_or_default();
        if vars.len() > MAX_CLIENT_VARS {
            return Err(VarsError(format!("at most {MAX_CLIENT_VARS} variables")));
        }
        for (k, v) in &vars {
            let ok_name = !k.is_empty()
                && k.len() <= MAX_VAR_NAME
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok_name {
                return Err(VarsError(format!(
                    "name '{}' must be 1-{MAX_VAR_NAME} characters of a-z, 0-9 and _",
                    k.chars().take(40).collect::<String>()
                )));
            }
            if RESERVED_VARS.contains(&k.as_str()) {
                return Err(VarsError(format!("'{k}' is reserved by the gateway")));
            }
            if v.len() > MAX_VAR_VALUE || v.chars().any(char::is_control) {
                return Err(VarsError(format!(
                    "value of '{k}' must be at most {MAX_VAR_VALUE} bytes without control characters"
                )));
            }
        }
        Ok(ClientVars(vars))
    }

    /// Variables already checked when they were first accepted (read back from a record).
    pub fn from_record(vars: &BTreeMap<String, String>) -> ClientVars {
        ClientVars(vars.clone())
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
}

/// What one right's callback carries, in order: id, ticket, the declared size (when the
/// client gave one; the ticket binds it), then the client's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackVars(Vec<(String, String)>);

impl CallbackVars {
    /// One upload of exactly `key`, of `declared_size` bytes when the client said.
    /// Deterministic, so a multipart completion can rebuild what initiation planned.
    pub fn for_object(
        secret: &[u8],
        user: &UserId,
        upload_id: &UploadId,
        key: &str,
        declared_size: Option<u64>,
        client: &ClientVars,
    ) -> CallbackVars {
        let scope = TicketScope::Object {
            upload_id: upload_id.as_str(),
            key,
            declared_size,
        };
        let mut vars = Self::build("upload_id", upload_id, secret, user, &scope, client);
        if let Some(n) = declared_size {
            vars.0
                .insert(2, ("declared_size".to_string(), n.to_string()));
        }
        vars
    }

    /// One upload whose client names the object under `prefix` (a PostObject form).
    pub fn for_form_prefix(
        secret: &[u8],
        user: &UserId,
        upload_id: &UploadId,
        prefix: &str,
        client: &ClientVars,
    ) -> CallbackVars {
        let scope = TicketScope::Prefix {
            grant_id: upload_id.as_str(),
            prefix,
        };
        Self::build("upload_id", upload_id, secret, user, &scope, client)
    }

    /// Any object under `prefix`, each its own record (an STS grant).
    pub fn for_grant(
        secret: &[u8],
        user: &UserId,
        grant_id: &UploadId,
        prefix: &str,
    ) -> CallbackVars {
        let scope = TicketScope::Prefix {
            grant_id: grant_id.as_str(),
            prefix,
        };
        Self::build(
            "grant_id",
            grant_id,
            secret,
            user,
            &scope,
            &ClientVars::default(),
        )
    }

    fn build(
        id_name: &str,
        id: &UploadId,
        secret: &[u8],
        user: &UserId,
        scope: &TicketScope<'_>,
        client: &ClientVars,
    ) -> CallbackVars {
        let mut vars = Vec::with_capacity(2 + client.0.len());
        vars.push((id_name.to_string(), id.as_str().to_string()));
        vars.push((
            "ticket".to_string(),
            ticket::issue(secret, user.as_str(), scope),
        ));
        vars.extend(client.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        CallbackVars(vars)
    }

    /// The longest names a callback can ever carry, for providers that check the size of
    /// their callback parameters once at start-up.
    pub fn worst_case_names() -> Vec<String> {
        RESERVED_VARS
            .iter()
            .map(|s| s.to_string())
            .chain((0..MAX_CLIENT_VARS).map(|i| format!("{i}{}", "v".repeat(MAX_VAR_NAME - 1))))
            .collect()
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"test-secret-0123456789";

    fn user() -> UserId {
        UserId::parse("alice").unwrap()
    }

    #[test]
    fn client_vars_are_bounded_and_cannot_take_reserved_names() {
        let one = |k: &str, v: &str| Some(BTreeMap::from([(k.to_string(), v.to_string())]));
        assert!(ClientVars::parse(one("album", "summer")).is_ok());
        for bad in ["ticket", "upload_id", "grant_id", "Upper", "", "has-dash"] {
            assert!(ClientVars::parse(one(bad, "v")).is_err(), "{bad}");
        }
        assert!(ClientVars::parse(one("a", &"x".repeat(MAX_VAR_VALUE + 1))).is_err());
        assert!(ClientVars::parse(one("a", "line\nbreak")).is_err());
        let many = (0..=MAX_CLIENT_VARS)
            .map(|i| (format!("v{i}"), String::new()))
            .collect();
        assert!(ClientVars::parse(Some(many)).is_err());
    }

    #[test]
    fn the_id_and_ticket_come_first_and_the_ticket_names_the_scope() {
        let id = UploadId::new();
        let client = ClientVars::parse(Some(BTreeMap::from([("a".into(), "1".into())]))).unwrap();
        let v = CallbackVars::for_object(S, &user(), &id, "k/alice/x.png", None, &client);
        let names: Vec<&str> = v.pairs().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["upload_id", "ticket", "a"]);
        let t = v.get("ticket").unwrap();
        let object = TicketScope::Object {
            upload_id: id.as_str(),
            key: "k/alice/x.png",
            declared_size: None,
        };
        assert!(ticket::verify(S, "alice", &object, t));

        // A declared size travels next to the ticket, which binds it.
        let sized = CallbackVars::for_object(S, &user(), &id, "k/alice/x.png", Some(7), &client);
        let names: Vec<&str> = sized.pairs().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["upload_id", "ticket", "declared_size", "a"]);
        assert_eq!(sized.get("declared_size"), Some("7"));
        let scope = TicketScope::Object {
            upload_id: id.as_str(),
            key: "k/alice/x.png",
            declared_size: Some(7),
        };
        assert!(ticket::verify(
            S,
            "alice",
            &scope,
            sized.get("ticket").unwrap()
        ));

        // A form's prefix ticket names the upload id; a grant's, the grant id.
        let f = CallbackVars::for_form_prefix(S, &user(), &id, "k/alice/", &client);
        assert_eq!(f.pairs()[0].0, "upload_id");
        let grant = TicketScope::Prefix {
            grant_id: id.as_str(),
            prefix: "k/alice/",
        };
        assert!(ticket::verify(S, "alice", &grant, f.get("ticket").unwrap()));
        assert!(!ticket::verify(
            S,
            "alice",
            &object,
            f.get("ticket").unwrap()
        ));
        let g = CallbackVars::for_grant(S, &user(), &id, "k/alice/");
        assert_eq!(g.pairs()[0].0, "grant_id");
        assert!(ticket::verify(S, "alice", &grant, g.get("ticket").unwrap()));
    }
}
