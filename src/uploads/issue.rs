//! Rights for single objects: presigned PUT and AppendObject URLs, PostObject forms.

use super::hook::HookAsk;
use super::{PutObject, Uploads, rules};
use crate::domain::{CallbackVars, ClientVars, UploadKind, UploadRecord, UploadStatus, UserId};
use crate::error::ApiError;
use crate::providers::{FormContentType, FormRequest, ObjectOp, SignedForm, SignedUrl, UrlRequest};

/// A signed URL and the record it belongs to.
pub struct IssuedUrl {
    pub record: UploadRecord,
    pub signed: SignedUrl,
    /// Where this append chunk starts.
    pub position: Option<u64>,
}

/// A signed PostObject form and the record it belongs to.
pub struct IssuedForm {
    pub record: UploadRecord,
    /// The exact key, or the prefix the client's chosen name must start with.
    pub key: String,
    pub key_is_prefix: bool,
    pub form: SignedForm,
}

/// One append: the first chunk names profile and file, the next ones the upload.
pub enum AppendAsk {
    First {
        profile: String,
        filename: Option<String>,
        content_type: Option<String>,
        size: u64,
    },
    Next {
        upload_id: String,
        position: u64,
        size: u64,
    },
}

impl Uploads {
    /// A presigned PUT for one object, pinned to its declared size and type.
    pub async fn presign(&self, user: &UserId, ask: &PutObject) -> Result<IssuedUrl, ApiError> {
        let mut plan = self.plan(user, UploadKind::Presign, ask).await?;
        let binding = self.object_binding(plan.provider.as_ref(), &plan.record);
        let signed = plan.provider.presign(
            &UrlRequest {
                op: ObjectOp::Put,
                key: plan.key.as_str(),
                content_type: Some(plan.content_type.as_str()),
                content_md5: plan.content_md5.as_deref(),
                content_length: ask.size,
                callback: plan.callback.as_ref(),
                binding: binding.as_deref(),
                now: plan.now,
                expires_in: rules::expires_in(&plan.profile),
            },
            None,
        );
        self.record_issued(&mut plan.record, &plan.profile, &plan.admission)
            .await?;
        self.count_issued(plan.provider.as_ref(), UploadKind::Presign, &plan.profile);
        Ok(IssuedUrl {
            record: plan.record,
            signed,
            position: None,
        })
    }

    /// A presigned AppendObject URL for the next chunk (the first creates the record).
    pub async fn append(&self, user: &UserId, ask: AppendAsk) -> Result<IssuedUrl, ApiError> {
        let (existing, profile, position, size, content_type) = match &ask {
            AppendAsk::Next {
                upload_id,
                position,
                size,
            } => {
                let rec = self.load_own(user, upload_id).await?;
                if rec.kind != UploadKind::Append {
                    return Err(ApiError::Conflict(
                        "upload_id does not name an append upload".into(),
                    ));
                }
                if rec.status.is_final() {
                    return Err(ApiError::Conflict(format!("the upload is {}", rec.status)));
                }
                let profile = self.profile(&rec.profile)?.clone();
                (Some(rec), profile, *position, *size, None)
            }
            AppendAsk::First {
                profile,
                content_type,
                size,
                ..
            } => {
                let profile = self.profile(profile)?.clone();
                let ct = content_type.as_deref().ok_or_else(|| {
                    ApiError::InvalidArgument("content_type: required for the first append".into())
                })?;
                let ct = rules::check_content_type(&profile, ct)?;
                (None, profile, 0, *size, Some(ct))
            }
        };
        rules::require_kind(&profile, UploadKind::Append)?;
        let end = position
            .checked_add(size)
            .ok_or_else(|| ApiError::InvalidArgument("position + size overflows".into()))?;
        let max = existing
            .as_ref()
            .and_then(|r| r.max_size)
            .map_or(profile.max_size, |m| m.min(profile.max_size));
        if end > max {
            return Err(ApiError::SizeTooLarge {
                size: end,
                max,
                profile: profile.name.clone(),
            });
        }
        self.check_rate_limit(user, "append").await?;

        let provider = self.provider_for(&profile)?;
        if !provider.supports_append() {
            return Err(rules::kind_not_allowed(&profile, "append"));
        }
        let (record, now) = match (existing, ask, content_type) {
            (Some(r), _, _) => {
                let check = provider.check_append(&r.key, position);
                self.upstream(provider.as_ref(), "CheckAppend", check)
                    .await?;
                (r, self.now())
            }
            (None, AppendAsk::First { filename, .. }, Some(ct)) => {
                let filename = filename.ok_or_else(|| {
                    ApiError::InvalidArgument("filename: required for the first append".into())
                })?;
                let admission = self
                    .admit(
                        user,
                        &profile,
                        &HookAsk {
                            kind: UploadKind::Append,
                            filename: Some(&filename),
                            content_type: Some(ct.as_str()),
                            size: None,
                            metadata: &Default::default(),
                        },
                    )
                    .await?;
                // Every later chunk must end within the hook's limit too.
                let max = admission.max_size(&profile);
                if end > max {
                    return Err(ApiError::SizeTooLarge {
                        size: end,
                        max,
                        profile: profile.name.clone(),
                    });
                }
                let mut plan = self.plan_object(
                    user,
                    &profile,
                    UploadKind::Append,
                    &filename,
                    ct,
                    None,
                    ClientVars::default(),
                    admission,
                )?;
                plan.record.status = UploadStatus::Uploading;
                self.record_issued(&mut plan.record, &profile, &plan.admission)
                    .await?;
                (plan.record, plan.now)
            }
            _ => return Err(ApiError::internal("append: inconsistent ask")),
        };
        let binding = self.object_binding(provider.as_ref(), &record);
        let signed = provider.presign(
            &UrlRequest {
                op: ObjectOp::Append { position },
                key: &record.key,
                content_type: record.content_type.as_deref(),
                content_md5: None,
                content_length: Some(size),
                callback: None,
                binding: binding.as_deref(),
                now,
                expires_in: rules::expires_in(&profile),
            },
            None,
        );
        self.count_issued(provider.as_ref(), UploadKind::Append, &profile);
        Ok(IssuedUrl {
            record,
            signed,
            position: Some(position),
        })
    }

