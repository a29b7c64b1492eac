//! Presigned upload URLs (PutObject, UploadPart, AppendObject) for clients, and
//! header-signed requests for the gateway's own control calls (multipart, HEAD).
//!
//! Always signs `host`: without it a signature is valid against every bucket the key can
//! reach (COS "strict signature mode" guidance). Content-Type, Content-MD5 and
//! Content-Length are signed when given, so the client must send exactly those.

use super::bucket::CosLocation;
use super::sign::{self, Credentials, KeyTime, QSignature, SignInput};
use crate::providers::encoding::UNRESERVED;
use percent_encoding::utf8_percent_encode;

/// What a presigned URL lets the client do with one object.
#[derive(Debug, Clone, Copy)]
pub enum UploadOp<'a> {
    Put,
    /// `POST ?append&position=N` (AppendObject).
    Append {
        position: u64,
    },
    /// `PUT ?partNumber=N&uploadId=ID`.
    UploadPart {
        upload_id: &'a str,
        part_number: u32,
    },
}

pub struct UploadRequest<'a> {
    pub op: UploadOp<'a>,
    pub key: &'a str,
    pub content_type: Option<&'a str>,
    pub content_md5: Option<&'a str>,
    /// Pins the body size: COS refuses any other Content-Length.
    pub content_length: Option<u64>,
    /// Further headers to sign and require, e.g. `x-cos-meta-*`, `x-cos-forbid-overwrite`.
    pub extra_headers: &'a [(&'a str, &'a str)],
    pub key_time: KeyTime,
}

/// A URL and exactly the headers the client must send with it. Not `Debug`: the URL is a
/// bearer credential.
pub struct Presigned {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub signed: QSignature,
}

/// Decimal text of a u64 without going through `format!`'s machinery.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits are ASCII")
}

/// `k=v&k=v`, a valueless param written bare (`append`, `uploads`), as the SDKs send them.
fn push_query(out: &mut String, params: &[(&str, &str)]) {
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.extend(utf8_percent_encode(k, UNRESERVED));
        if !v.is_empty() {
            out.push('=');
            out.extend(utf8_percent_encode(v, UNRESERVED));
        }
    }
}

/// Any request as a presigned URL (what `sign cos` exposes). `headers` and `params` are
/// signed; `sign_host: false` exists only to reproduce URLs for CDN or custom domains.
#[derive(Clone, Copy)]
pub struct UrlInput<'a> {
    pub method: &'a str,
    pub key: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub params: &'a [(&'a str, &'a str)],
    pub sign_host: bool,
    pub key_time: KeyTime,
}

/// Signs with `params` in the query and returns the URL `<object>?<q-* fields>&<params>`,
/// byte for byte what cos-python-sdk-v5's `get_presigned_url` writes. A security token goes
/// into the query and is signed, as that SDK does (vector `put_sts_token`).
pub fn presign_url(
    loc: &CosLocation,
    creds: Credentials<'_>,
    input: &UrlInput<'_>,
) -> (String, QSignature) {
    let UrlInput {
        method,
        key,
        headers,
        params,
        sign_host,
        key_time,
    } = *input;
    let with_token: Vec<(&str, &str)>;
    let params = match creds.security_token {
        Some(t) => {
            with_token = params
                .iter()
                .copied()
                .chain([("x-cos-security-token", t)])
                .collect();
            &with_token[..]
        }
        None => params,
    };
    let signed = sign::sign(
        creds.secret_key,
        &SignInput {
            method,
            key,
            host: if sign_host { loc.host() } else { "" },
            headers,
            params,
            key_time,
        },
    );
    let mut url = String::with_capacity(
        loc.host().len() + key.len() * 3 + 200 + creds.secret_id.len() + 48 * params.len(),
    );
    loc.push_object_url(&mut url, key);
    url.push('?');
    signed.push_fields(&mut url, creds.secret_id, true);
    if !params.is_empty() {
        url.push('&');
        push_query(&mut url, params);
    }
    (url, signed)
}

