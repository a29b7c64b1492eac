//! The `x:ticket` callback variable: an HMAC under the gateway's secret that binds a callback
//! to what the gateway issued, so a client cannot re-point a callback at another upload, user
//! or key by editing the variables it passes to storage.
//!
//! Form: `base64url(user) "." base64url(mac)`. The ticket names its user so that a callback
//! can be proven genuine and bound without a Redis read (while Redis is down the verified
//! callback is journaled; the record is matched when it is replayed). The user is no secret:
//! the only party that sees the ticket is that user's own client.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What a ticket vouches for.
pub enum TicketScope<'a> {
    /// One upload of exactly this object key, of `declared_size` bytes when the client said
    /// (so a callback can be held to it without reading the record: journal mode).
    Object {
        upload_id: &'a str,
        key: &'a str,
        declared_size: Option<u64>,
    },
    /// Objects under `prefix`: STS grants, and forms whose client picks the name (then
    /// `grant_id` is the upload id). Which of the two a callback claims is settled by the
    /// record's kind, which the ticket cannot change.
    Prefix { grant_id: &'a str, prefix: &'a str },
}

fn mac(secret: &[u8], user: &str, scope: &TicketScope<'_>) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    // Length-prefixed fields: no choice of values can make two scopes serialise alike.
    let (tag, a, b, size) = match scope {
        TicketScope::Object {
            upload_id,
            key,
            declared_size,
        } => ("object", *upload_id, *key, *declared_size),
        TicketScope::Prefix { grant_id, prefix } => ("prefix", *grant_id, *prefix, None),
    };
    let size = size.map(|n| n.to_string());
    // Without a declared size the MAC is what it was before sizes were bound, so tickets
    // issued by an older version still verify; with one, it is a sixth part.
    for part in ["ugw-ticket-v1", tag, a, b, user]
        .into_iter()
        .chain(size.as_deref())
    {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

pub fn issue(secret: &[u8], user: &str, scope: &TicketScope<'_>) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(user),
        URL_SAFE_NO_PAD.encode(mac(secret, user, scope).finalize().into_bytes())
    )
}

/// The user a ticket claims to be for. Unverified: pass it to [`verify`].
pub fn claimed_user(presented: &str) -> Option<String> {
    let (user, _) = presented.trim().split_once('.')?;
    String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()
}

/// Constant-time check of a presented ticket for `user` and `scope`.
pub fn verify(secret: &[u8], user: &str, scope: &TicketScope<'_>, presented: &str) -> bool {
    let Some((claimed, tag)) = presented.trim().split_once('.') else {
        return false;
    };
    if URL_SAFE_NO_PAD.decode(claimed).ok().as_deref() != Some(user.as_bytes()) {
        return false;
    }
    match URL_SAFE_NO_PAD.decode(tag) {
        Ok(bytes) => mac(secret, user, scope).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8] = b"test-secret-0123456789";

    #[test]
    fn a_ticket_verifies_only_for_what_it_was_issued_for() {
        let scope = TicketScope::Object {
            upload_id: "u1",
            key: "a/alice/x.png",
            declared_size: None,
        };
        let t = issue(S, "alice", &scope);
        assert!(verify(S, "alice", &scope, &t));
        assert!(!verify(S, "bob", &scope, &t));
        assert!(!verify(
            S,
            "alice",
            &TicketScope::Object {
                upload_id: "u2",
                key: "a/alice/x.png",
                declared_size: None,
            },
            &t
        ));
        assert!(!verify(
            S,
            "alice",
            &TicketScope::Object {
                upload_id: "u1",
                key: "a/alice/y.png",
                declared_size: None,
            },
            &t
        ));
        assert!(!verify(
            S,
            "alice",
            &TicketScope::Prefix {
                grant_id: "u1",
                prefix: "a/alice/x.png"
            },
            &t
        ));
        assert!(!verify(b"other-secret-0123456789", "alice", &scope, &t));
        assert!(!verify(S, "alice", &scope, "not base64!"));
        assert_eq!(claimed_user(&t).as_deref(), Some("alice"));
        // Swapping the claimed user does not carry the MAC over.
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("bob"),
            t.split_once('.').unwrap().1
        );
        assert_eq!(claimed_user(&forged).as_deref(), Some("bob"));
        assert!(!verify(S, "bob", &scope, &forged));
    }

    #[test]
    fn field_boundaries_matter() {
        let a = issue(
            S,
            "c",
            &TicketScope::Object {
                upload_id: "ab",
                key: "",
                declared_size: None,
            },
        );
        let b = issue(
            S,
            "c",
            &TicketScope::Object {
                upload_id: "a",
                key: "b",
                declared_size: None,
            },
        );
        assert_ne!(a, b);
    }

    #[test]
    fn a_ticket_with_a_declared_size_holds_only_for_that_size() {
        let sized = |n| TicketScope::Object {
            upload_id: "u1",
            key: "a/alice/x.png",
            declared_size: n,
        };
        let t = issue(S, "alice", &sized(Some(100)));
        assert!(verify(S, "alice", &sized(Some(100)), &t));
        assert!(!verify(S, "alice", &sized(Some(101)), &t));
        // Dropping the size from the callback does not drop it from the ticket.
        assert!(!verify(S, "alice", &sized(None), &t));
        let unsized_ticket = issue(S, "alice", &sized(None));
        assert!(!verify(S, "alice", &sized(Some(100)), &unsized_ticket));
    }
}
