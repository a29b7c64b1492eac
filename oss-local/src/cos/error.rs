//! COS's `<Error>` shape: Code, Message, Resource, RequestId, TraceId, then the extra elements
//! (`StringToSign` and `FormatString` on SignatureDoesNotMatch, as COS sends them).

use super::sign::SignError;
use crate::error::ApiError;
use crate::form::PolicyError;
use crate::http::set_header;
use actix_web::HttpResponse;

impl ApiError {
    pub fn cos_response(&self, request_id: &str, resource: &str) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code())
            .insert_header(("content-type", "application/xml"))
            .body(self.cos_xml(request_id, resource));
        for (k, v) in &self.headers {
            set_header(&mut resp, k, v);
        }
        resp
    }

    pub fn cos_xml(&self, request_id: &str, resource: &str) -> String {
        self.xml(&[
            ("Resource", resource),
            ("RequestId", request_id),
            ("TraceId", request_id),
        ])
    }
}

pub fn access_denied() -> ApiError {
    ApiError::new(403, "AccessDenied", "Access Denied.")
}

pub fn sign_error(e: SignError) -> ApiError {
    match e {
        SignError::Anonymous => access_denied(),
        SignError::Malformed(m) => ApiError::new(400, "InvalidArgument", m),
        SignError::Expired => ApiError::new(403, "AccessDenied", "Request has expired"),
        SignError::Mismatch {
            string_to_sign,
            format_string,
        } => ApiError::new(
            403,
            "SignatureDoesNotMatch",
            "The Signature you specified is invalid.",
        )
        .with("StringToSign", string_to_sign)
        .with("FormatString", format_string),
    }
}

pub fn policy_error(e: PolicyError) -> ApiError {
    match e {
        PolicyError::Anonymous => access_denied(),
        PolicyError::Mismatch => ApiError::new(
            403,
            "SignatureDoesNotMatch",
            "The Signature you specified is invalid.",
        ),
        PolicyError::Expired => ApiError::new(403, "AccessDenied", "Request has expired"),
        PolicyError::Condition(m) => ApiError::new(403, "AccessDenied", m),
        PolicyError::Invalid(m) => ApiError::new(400, "InvalidPolicyDocument", m),
    }
}
