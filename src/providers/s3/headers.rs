//! SigV4 `Authorization` header signing, for the calls the gateway makes with its own keys
//! (multipart control, HeadObject, STS AssumeRole).

use super::Signer;
use super::presign::check_headers;
use super::sigv4::{
    ALGORITHM, AmzDate, push_canonical_headers, push_canonical_query, scope, string_to_sign,
};
use super::types::{InputError, Method, Service};
use crate::providers::encoding::encode;
use time::OffsetDateTime;

pub struct HeaderRequest<'a> {
    pub method: Method,
    pub host: &'a str,
    /// The already encoded path (S3: [`super::S3Location::object_path`]).
    pub path: &'a str,
    /// Unencoded query parameters; an empty value is a bare sub-resource (`uploads`).
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to send and sign besides the ones the signer adds.
    pub headers: &'a [(&'a str, &'a str)],
    /// hex(sha256(body)).
    pub payload_sha256: &'a str,
    pub now: OffsetDateTime,
}

/// The headers to send (the caller's first, then the signer's) and what was signed. Not
/// `Debug`: `Authorization` is a credential for this request.
pub struct SignedHeaders {
    pub headers: Vec<(String, String)>,
    /// `k=v&...` in canonical order, ready to follow `?` in the URL (empty: no query).
    pub query: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

impl Signer {
    pub fn sign_headers(&self, req: &HeaderRequest<'_>) -> Result<SignedHeaders, InputError> {
        let keys = &self.keys;
        let date = AmzDate::new(req.now);
        let scope = scope(&date, keys.region(), keys.service());
        let token = keys.credentials().session_token();

        let mut added: Vec<(&str, &str)> = vec![("x-amz-date", date.as_str())];
        // S3 insists on the payload hash as a header; STS does not know it.
        if keys.service() == Service::S3 {
            added.push(("x-amz-content-sha256", req.payload_sha256));
        }
        if let Some(t) = token {
            added.push(("x-amz-security-token", t));
        }
        let mut names = check_headers(req.headers)?;
        names.push(("host".into(), usize::MAX));
        let mut signed: Vec<(String, &str)> = names
            .into_iter()
            .map(|(n, i)| {
                let v = if i == usize::MAX {
                    req.host
                } else {
                    req.headers[i].1
                };
                (n, v)
            })
            .collect();
        signed.extend(added.iter().map(|(k, v)| ((*k).to_string(), *v)));
        signed.sort_unstable();

        let query: Vec<(String, String)> = req
            .query
            .iter()
            .map(|(k, v)| (encode(k), encode(v)))
            .collect();
        let mut query_string = String::new();
        push_canonical_query(&mut query_string, &query);

        let mut canonical = String::with_capacity(512);
        canonical.push_str(req.method.as_str());
        canonical.push('\n');
        canonical.push_str(req.path);
        canonical.push('\n');
        canonical.push_str(&query_string);
        canonical.push('\n');
        let signed_names = push_canonical_headers(&mut canonical, &signed);
        canonical.push('\n');
        canonical.push_str(&signed_names);
        canonical.push('\n');
        canonical.push_str(req.payload_sha256);

        let to_sign = string_to_sign(&date, &scope, &canonical);
        let signature = keys.key_for(&date).sign_hex(&to_sign);
        let mut authorization = String::with_capacity(200);
        authorization.push_str(ALGORITHM);
        authorization.push_str(" Credential=");
        authorization.push_str(keys.credentials().access_key_id());
        authorization.push('/');
        authorization.push_str(&scope);
        authorization.push_str(", SignedHeaders=");
        authorization.push_str(&signed_names);
        authorization.push_str(", Signature=");
        authorization.push_str(&signature);

        let mut headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let cased = |n: &str| match n {
            "x-amz-date" => "X-Amz-Date",
            "x-amz-content-sha256" => "X-Amz-Content-SHA256",
            _ => "X-Amz-Security-Token",
        };
        headers.extend(
            added
                .iter()
                .map(|(k, v)| (cased(k).to_string(), (*v).to_string())),
        );
        headers.push(("Authorization".into(), authorization));
        Ok(SignedHeaders {
            headers,
            query: query_string,
            canonical_request: canonical,
            string_to_sign: to_sign,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::s3::sigv4::EMPTY_SHA256;
    use crate::providers::s3::{Credentials, Region};

    /// The header-signing example of the S3 documentation ("Signature Calculations for the
    /// Authorization Header", GET Object with a Range header).
    #[test]
    fn the_documented_get_object_example_signs_identically() {
        let creds = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
                .to_string()
                .into(),
            None,
        )
        .unwrap();
        let signer = Signer::new(creds, Region::parse("us-east-1").unwrap(), Service::S3);
        let signed = signer
            .sign_headers(&HeaderRequest {
                method: Method::Get,
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                query: &[],
                headers: &[("Range", "bytes=0-9")],
                payload_sha256: EMPTY_SHA256,
                now: OffsetDateTime::from_unix_timestamp(1_369_353_600).unwrap(),
            })
            .unwrap();
        let auth = &signed.headers.last().unwrap().1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        let names: Vec<&str> = signed.headers.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Range",
                "X-Amz-Date",
                "X-Amz-Content-SHA256",
                "Authorization"
            ]
        );
    }
}
