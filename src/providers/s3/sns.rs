//! Amazon SNS HTTP(S) message verification (how S3 event notifications reach the gateway).
//! Pure: the caller validates the certificate URL ([`validate_cert_url`]), fetches the
//! certificate from exactly that URL, and hands both here.
//!
//! [`validate_cert_url`]: super::sns_cert_url::validate_cert_url

use super::sns_cert_url::{TopicArn, ValidatedCertUrl};
pub use super::sns_error::SnsError;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_cert::der::{DecodePem, Encode};

/// Certificates SNS serves are about 2 KB; anything far larger is not one.
pub const MAX_CERT_PEM_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// SHA1withRSA, the topic default.
    V1,
    /// SHA256withRSA.
    V2,
}

/// An SNS message as received: nothing in it is trusted until [`verify`] says so.
#[derive(Debug, Clone)]
pub struct SnsEnvelope {
    kind: MessageType,
    topic_arn: TopicArn,
    message_id: String,
    message: String,
    subject: Option<String>,
    timestamp: String,
    token: Option<String>,
    subscribe_url: Option<String>,
    version: SignatureVersion,
    signature: Vec<u8>,
    signing_cert_url: String,
}

#[derive(Deserialize)]
struct RawMessage {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "MessageId")]
    message_id: Option<String>,
    #[serde(rename = "TopicArn")]
    topic_arn: Option<String>,
    // Lambda-style deliveries write `"Subject": null`: absent, not the string "null".
    #[serde(rename = "Subject")]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "Timestamp")]
    timestamp: Option<String>,
    #[serde(rename = "Token")]
    token: Option<String>,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    #[serde(rename = "SignatureVersion")]
    signature_version: Option<String>,
    #[serde(rename = "Signature")]
    signature: Option<String>,
    #[serde(rename = "SigningCertURL", alias = "SigningCertUrl")]
    signing_cert_url: Option<String>,
    #[serde(rename = "Records")]
    records: Option<serde::de::IgnoredAny>,
}

fn need(v: Option<String>, name: &'static str) -> Result<String, SnsError> {
    v.ok_or(SnsError::MissingField(name))
}

impl SnsEnvelope {
    pub fn parse(body: &[u8]) -> Result<Self, SnsError> {
        let raw: RawMessage = serde_json::from_slice(body).map_err(|_| SnsError::Malformed)?;
        if raw.kind.is_none() && raw.records.is_some() {
            return Err(SnsError::RawDelivery);
        }
        let kind = match need(raw.kind, "Type")?.as_str() {
            "Notification" => MessageType::Notification,
            "SubscriptionConfirmation" => MessageType::SubscriptionConfirmation,
            "UnsubscribeConfirmation" => MessageType::UnsubscribeConfirmation,
            _ => return Err(SnsError::UnknownType),
        };
        let version = match raw.signature_version.as_deref() {
            Some("1") => SignatureVersion::V1,
            Some("2") => SignatureVersion::V2,
            _ => return Err(SnsError::SignatureVersion),
        };
        let signature = match raw.signature.as_deref() {
            None | Some("") => return Err(SnsError::SignatureMissing),
            Some(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| SnsError::SignatureEncoding)?,
        };
        let confirmation = kind != MessageType::Notification;
        Ok(SnsEnvelope {
            kind,
            topic_arn: TopicArn::parse(&need(raw.topic_arn, "TopicArn")?)?,
            message_id: need(raw.message_id, "MessageId")?,
            message: need(raw.message, "Message")?,
            subject: raw.subject.filter(|_| !confirmation),
            timestamp: need(raw.timestamp, "Timestamp")?,
            token: if confirmation {
                Some(need(raw.token, "Token")?)
            } else {
                None
            },
            subscribe_url: if confirmation {
                Some(need(raw.subscribe_url, "SubscribeURL")?)
            } else {
                None
            },
            version,
            signature,
            signing_cert_url: need(raw.signing_cert_url, "SigningCertURL")?,
        })
    }

    pub fn topic_arn(&self) -> &TopicArn {
        &self.topic_arn
    }
    pub fn signing_cert_url(&self) -> &str {
        &self.signing_cert_url
    }
    pub fn kind(&self) -> MessageType {
        self.kind
    }

    /// `Name\nvalue\n` for each signed field, in the order the SNS documentation gives per
    /// type; `Subject` only when present.
    pub fn string_to_sign(&self) -> String {
        let mut fields: Vec<(&str, &str)> =
            vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match self.kind {
            MessageType::Notification => {
                if let Some(s) = &self.subject {
                    fields.push(("Subject", s));
                }
            }
            _ => fields.push((
                "SubscribeURL",
                self.subscribe_url.as_deref().unwrap_or_default(),
            )),
        }
        fields.push(("Timestamp", &self.timestamp));
        if let Some(t) = &self.token {
            fields.push(("Token", t));
        }
        fields.push(("TopicArn", self.topic_arn.as_str()));
        let kind = match self.kind {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        };
        fields.push(("Type", kind));
        let mut s = String::with_capacity(self.message.len() + 512);
        for (k, v) in fields {
            s.push_str(k);
            s.push('\n');
            s.push_str(v);
            s.push('\n');
        }
        s
    }
}

/// The RSA key of a signing certificate.
#[derive(Debug, Clone)]
pub struct SigningCert(RsaPublicKey);

impl SigningCert {
    pub fn from_pem(pem: &[u8]) -> Result<Self, SnsError> {
        if pem.len() > MAX_CERT_PEM_BYTES {
            return Err(SnsError::Certificate);
        }
        let cert = x509_cert::Certificate::from_pem(pem).map_err(|_| SnsError::Certificate)?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|_| SnsError::Certificate)?;
        RsaPublicKey::from_public_key_der(&spki)
            .map(SigningCert)
            .map_err(|_| SnsError::Certificate)
    }
}

/// A message whose signature checked out. Only [`verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedSnsMessage(SnsEnvelope);

impl VerifiedSnsMessage {
    pub fn kind(&self) -> MessageType {
        self.0.kind
    }
    pub fn topic_arn(&self) -> &TopicArn {
        &self.0.topic_arn
    }
    pub fn message_id(&self) -> &str {
        &self.0.message_id
    }
    /// For notifications from S3: the event JSON ([`super::s3_event::parse`]).
    pub fn message(&self) -> &str {
        &self.0.message
    }
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    pub fn timestamp(&self) -> &str {
        &self.0.timestamp
    }
    /// Confirmations: the token for ConfirmSubscription (call it with TopicArn + Token
    /// rather than fetching the SubscribeURL).
    pub fn token(&self) -> Option<&str> {
        self.0.token.as_deref()
    }
    pub fn subscribe_url(&self) -> Option<&str> {
        self.0.subscribe_url.as_deref()
    }
}

pub fn verify(
    envelope: SnsEnvelope,
    cert_url: &ValidatedCertUrl,
    cert: &SigningCert,
) -> Result<VerifiedSnsMessage, SnsError> {
    if cert_url.as_str() != envelope.signing_cert_url {
        return Err(SnsError::CertUrlMismatch);
    }
    let text = envelope.string_to_sign();
    let ok = match envelope.version {
        SignatureVersion::V1 => cert.0.verify(
            Pkcs1v15Sign::new::<Sha1>(),
            &Sha1::digest(text.as_bytes()),
            &envelope.signature,
        ),
        SignatureVersion::V2 => cert.0.verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(text.as_bytes()),
            &envelope.signature,
        ),
    };
    ok.map_err(|_| SnsError::SignatureInvalid)?;
    Ok(VerifiedSnsMessage(envelope))
}