/// The presigned URL for one upload right.
pub fn presign_upload(
    loc: &CosLocation,
    creds: Credentials<'_>,
    req: &UploadRequest<'_>,
) -> Presigned {
    let mut len_buf = [0u8; 20];
    let mut pos_buf = [0u8; 20];
    let mut part_buf = [0u8; 20];

    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(3 + req.extra_headers.len());
    if let Some(ct) = req.content_type {
        headers.push(("Content-Type", ct));
    }
    if let Some(md5) = req.content_md5 {
        headers.push(("Content-MD5", md5));
    }
    if let Some(n) = req.content_length {
        headers.push(("Content-Length", decimal(n, &mut len_buf)));
    }
    headers.extend_from_slice(req.extra_headers);

    let (method, params): (&'static str, Vec<(&str, &str)>) = match req.op {
        UploadOp::Put => ("PUT", Vec::new()),
        UploadOp::Append { position } => (
            "POST",
            vec![
                ("append", ""),
                ("position", decimal(position, &mut pos_buf)),
            ],
        ),
        UploadOp::UploadPart {
            upload_id,
            part_number,
        } => (
            "PUT",
            vec![
                ("partNumber", decimal(part_number.into(), &mut part_buf)),
                ("uploadId", upload_id),
            ],
        ),
    };
    let (url, signed) = presign_url(
        loc,
        creds,
        &UrlInput {
            method,
            key: req.key,
            headers: &headers,
            params: &params,
            sign_host: true,
            key_time: req.key_time,
        },
    );
    Presigned {
        method,
        url,
        // Content-Length is the HTTP client's to send; listing it tells the client it is pinned.
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        signed,
    }
}

/// A call the gateway makes with its own keys.
#[derive(Debug, Clone, Copy)]
pub enum ControlCall<'a> {
    Head {
        key: &'a str,
    },
    InitiateMultipart {
        key: &'a str,
    },
    ListParts {
        key: &'a str,
        upload_id: &'a str,
        part_number_marker: Option<&'a str>,
    },
    CompleteMultipart {
        key: &'a str,
        upload_id: &'a str,
    },
    AbortMultipart {
        key: &'a str,
        upload_id: &'a str,
    },
    /// `GET /?uploads&prefix=` on the bucket, for the sweeper and for resuming.
    ListMultipartUploads {
        prefix: &'a str,
        key_marker: Option<&'a str>,
        upload_id_marker: Option<&'a str>,
    },
}

/// Method, URL and headers of a header-signed request; send exactly these. Not `Debug`:
/// `Authorization` is a credential.
pub struct SignedRequest {
    pub method: &'static str,
    pub url: String,
    /// `Authorization` first, then the signed headers the caller passed (and the token).
    pub headers: Vec<(String, String)>,
    pub signed: QSignature,
}

impl ControlCall<'_> {
    fn parts(&self) -> (&'static str, &str, Vec<(&str, &str)>) {
        match *self {
            ControlCall::Head { key } => ("HEAD", key, vec![]),
            ControlCall::InitiateMultipart { key } => ("POST", key, vec![("uploads", "")]),
            ControlCall::ListParts {
                key,
                upload_id,
                part_number_marker,
            } => {
                let mut p = vec![("uploadId", upload_id)];
                if let Some(m) = part_number_marker {
                    p.push(("part-number-marker", m));
                }
                ("GET", key, p)
            }
            ControlCall::CompleteMultipart { key, upload_id } => {
                ("POST", key, vec![("uploadId", upload_id)])
            }
            ControlCall::AbortMultipart { key, upload_id } => {
                ("DELETE", key, vec![("uploadId", upload_id)])
            }
            ControlCall::ListMultipartUploads {
                prefix,
                key_marker,
                upload_id_marker,
            } => {
                let mut p = vec![("uploads", ""), ("prefix", prefix)];
                if let Some(m) = key_marker {
                    p.push(("key-marker", m));
                }
                if let Some(m) = upload_id_marker {
                    p.push(("upload-id-marker", m));
                }
                ("GET", "", p)
            }
        }
    }
}

