//! The provider trait: a small core every vendor has, plus optional capabilities (forms,
//! temporary credentials, multipart, append, the gateway's own object calls) that a vendor
//! without them answers `None` or `false` to.

use super::{
    AppServerForm, AppServerFormRequest, CallbackError, CallbackRequest, Completed, Credentials,
    DownloadRequest, FormRequest, InProgressPage, ObjectMeta, PartInfo, PartLimits, RawCallback,
    ScopedCredentials, SignedForm, SignedUrl, UpstreamError, UrlRequest, VerifiedCallback,
};
use crate::config::CallbackBodyType;
use futures_util::future::BoxFuture;
use time::OffsetDateTime;

/// One configured bucket at one vendor.
pub trait Provider: Send + Sync {
    fn kind(&self) -> &'static str;
    /// Endpoint and region as a client SDK wants them.
    fn endpoint(&self) -> String;
    fn presign(&self, req: &UrlRequest<'_>, creds: Option<&Credentials<'_>>) -> SignedUrl;
    /// The object's URL, unsigned (where it lives, for answers such as Uppy's `location`).
    fn object_url(&self, key: &str) -> String;
    /// The encoded callback parameters, for clients that attach them themselves (STS).
    fn callback_params(&self, _cb: &CallbackRequest) -> Option<Vec<(String, String)>> {
        None
    }
    /// Whether storage accepts this callback (vendors bound its size); the message says what
    /// to change.
    fn check_callback(&self, _cb: &CallbackRequest) -> Result<(), String> {
        Ok(())
    }
    /// Whether every callback this setup can produce fits, checked once at start-up.
    fn check_callback_setup(&self, _body_type: CallbackBodyType) -> Result<(), String> {
        Ok(())
    }
    fn supports_append(&self) -> bool {
        false
    }
    /// Whether rights carry a [`UrlRequest::binding`] that HeadObject shows back, so a storage
    /// check completes an upload only for the object its own right wrote.
    fn binds_uploads(&self) -> bool {
        false
    }
    /// Whether multipart uploads carry the binding too (set on initiate), so a notice that
    /// names only the object finds the upload even when the gateway never saw it complete.
    fn binds_multipart(&self) -> bool {
        false
    }
    /// Before signing the next append: whether the object can take bytes at `position`
    /// (vendors whose store answers it cheaply; the default trusts storage to refuse).
    fn check_append<'a>(
        &'a self,
        _key: &'a str,
        _position: u64,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async { Ok(()) })
    }
    fn forms(&self) -> Option<&dyn FormSigner> {
        None
    }
    fn credentials(&self) -> Option<&dyn CredentialIssuer> {
        None
    }
    /// The multipart upload API, where the vendor has one.
    fn multipart(&self) -> Option<&dyn MultipartApi> {
        None
    }
    /// Reads, deletes and download URLs of stored objects, with the gateway's own keys.
    fn objects(&self) -> Option<&dyn ObjectApi> {
        None
    }
    /// HeadObject with the gateway's own credentials; `None` when there is no such object.
    fn head_object<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObjectMeta>, UpstreamError>>;
}

pub trait FormSigner: Send + Sync {
    fn sign_form(&self, req: &FormRequest<'_>) -> SignedForm;
    /// The form in the shape Alibaba's app-server samples answer, for its H5/JavaScript
    /// direct-upload page; `None` where the vendor has no such shape.
    fn app_server_form(&self, _req: &AppServerFormRequest<'_>) -> Option<AppServerForm> {
        None
    }
}

/// What one profile's temporary credentials may do, in no vendor's terms: the policy a
/// vendor writes from it must not grant more.
#[derive(Debug, Clone, Copy)]
pub struct CredentialScope<'a> {
    /// The user's prefix; the grant covers keys below it.
    pub prefix: &'a str,
    /// The profile allows appends (COS `AppendObject`).
    pub allow_append: bool,
    /// The profile's Content-Type patterns (`image/*`, `text/plain`); empty allows any.
    pub content_types: &'a [String],
    /// The profile's largest object, for the simple uploads a policy can bound.
    pub max_size: Option<u64>,
}

/// Issues temporary credentials (STS).
pub trait CredentialIssuer: Send + Sync {
    /// `session` names the session in the cloud's audit log (no personal data).
    fn issue<'a>(
        &'a self,
        prefix: &'a str,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>>;

    /// The same, with the profile's limits in the policy where the vendor's policies can
    /// carry them; by default the prefix-only grant of [`CredentialIssuer::issue`].
    fn issue_scoped<'a>(
        &'a self,
        scope: &'a CredentialScope<'a>,
        session: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<ScopedCredentials, UpstreamError>> {
        self.issue(scope.prefix, session, now)
    }
}

/// Signed control calls for multipart uploads, made with the gateway's own credentials.
pub trait MultipartApi: Send + Sync {
    fn limits(&self) -> PartLimits;
    /// `binding`: what the object must carry once complete, where the provider
    /// [`Provider::binds_multipart`] (stored as the upload's metadata, like `content_type`).
    fn initiate<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        binding: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, UpstreamError>>;
    /// Every uploaded part, following pagination to the end.
    fn list_parts<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartInfo>, UpstreamError>>;
    /// CompleteMultipartUpload. `Ok` means the object exists; the record is settled by the
    /// caller (through the callback, or by asking storage).
    fn complete<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: &'a [(u32, String)],
        callback: Option<&'a CallbackRequest>,
    ) -> BoxFuture<'a, Result<Completed, UpstreamError>>;
    fn abort<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, Result<(), UpstreamError>>;
    fn list_uploads<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<(&'a str, &'a str)>,
    ) -> BoxFuture<'a, Result<InProgressPage, UpstreamError>>;
}

/// The gateway's own calls on stored objects (content checks, owner downloads and deletes),
/// signed with its own credentials. Errors are classified by the adapter.
pub trait ObjectApi: Send + Sync {
    /// At most `len` bytes from the start of the object (fewer when it is smaller); `None`
    /// when there is no such object. Never reads more than `len`, whatever storage sends.
    fn read_head<'a>(
        &'a self,
        key: &'a str,
        len: u64,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, UpstreamError>>;
    /// Deletes the object; deleting one that is not there succeeds too.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), UpstreamError>>;
    /// A presigned GET, with the `Content-Disposition` storage should answer with.
    fn presign_get(&self, req: &DownloadRequest<'_>) -> SignedUrl;
}

/// Turns the request storage sent the gateway into a [`VerifiedCallback`], or says why not.
/// One per vendor (not per bucket): it is mounted at `/v1/callbacks/{provider}`.
pub trait CallbackVerifier: Send + Sync {
    fn provider(&self) -> &'static str;
    fn verify<'a>(
        &'a self,
        raw: &'a RawCallback<'a>,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, Result<VerifiedCallback, CallbackError>>;
}
