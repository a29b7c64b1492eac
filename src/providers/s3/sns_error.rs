//! Why an SNS message was refused, one stable code per reason.

/// Why a message was refused. Each variant has a stable [`SnsError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    #[error("the body is not an SNS message (JSON object of strings)")]
    Malformed,
    #[error("raw message delivery carries no signature; turn it off for this subscription")]
    RawDelivery,
    #[error("unknown message Type")]
    UnknownType,
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    #[error("SignatureVersion must be 1 or 2")]
    SignatureVersion,
    #[error("the message carries no Signature")]
    SignatureMissing,
    #[error("Signature is not base64")]
    SignatureEncoding,
    #[error("the signature does not match the message")]
    SignatureInvalid,
    #[error("TopicArn is not an SNS topic ARN")]
    TopicArn,
    #[error("SigningCertURL must be https")]
    CertUrlScheme,
    #[error("SigningCertURL must not carry userinfo")]
    CertUrlUserinfo,
    #[error("SigningCertURL must not name a port")]
    CertUrlPort,
    #[error("SigningCertURL host is not the topic region's SNS host")]
    CertUrlHost,
    #[error("SigningCertURL path is not /SimpleNotificationService-*.pem")]
    CertUrlPath,
    #[error("SigningCertURL has escapes, dot segments, a query or a fragment")]
    CertUrlSyntax,
    #[error("the certificate was validated for another URL")]
    CertUrlMismatch,
    #[error("the signing certificate is not a PEM X.509 RSA certificate")]
    Certificate,
}

impl SnsError {
    pub fn code(&self) -> &'static str {
        match self {
            SnsError::Malformed => "sns-malformed",
            SnsError::RawDelivery => "sns-raw-delivery",
            SnsError::UnknownType => "sns-unknown-type",
            SnsError::MissingField(_) => "sns-missing-field",
            SnsError::SignatureVersion => "sns-signature-version",
            SnsError::SignatureMissing => "sns-signature-missing",
            SnsError::SignatureEncoding => "sns-signature-encoding",
            SnsError::SignatureInvalid => "sns-signature-invalid",
            SnsError::TopicArn => "sns-topic-arn-invalid",
            SnsError::CertUrlScheme => "sns-cert-url-scheme",
            SnsError::CertUrlUserinfo => "sns-cert-url-userinfo",
            SnsError::CertUrlPort => "sns-cert-url-port",
            SnsError::CertUrlHost => "sns-cert-url-host",
            SnsError::CertUrlPath => "sns-cert-url-path",
            SnsError::CertUrlSyntax => "sns-cert-url-syntax",
            SnsError::CertUrlMismatch => "sns-cert-url-mismatch",
            SnsError::Certificate => "sns-certificate-invalid",
        }
    }
}
