//! Alibaba's app-server shape for PostObject profiles: what its H5/JavaScript direct-upload
//! page asks its server for (`{accessid, host, policy, signature, expire, callback, dir}`).
//! One record per answer, bound to the caller's prefix like any client-named form: the page
//! picks the name under `dir`, and the callback's ticket vouches for upload, prefix and user.

use super::hook::HookAsk;
use super::{Uploads, rules};
use crate::domain::{
    CallbackVars, ClientVars, RecordTarget, UploadId, UploadKind, UploadRecord, UserId,
};
use crate::error::ApiError;
use crate::providers::{AppServerForm, AppServerFormRequest};

pub struct AppServerIssued {
    pub record: UploadRecord,
    pub form: AppServerForm,
}

impl Uploads {
    /// Signs and records one app-server form for `profile`, which must allow forms with
    /// client-chosen names and carry the callback (the page has no other way to report).
    pub async fn oss_app_server(
        &self,
        user: &UserId,
        profile: &str,
    ) -> Result<AppServerIssued, ApiError> {
        let profile = self.profile(profile)?.clone();
        rules::require_kind(&profile, UploadKind::Form)?;
        let refuse = |why: &str| {
            ApiError::InvalidArgument(format!(
                "profile '{}' {why}, which Alibaba's app-server flow needs",
                profile.name
            ))
        };
        if !profile.client_chosen_name {
            return Err(refuse(
                "does not let clients name objects (client_chosen_name)",
            ));
        }
        if !profile.callback {
            return Err(refuse("has no upload callback"));
        }
        self.check_rate_limit(user, "form").await?;
        let admission = self
            .admit(
                user,
                &profile,
                &HookAsk {
                    kind: UploadKind::Form,
                    filename: None,
                    content_type: None,
                    size: None,
                    metadata: &Default::default(),
                },
            )
            .await?;
        if admission.key_suffix.is_some() {
            // The page names the object under `dir`: there is no key to override.
            return Err(ApiError::HookUnavailable(
                "set a key suffix for a profile whose clients name their objects (a fault of the app's hook, not of the request)",
            ));
        }
        let provider = self.provider_for(&profile)?;
        let forms = provider
            .forms()
            .ok_or_else(|| rules::kind_not_allowed(&profile, "form"))?;
        let (id, now) = (UploadId::new(), self.now());
        let dir = profile.template.prefix_for(user).as_str().to_string();
        let vars = CallbackVars::for_form_prefix(
            self.ticket_secret(),
            user,
            &id,
            &dir,
            &ClientVars::default(),
        );
        let cb = self.callback_request(&profile, vars);
        provider
            .check_callback(&cb)
            .map_err(ApiError::InvalidArgument)?;
        let form = forms
            .app_server_form(&AppServerFormRequest {
                dir: &dir,
                min_size: profile.min_size,
                max_size: admission.max_size(&profile),
                callback: Some(&cb),
                now,
                expires_in: rules::expires_in(&profile),
            })
            .ok_or_else(|| refuse("is not stored on OSS"))?;
        let record = UploadRecord::issued(
            id,
            user.clone(),
            UploadKind::Form,
            RecordTarget {
                profile: &profile.name,
                provider: provider.kind(),
                bucket: &profile.bucket.bucket,
                key: &dir,
            },
            now,
            now + profile.expires_in,
        );
        let mut record = record;
        record.max_size = admission.max_size.filter(|m| *m < profile.max_size);
        record.hook_metadata = admission.metadata.clone();
        self.record_issued(&mut record, &profile, &admission)
            .await?;
        self.count_issued(provider.as_ref(), UploadKind::Form, &profile);
        Ok(AppServerIssued { record, form })
    }
}
