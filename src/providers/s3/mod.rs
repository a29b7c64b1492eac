//! S3-compatible storage (AWS S3, Garage, MinIO, R2, Ceph RGW): pure SigV4 signing with the
//! clock passed in, POST policy forms, the gateway's own control calls, STS AssumeRole, and
//! the verification of completion notices delivered by Amazon SNS.
//!
//! The signers do no I/O and read no configuration; [`S3Provider`] holds one [`Signer`] per
//! bucket (and one for STS) and sends the [`SignedRequest`]s they return ([`client`],
//! [`multipart_api`], [`objects`], [`sts_client`]).

mod client;
pub mod control;
pub mod headers;
pub mod location;
pub mod multipart_api;
pub mod notify;
mod objects;
pub mod post_policy;
pub mod presign;
pub mod provider;
pub mod s3_event;
pub mod sigv4;
pub mod sns;
pub mod sns_cert_url;
pub mod sns_certs;
mod sns_confirm;
mod sns_error;
pub mod sts;
mod sts_client;
pub mod types;
pub mod xml;

#[cfg(test)]
mod sns_vector_tests;
#[cfg(test)]
mod vector_tests;

pub use control::SignedRequest;
pub use location::{S3Location, UrlStyle};
pub use presign::{PresignRequest, Presigned, PutHeaders};
pub use provider::{BINDING_HEADER, S3Provider};
pub use types::{BucketName, Credentials, Expiry, InputError, Method, Region, Service};
pub use xml::CompletedPart;

/// Signs for one key pair, region and service, reusing each day's signing key.
pub struct Signer {
    keys: sigv4::KeyCache,
}

impl Signer {
    pub fn new(credentials: Credentials, region: Region, service: Service) -> Self {
        Signer {
            keys: sigv4::KeyCache::new(credentials, region, service),
        }
    }
    pub fn region(&self) -> &Region {
        self.keys.region()
    }
    pub fn access_key_id(&self) -> &str {
        self.keys.credentials().access_key_id()
    }
}
