//! Turning "this user wants to upload this file under this profile" into a checked plan:
//! profile rules applied, object key built from the template, record and callback variables
//! (with the ticket) prepared. Nothing here signs or talks to storage; the routes do that
//! through the provider.

use crate::auth::AuthUser;
use crate::callbacks::ticket::{self, TicketScope};
use crate::config::Profile;
use crate::domain::{
    ContentType, Filename, ObjectKey, RecordTarget, RenderContext, UploadId, UploadKind,
    UploadRecord, UserId,
};
use crate::error::ApiError;
use crate::providers::oss::callback_params::MAX_PARAM_BYTES;
use crate::providers::{CallbackRequest, Provider};
use crate::state::AppState;
use secrecy::ExposeSecret;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Callback variables the gateway sets itself; clients cannot supply them.
pub const RESERVED_VARS: &[&str] = &["upload_id", "ticket", "grant_id"];
const MAX_VARS: usize = 8;
const MAX_VAR_NAME: usize = 32;
const MAX_VAR_VALUE: usize = 256;

pub fn require_kind(profile: &Profile, kind: UploadKind) -> Result<(), ApiError> {
    if profile.kinds.contains(&kind) {
        Ok(())
    } else {
        Err(ApiError::KindNotAllowed {
            profile: profile.name.clone(),
            kind: kind.as_str(),
        })
    }
}