    /// Checks, signs and records one PostObject form (the native route, Uppy's `/s3/params`
    /// and the demo).
    pub async fn form(&self, user: &UserId, ask: &PutObject) -> Result<IssuedForm, ApiError> {
        let mut plan = self.plan(user, UploadKind::Form, ask).await?;
        let profile = plan.profile.clone();
        let forms = plan
            .provider
            .forms()
            .ok_or_else(|| rules::kind_not_allowed(&profile, "form"))?;
        if profile.client_chosen_name && plan.admission.key_suffix.is_some() {
            // The client names the object under its prefix: there is no key to override.
            return Err(ApiError::HookUnavailable(
                "set a key suffix for a profile whose clients name their objects (a fault of the app's hook, not of the request)",
            ));
        }
        let key = if profile.client_chosen_name {
            // One upload whose name the client picks under its prefix: the callback is bound
            // to the prefix, and the record takes the object's key when it arrives.
            let prefix = profile.template.prefix_for(user).as_str().to_string();
            let vars = ClientVars::from_record(&plan.record.vars);
            let cb_vars = CallbackVars::for_form_prefix(
                self.ticket_secret(),
                user,
                &plan.record.id,
                &prefix,
                &vars,
            );
            if plan.callback.is_some() {
                let cb = self.callback_request(&profile, cb_vars);
                plan.provider
                    .check_callback(&cb)
                    .map_err(ApiError::InvalidArgument)?;
                plan.callback = Some(cb);
            }
            plan.record.key = prefix.clone();
            prefix
        } else {
            plan.key.as_str().to_string()
        };
        let (min, max) = match ask.size {
            // A declared size pins the form to it.
            Some(s) => (s, s),
            None => (profile.min_size, plan.admission.max_size(&profile)),
        };
        let binding = self.object_binding(plan.provider.as_ref(), &plan.record);
        let signed = forms.sign_form(&FormRequest {
            key: &key,
            key_is_prefix: profile.client_chosen_name,
            content_type: FormContentType::Exact(plan.content_type.as_str()),
            min_size: min,
            max_size: max,
            callback: plan.callback.as_ref(),
            binding: binding.as_deref(),
            credentials: None,
            now: plan.now,
            expires_in: rules::expires_in(&profile),
        });
        self.record_issued(&mut plan.record, &profile, &plan.admission)
            .await?;
        self.count_issued(plan.provider.as_ref(), UploadKind::Form, &profile);
        Ok(IssuedForm {
            record: plan.record,
            key,
            key_is_prefix: profile.client_chosen_name,
            form: signed,
        })
    }
}