/// Signs a control call in the `Authorization` header. Every query parameter is signed
/// (strict signature mode asks for `all`); `headers` (for example Content-Type and
/// Content-MD5 of a Complete body) are signed and returned to send.
pub fn authorize(
    loc: &CosLocation,
    creds: Credentials<'_>,
    call: ControlCall<'_>,
    headers: &[(&str, &str)],
    key_time: KeyTime,
) -> SignedRequest {
    let (method, key, params) = call.parts();
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(t) = creds.security_token {
        all.push(("x-cos-security-token", t));
    }
    let signed = sign::sign(
        creds.secret_key,
        &SignInput {
            method,
            key,
            host: loc.host(),
            headers: &all,
            params: &params,
            key_time,
        },
    );
    let mut url = String::with_capacity(loc.host().len() + key.len() * 3 + 64);
    loc.push_object_url(&mut url, key);
    if !params.is_empty() {
        url.push('?');
        push_query(&mut url, &params);
    }
    let mut out = Vec::with_capacity(all.len() + 1);
    out.push((
        "Authorization".to_string(),
        signed.authorization(creds.secret_id),
    ));
    out.extend(all.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    SignedRequest {
        method,
        url,
        headers: out,
        signed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::cos::bucket::BucketName;

    fn loc() -> CosLocation {
        CosLocation::new(
            BucketName::parse("examplebucket-1250000000").unwrap(),
            "ap-guangzhou",
        )
        .unwrap()
    }

    const CREDS: Credentials<'static> = Credentials {
        secret_id: "AKIDFakeSecretId000000000000000000000",
        secret_key: "FakeSecretKey0000000000000000000",
        security_token: None,
    };

    fn req(op: UploadOp<'_>) -> UploadRequest<'_> {
        UploadRequest {
            op,
            key: "u/42/a.bin",
            content_type: Some("application/octet-stream"),
            content_md5: None,
            content_length: Some(1_048_576),
            extra_headers: &[],
            key_time: KeyTime::around(1_700_000_000, 900, 60),
        }
    }

    #[test]
    fn decimal_writes_every_width() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(0, &mut b), "0");
        assert_eq!(decimal(1_048_576, &mut b), "1048576");
        assert_eq!(decimal(u64::MAX, &mut b), u64::MAX.to_string());
    }

    #[test]
    fn append_urls_sign_append_and_position_and_pin_the_length() {
        let p = presign_upload(&loc(), CREDS, &req(UploadOp::Append { position: 4096 }));
        assert_eq!(p.method, "POST");
        assert_eq!(p.signed.url_param_list, "append;position");
        assert_eq!(p.signed.header_list, "content-length;content-type;host");
        assert!(
            p.signed
                .http_string
                .starts_with("post\n/u/42/a.bin\nappend=&position=4096\n")
        );
        assert!(p.url.ends_with("&append&position=4096"), "{}", p.url);
        assert_eq!(
            p.headers,
            vec![
                (
                    "Content-Type".to_string(),
                    "application/octet-stream".to_string()
                ),
                ("Content-Length".to_string(), "1048576".to_string())
            ]
        );
    }

    #[test]
    fn part_urls_differ_per_part_and_per_upload() {
        let sig = |upload_id, part_number| {
            presign_upload(
                &loc(),
                CREDS,
                &req(UploadOp::UploadPart {
                    upload_id,
                    part_number,
                }),
            )
            .signed
            .signature
        };
        assert_ne!(sig("u1", 1), sig("u1", 2));
        assert_ne!(sig("u1", 1), sig("u2", 1));
        let p = presign_upload(
            &loc(),
            CREDS,
            &req(UploadOp::UploadPart {
                upload_id: "u1",
                part_number: 7,
            }),
        );
        assert!(p.url.ends_with("&partNumber=7&uploadId=u1"));
        assert_eq!(p.signed.url_param_list, "partnumber;uploadid");
    }

    #[test]
    fn a_security_token_is_a_signed_query_parameter() {
        let creds = Credentials {
            security_token: Some("tok/en+="),
            ..CREDS
        };
        let p = presign_upload(&loc(), creds, &req(UploadOp::Put));
        assert_eq!(p.signed.url_param_list, "x-cos-security-token");
        assert!(p.url.ends_with("&x-cos-security-token=tok%2Fen%2B%3D"));
        let plain = presign_upload(&loc(), CREDS, &req(UploadOp::Put));
        assert_ne!(p.signed.signature, plain.signed.signature);
    }

    #[test]
    fn control_calls_sign_every_param_in_the_header() {
        let r = authorize(
            &loc(),
            CREDS,
            ControlCall::ListMultipartUploads {
                prefix: "u/42/",
                key_marker: Some("u/42/a"),
                upload_id_marker: None,
            },
            &[],
            KeyTime::around(1_700_000_000, 300, 60),
        );
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.url,
            "https://examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com/?uploads&prefix=u%2F42%2F&key-marker=u%2F42%2Fa"
        );
        assert_eq!(r.signed.url_param_list, "key-marker;prefix;uploads");
        assert!(
            r.signed
                .http_string
                .starts_with("get\n/\nkey-marker=u%2F42%2Fa&prefix=u%2F42%2F&uploads=\n")
        );
        assert_eq!(r.headers[0].0, "Authorization");
        assert!(r.headers[0].1.contains("&q-header-list=host&"));

        let creds = Credentials {
            security_token: Some("tok"),
            ..CREDS
        };
        let r = authorize(
            &loc(),
            creds,
            ControlCall::CompleteMultipart {
                key: "u/42/a.bin",
                upload_id: "up1",
            },
            &[("Content-Type", "application/xml")],
            KeyTime::around(1_700_000_000, 300, 60),
        );
        assert_eq!(r.method, "POST");
        assert!(r.url.ends_with("/u/42/a.bin?uploadId=up1"));
        assert_eq!(
            r.signed.header_list,
            "content-type;host;x-cos-security-token"
        );
        assert_eq!(
            r.headers[2],
            ("x-cos-security-token".to_string(), "tok".to_string())
        );
    }
}
