//! OSS's `<Error>` shape: Code, Message, RequestId, HostId, then the extra elements.

use crate::error::ApiError;
use crate::http::set_header;
use actix_web::HttpResponse;

impl ApiError {
    pub fn oss_response(&self, request_id: &str) -> HttpResponse {
        let mut resp = HttpResponse::build(self.status_code())
            .insert_header(("content-type", "application/xml"))
            .body(self.xml(&[("RequestId", request_id), ("HostId", "oss-local")]));
        for (k, v) in &self.headers {
            set_header(&mut resp, k, v);
        }
        resp
    }
}

/// An error from a PostObject policy check, as OSS answers it.
pub fn oss_error(e: crate::form::PolicyError) -> ApiError {
    use crate::form::PolicyError;
    match e {
        PolicyError::Anonymous => {
            ApiError::new(403, "AccessDenied", "anonymous access is not allowed")
        }
        PolicyError::Mismatch => ApiError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
        PolicyError::Expired => ApiError::new(
            403,
            "AccessDenied",
            "Invalid according to Policy: Policy expired.",
        ),
        PolicyError::Condition(m) => ApiError::new(403, "AccessDenied", m),
        PolicyError::Invalid(m) => ApiError::new(400, "InvalidPolicyDocument", m),
    }
}
