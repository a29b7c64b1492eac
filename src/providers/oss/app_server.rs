//! Alibaba's app-server shape: the JSON its samples' servers answer (`accessid, host,
//! policy, signature, expire, callback, dir`), which its H5/JavaScript direct-upload page
//! turns into a form of exactly `key, policy, OSSAccessKeyId, success_action_status,
//! callback, signature, file`. That page signs with V1 and sends no Content-Type and no
//! `x:` fields, so the policy pins the name prefix, the size range, the status and the
//! callback, and the callback carries upload id and ticket in its own body.

use super::OssProvider;
use super::callback_params::{self, CallbackSpec};
use super::post_policy::{self, ContentTypeCondition, KeyCondition, PolicyInput};
use crate::config::SignatureVersion;
use crate::providers::{AppServerForm, AppServerFormRequest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;

impl OssProvider {
    pub(super) fn sign_app_server_form(&self, req: &AppServerFormRequest<'_>) -> AppServerForm {
        let callback = req
            .callback
            .map(|cb| {
                let spec = CallbackSpec {
                    var_names: &[],
                    ..self.spec(cb, &[])
                };
                STANDARD.encode(callback_params::callback_json_with_values(
                    &spec,
                    cb.vars.pairs(),
                ))
            })
            .unwrap_or_default();
        // The page sends success_action_status=200; OSS then relays the callback's answer.
        let mut fields = vec![("success_action_status".to_string(), "200".to_string())];
        if !callback.is_empty() {
            fields.push(("callback".into(), callback.clone()));
        }
        let expiration = req.now + Duration::from_secs(req.expires_in);
        let input = PolicyInput {
            bucket: &self.bucket.bucket,
            key: KeyCondition::StartsWith(req.dir),
            content_type: ContentTypeCondition::Any,
            min_size: req.min_size,
            max_size: req.max_size,
            fields: &fields,
            expiration,
        };
        let signed = post_policy::sign(
            SignatureVersion::V1,
            &self.bucket.region,
            self.own_credentials(),
            &input,
            req.now,
        );
        let field = |name: &str| {
            signed
                .fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        AppServerForm {
            access_id: field("OSSAccessKeyId"),
            host: self.location.bucket_url().trim_end_matches('/').to_string(),
            policy: field("policy"),
            signature: field("Signature"),
            expires_at: expiration,
            callback,
            dir: req.dir.to_string(),
        }
    }
}
