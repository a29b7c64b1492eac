//! SigV4 POST policy forms (browser uploads straight to the bucket): the policy JSON, its
//! base64 and signature, and the ordered form fields.
//!
//! The JSON is written the way botocore writes it (`, ` and `: ` separators, non-ASCII as
//! `\uXXXX`), so a form is byte-for-byte what the AWS SDK would produce for the same input.

use super::Signer;
use super::location::S3Location;
use super::sigv4::{ALGORITHM, AmzDate, scope};
use super::types::Expiry;
use base64::Engine;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use std::io;
use std::time::Duration;
use time::OffsetDateTime;

/// One policy condition. Field names without `$`.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    Eq(&'a str, &'a str),
    StartsWith(&'a str, &'a str),
    ContentLengthRange(u64, u64),
}

pub struct PostPolicyRequest<'a> {
    /// The object key; ending in `${filename}` lets the client name the file under the
    /// part before it (a `starts-with` condition replaces the exact key then).
    pub key: &'a str,
    /// Form fields besides the signer's (e.g. `Content-Type`); each needs a condition.
    pub fields: &'a [(&'a str, &'a str)],
    pub conditions: &'a [Condition<'a>],
    pub now: OffsetDateTime,
    pub expires: Expiry,
}

/// A ready form: post `fields` in this order, the file last. Not `Debug`: it is a credential.
pub struct PostForm {
    pub url: String,
    pub fields: Vec<(String, String)>,
    pub policy_json: String,
    pub expires_at: OffsetDateTime,
}

const FILENAME: &str = "${filename}";

impl Serialize for Condition<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Condition::Eq(k, v) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(k, v)?;
                m.end()
            }
            Condition::StartsWith(k, v) => {
                let mut q = s.serialize_seq(Some(3))?;
                q.serialize_element("starts-with")?;
                q.serialize_element(&format!("${k}"))?;
                q.serialize_element(v)?;
                q.end()
            }
            Condition::ContentLengthRange(lo, hi) => {
                let mut q = s.serialize_seq(Some(3))?;
                q.serialize_element("content-length-range")?;
                q.serialize_element(&lo)?;
                q.serialize_element(&hi)?;
                q.end()
            }
        }
    }
}

struct Policy<'a> {
    expiration: String,
    conditions: Vec<Condition<'a>>,
}

impl Serialize for Policy<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Policy", 2)?;
        st.serialize_field("expiration", &self.expiration)?;
        st.serialize_field("conditions", &self.conditions)?;
        st.end()
    }
}

/// Python `json.dumps` defaults: `", "` / `": "` and ASCII-only output.
struct PythonJson;

impl serde_json::ser::Formatter for PythonJson {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                w.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn policy_json(expiration: String, conditions: Vec<Condition<'_>>) -> String {
    let mut out = Vec::with_capacity(512);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonJson);
    Policy {
        expiration,
        conditions,
    }
    .serialize(&mut ser)
    .expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("ASCII only")
}

impl Signer {
    pub fn post_policy(&self, loc: &S3Location, req: &PostPolicyRequest<'_>) -> PostForm {
        let keys = &self.keys;
        let date = AmzDate::new(req.now);
        let scope = scope(&date, keys.region(), keys.service());
        let credential = format!("{}/{scope}", keys.credentials().access_key_id());
        let token = keys.credentials().session_token();
        let expires_at = req.now + Duration::from_secs(req.expires.secs());
        let expiration = expires_at
            .to_offset(time::UtcOffset::UTC)
            .format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .expect("a fixed format");

        let mut conditions = req.conditions.to_vec();
        conditions.push(Condition::Eq("bucket", loc.bucket().as_str()));
        match req.key.strip_suffix(FILENAME) {
            Some(prefix) => conditions.push(Condition::StartsWith("key", prefix)),
            None => conditions.push(Condition::Eq("key", req.key)),
        }
        conditions.push(Condition::Eq("x-amz-algorithm", ALGORITHM));
        conditions.push(Condition::Eq("x-amz-credential", &credential));
        conditions.push(Condition::Eq("x-amz-date", date.as_str()));
        if let Some(t) = token {
            conditions.push(Condition::Eq("x-amz-security-token", t));
        }
        let json = policy_json(expiration, conditions);
        let policy = base64::engine::general_purpose::STANDARD.encode(json.as_bytes());
        let signature = keys.key_for(&date).sign_hex(&policy);

        let mut fields: Vec<(String, String)> = req
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        fields.push(("key".into(), req.key.into()));
        fields.push(("x-amz-algorithm".into(), ALGORITHM.into()));
        fields.push(("x-amz-credential".into(), credential.clone()));
        fields.push(("x-amz-date".into(), date.as_str().into()));
        if let Some(t) = token {
            fields.push(("x-amz-security-token".into(), t.into()));
        }
        fields.push(("policy".into(), policy));
        fields.push(("x-amz-signature".into(), signature));
        PostForm {
            url: loc.form_url(),
            fields,
            policy_json: json,
            expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_json_is_written_as_python_writes_it() {
        let json = policy_json(
            "2023-11-14T23:13:20Z".into(),
            vec![
                Condition::Eq("key", "a/ü😀\u{7f}\"x\""),
                Condition::ContentLengthRange(0, 5),
            ],
        );
        assert_eq!(
            json,
            r#"{"expiration": "2023-11-14T23:13:20Z", "conditions": [{"key": "a/\u00fc\ud83d\ude00\u007f\"x\""}, ["content-length-range", 0, 5]]}"#
        );
    }
}
