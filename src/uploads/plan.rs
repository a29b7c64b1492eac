//! One object upload planned: profile rules applied, key built from the template, record
//! and callback (with the ticket) prepared. Nothing here signs or talks to storage.

use super::hook::{Admission, HookAsk};
use super::{Uploads, rules};
use crate::config::Profile;
use crate::domain::{
    CallbackVars, ClientVars, ContentType, Filename, ObjectKey, RecordTarget, RenderContext,
    UploadId, UploadKind, UploadRecord, UserId,
};
use crate::error::ApiError;
use crate::providers::{CallbackRequest, Provider};
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// One object a client asks to upload, before any check: what presign, form, append,
/// multipart and `POST /v1/uploads` all take.
#[derive(Debug, Clone, Default)]
pub struct PutObject {
    pub profile: String,
    pub filename: String,
    pub content_type: String,
    /// Declared size; forms and Uppy may leave it out.
    pub size: Option<u64>,
    pub content_md5: Option<String>,
    pub vars: Option<BTreeMap<String, String>>,
}

/// One object upload, checked and ready to sign.
pub(super) struct ObjectPlan {
    pub profile: Arc<Profile>,
    pub provider: Arc<dyn Provider>,
    pub record: UploadRecord,
    pub key: ObjectKey,
    pub content_type: ContentType,
    pub content_md5: Option<String>,
    pub callback: Option<CallbackRequest>,
    pub now: OffsetDateTime,
    /// What the pre-upload hook allowed (its overrides are applied to key and record).
    pub admission: Admission,
}

impl Uploads {
    /// The checks every callback-carrying right shares, in order: MD5, profile and kind,
    /// content type, size, client vars, the caller's rate limit; then the key, the record and
    /// the callback.
    pub(super) async fn plan(
        &self,
        user: &UserId,
        kind: UploadKind,
        ask: &PutObject,
    ) -> Result<ObjectPlan, ApiError> {
        let content_md5 = rules::check_md5(ask.content_md5.as_deref())?;
        let profile = self.profile(&ask.profile)?.clone();
        rules::require_kind(&profile, kind)?;
        let ct = rules::check_content_type(&profile, &ask.content_type)?;
        if let Some(size) = ask.size {
            rules::check_size(&profile, size)?;
        }
        let vars = ClientVars::parse(ask.vars.clone())
            .map_err(|e| ApiError::InvalidArgument(e.to_string()))?;
        self.check_rate_limit(user, kind.as_str()).await?;
        let admission = self
            .admit(
                user,
                &profile,
                &HookAsk {
                    kind,
                    filename: Some(&ask.filename),
                    content_type: Some(ct.as_str()),
                    size: ask.size,
                    metadata: vars.as_map(),
                },
            )
            .await?;
        let mut plan = self.plan_object(
            user,
            &profile,
            kind,
            &ask.filename,
            ct,
            ask.size,
            vars,
            admission,
        )?;
        plan.content_md5 = content_md5;
        Ok(plan)
    }

    /// Builds the object key and the record, and the callback carrying upload id and ticket
    /// when the profile asks for one and the kind carries one (append does not).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn plan_object(
        &self,
        user: &UserId,
        profile: &Arc<Profile>,
        kind: UploadKind,
        filename: &str,
        content_type: ContentType,
        size: Option<u64>,
        vars: ClientVars,
        admission: Admission,
    ) -> Result<ObjectPlan, ApiError> {
        let provider = self.provider_for(profile)?;
        let filename =
            Filename::sanitize(filename).map_err(|e| ApiError::InvalidFilename(e.to_string()))?;
        let now = self.now();
        let id = UploadId::new();
        let uuid = uuid::Uuid::new_v4().simple().to_string();
        let key = profile
            .template
            .render(&RenderContext {
                user,
                upload_id: id.as_str(),
                uuid: &uuid,
                filename: Some(&filename),
                now,
            })
            .map_err(|e| ApiError::InvalidObjectKey(e.to_string()))?;
        // The hook's suffix replaces what the template put after the user's prefix.
        let key = match admission.key_under(&profile.template.prefix_for(user)) {
            Some(k) => k?,
            None => key,
        };

        let callback = (profile.callback && kind != UploadKind::Append)
            .then(|| self.object_callback(profile, user, &id, key.as_str(), size, &vars));
        if let Some(cb) = &callback {
            provider
                .check_callback(cb)
                .map_err(ApiError::InvalidArgument)?;
        }

        let mut record = UploadRecord::issued(
            id,
            user.clone(),
            kind,
            RecordTarget {
                profile: &profile.name,
                provider: provider.kind(),
                bucket: &profile.bucket.bucket,
                key: key.as_str(),
            },
            now,
            now + profile.expires_in,
        );
        record.declared_size = size;
        record.content_type = Some(content_type.as_str().to_string());
        record.vars = vars.into_map();
        record.max_size = admission.max_size.filter(|m| *m < profile.max_size);
        record.hook_metadata = admission.metadata.clone();
        Ok(ObjectPlan {
            profile: profile.clone(),
            provider,
            record,
            key,
            content_type,
            content_md5: None,
            callback,
            now,
            admission,
        })
    }

    /// The callback for one upload of exactly `key`.
    pub(super) fn object_callback(
        &self,
        profile: &Profile,
        user: &UserId,
        upload_id: &UploadId,
        key: &str,
        declared_size: Option<u64>,
        vars: &ClientVars,
    ) -> CallbackRequest {
        self.callback_request(
            profile,
            CallbackVars::for_object(
                self.ticket_secret(),
                user,
                upload_id,
                key,
                declared_size,
                vars,
            ),
        )
    }

    pub(super) fn callback_request(
        &self,
        profile: &Profile,
        vars: CallbackVars,
    ) -> CallbackRequest {
        CallbackRequest {
            body_type: profile.callback_body_type,
            may_be_image: rules::may_be_image(profile),
            vars,
        }
    }
}