pub fn check_content_type(profile: &Profile, raw: &str) -> Result<ContentType, ApiError> {
    let ct = ContentType::parse(raw)
        .map_err(|e| ApiError::InvalidArgument(format!("content_type: {e}")))?;
    if profile.content_types.iter().any(|p| p.matches(&ct)) {
        Ok(ct)
    } else {
        Err(ApiError::ContentTypeNotAllowed {
            content_type: ct.as_str().chars().take(100).collect(),
            profile: profile.name.clone(),
            allowed: profile
                .content_types
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

pub fn check_size(profile: &Profile, size: u64) -> Result<(), ApiError> {
    if size > profile.max_size {
        return Err(ApiError::SizeTooLarge {
            size,
            max: profile.max_size,
            profile: profile.name.clone(),
        });
    }
    if size < profile.min_size {
        return Err(ApiError::SizeTooSmall {
            size,
            min: profile.min_size,
            profile: profile.name.clone(),
        });
    }
    Ok(())
}

/// Client-supplied callback variables: lower-case names, bounded in number and size.
pub fn check_vars(
    vars: Option<BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let vars = vars.unwrap_or_default();
    if vars.len() > MAX_VARS {
        return Err(ApiError::InvalidArgument(format!(
            "vars: at most {MAX_VARS} variables"
        )));
    }
    for (k, v) in &vars {
        let ok_name = !k.is_empty()
            && k.len() <= MAX_VAR_NAME
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok_name {
            return Err(ApiError::InvalidArgument(format!(
                "vars: name '{}' must be 1-{MAX_VAR_NAME} characters of a-z, 0-9 and _",
                k.chars().take(40).collect::<String>()
            )));
        }
        if RESERVED_VARS.contains(&k.as_str()) {
            return Err(ApiError::InvalidArgument(format!(
                "vars: '{k}' is reserved by the gateway"
            )));
        }
        if v.len() > MAX_VAR_VALUE || v.chars().any(char::is_control) {
            return Err(ApiError::InvalidArgument(format!(
                "vars: value of '{k}' must be at most {MAX_VAR_VALUE} bytes without control characters"
            )));
        }
    }
    Ok(vars)
}

/// `content_md5`: base64 of 16 bytes, as the Content-MD5 header carries it.
pub fn check_md5(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    use base64::Engine;
    match raw {
        None => Ok(None),
        Some(s) => match base64::engine::general_purpose::STANDARD.decode(s) {
            Ok(b) if b.len() == 16 => Ok(Some(s.to_string())),
            _ => Err(ApiError::InvalidArgument(
                "content_md5: must be the base64 of the 16-byte MD5 digest (as in the Content-MD5 header)".into(),
            )),
        },
    }
}

/// One object upload, checked and ready to sign.
pub struct ObjectPlan {
    pub profile: Arc<Profile>,
    pub provider: Arc<dyn Provider>,
    pub record: UploadRecord,
    pub key: ObjectKey,
    pub callback: Option<CallbackRequest>,
    pub now: OffsetDateTime,
}

pub struct ObjectAsk<'a> {
    pub kind: UploadKind,
    pub filename: &'a str,
    pub content_type: Option<&'a ContentType>,
    pub size: Option<u64>,
    pub vars: BTreeMap<String, String>,
    /// AppendObject carries no callback.
    pub with_callback: bool,
}

pub fn provider_for(state: &AppState, profile: &Profile) -> Result<Arc<dyn Provider>, ApiError> {
    state
        .providers
        .get(&profile.bucket.name)
        .cloned()
        .ok_or_else(|| {
            ApiError::internal(format!("no provider for bucket {}", profile.bucket.name))
        })
}

/// Ask for `${imageInfo.*}` only where images may be uploaded.
pub fn image_info(profile: &Profile) -> bool {
    profile
        .content_types
        .iter()
        .any(|p| p.to_string().starts_with("image/") || p.to_string() == "*/*")
}

/// One object a client asks to upload, before any check.
pub struct ObjectRequest<'a> {
    pub profile: &'a str,
    pub kind: UploadKind,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: Option<u64>,
    pub vars: Option<BTreeMap<String, String>>,
}

/// The checks every callback-carrying right shares, in order: profile and kind, content
/// type, size, client vars, the caller's rate limit; then [`plan_object`] with the callback.
/// Returns the plan and the checked content type.
pub async fn checked_plan(
    state: &AppState,
    who: &AuthUser,
    req: ObjectRequest<'_>,
) -> Result<(ObjectPlan, ContentType), ApiError> {
    let profile = state.profile(req.profile)?.clone();
    require_kind(&profile, req.kind)?;
    let ct = check_content_type(&profile, req.content_type)?;
    if let Some(size) = req.size {
        check_size(&profile, size)?;
    }
    let vars = check_vars(req.vars)?;
    state.check_rate_limit(who, req.kind.as_str()).await?;
    let plan = plan_object(
        state,
        who,
        &profile,
        ObjectAsk {
            kind: req.kind,
            filename: req.filename,
            content_type: Some(&ct),
            size: req.size,
            vars,
            with_callback: true,
        },
    )?;
    Ok((plan, ct))
}

/// Builds the object key and the record, and the callback carrying upload id and ticket.
pub fn plan_object(
    state: &AppState,
    who: &AuthUser,
    profile: &Arc<Profile>,
    ask: ObjectAsk<'_>,
) -> Result<ObjectPlan, ApiError> {
    let provider = provider_for(state, profile)?;
    let filename =
        Filename::sanitize(ask.filename).map_err(|e| ApiError::InvalidFilename(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let id = UploadId::new();
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    let key = profile
        .template
        .render(&RenderContext {
            user: &who.user,
            upload_id: id.as_str(),
            uuid: &uuid,
            filename: Some(&filename),
            now,
        })
        .map_err(|e| ApiError::InvalidObjectKey(e.to_string()))?;

    let callback = (profile.callback && ask.with_callback).then(|| {
        object_callback(
            state,
            profile,
            &who.user,
            id.as_str(),
            key.as_str(),
            &ask.vars,
        )
    });
    if let Some(cb) = &callback {
        check_callback_size(provider.as_ref(), cb)?;
    }

    let mut record = UploadRecord::issued(
        id,
        who.user.clone(),
        ask.kind,
        RecordTarget {
            profile: &profile.name,
            provider: provider.kind(),
            bucket: &profile.bucket.bucket,
            key: key.as_str(),
        },
        now,
        now + profile.expires_in,
    );
    record.declared_size = ask.size;
    record.content_type = ask.content_type.map(|c| c.as_str().to_string());
    record.vars = ask.vars;
    Ok(ObjectPlan {
        profile: profile.clone(),
        provider,
        record,
        key,
        callback,
        now,
    })
}

/// The callback for one object upload: upload id and ticket first, then the client's vars.
/// Deterministic, so a multipart completion can rebuild what initiation planned.
pub fn object_callback(
    state: &AppState,
    profile: &Profile,
    user: &UserId,
    upload_id: &str,
    key: &str,
    client_vars: &BTreeMap<String, String>,
) -> CallbackRequest {
    let t = ticket::issue(
        state.settings.ticket_secret.expose_secret().as_bytes(),
        user.as_str(),
        &TicketScope::Object { upload_id, key },
    );
    let mut vars = vec![
        ("upload_id".to_string(), upload_id.to_string()),
        ("ticket".to_string(), t),
    ];
    vars.extend(client_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    CallbackRequest {
        body_type: profile.callback_body_type,
        image_info: image_info(profile),
        vars,
    }
}

/// OSS rejects a `callback` or `callback-var` over 5 KB; say so before signing.
pub fn check_callback_size(provider: &dyn Provider, cb: &CallbackRequest) -> Result<(), ApiError> {
    let params = provider.callback_params(cb).unwrap_or_default();
    match params.iter().find(|(_, v)| v.len() > MAX_PARAM_BYTES) {
        Some((name, _)) => Err(ApiError::InvalidArgument(format!(
            "the {name} parameter would exceed storage's limit of {MAX_PARAM_BYTES} bytes; send fewer or shorter vars"
        ))),
        None => Ok(()),
    }
}

pub fn expires_in(profile: &Profile) -> u64 {
    profile.expires_in.as_secs().max(1)
}

pub fn record_issue(
    state: &AppState,
    provider: &dyn Provider,
    kind: UploadKind,
    profile: &Profile,
) {
    state
        .metrics
        .credentials_issued_total
        .with_label_values(&[provider.kind(), kind.as_str(), &profile.name])
        .inc();
}
