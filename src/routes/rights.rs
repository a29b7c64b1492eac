//! Routes that issue upload rights: presigned URLs, append URLs, PostObject forms and STS
//! credentials. Handlers stay thin: checks live in `rights`, signing in `providers`.

use crate::auth::AuthUser;
use crate::domain::{UploadKind, UploadStatus};
use crate::error::ApiError;
use crate::grants;
use crate::providers::{FormContentType, FormRequest, ObjectOp, SignedUrl, UrlRequest};
use crate::rights::{self, ObjectAsk, ObjectRequest};
use crate::routes::uploads::load_own;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresignBody {
    profile: String,
    filename: String,
    content_type: String,
    size: u64,
    content_md5: Option<String>,
    vars: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct UrlAnswer {
    upload_id: String,
    key: String,
    bucket: String,
    method: &'static str,
    url: String,
    headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<u64>,
}

fn url_answer(
    rec: &crate::domain::UploadRecord,
    signed: SignedUrl,
    position: Option<u64>,
) -> HttpResponse {
    HttpResponse::Ok().json(UrlAnswer {
        upload_id: rec.id.as_str().to_string(),
        key: rec.key.clone(),
        bucket: rec.bucket.clone(),
        method: signed.method,
        url: signed.url,
        headers: signed.headers.into_iter().collect(),
        expires_at: signed.expires_at,
        server_time: OffsetDateTime::now_utc(),
        position,
    })
}

pub async fn presign(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<PresignBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let md5 = rights::check_md5(body.content_md5.as_deref())?;
    let (plan, ct) = rights::checked_plan(
        &state,
        &who,
        ObjectRequest {
            profile: &body.profile,
            kind: UploadKind::Presign,
            filename: &body.filename,
            content_type: &body.content_type,
            size: Some(body.size),
            vars: body.vars,
        },
    )
    .await?;
    let profile = plan.profile.clone();
    let signed = plan.provider.presign(
        &UrlRequest {
            op: ObjectOp::Put,
            key: plan.key.as_str(),
            content_type: Some(ct.as_str()),
            content_md5: md5.as_deref(),
            content_length: Some(body.size),
            callback: plan.callback.as_ref(),
            now: plan.now,
            expires_in: rights::expires_in(&profile),
        },
        None,
    );
    state.store.create_record(&plan.record).await?;
    rights::record_issue(
        &state,
        plan.provider.as_ref(),
        UploadKind::Presign,
        &profile,
    );
    Ok(url_answer(&plan.record, signed, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendBody {
    /// First append: which profile and file.
    profile: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    /// Next appends: the upload and where this chunk starts.
    upload_id: Option<String>,
    position: Option<u64>,
    /// Bytes in this chunk.
    size: u64,
}

pub async fn append(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<AppendBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (record, profile, position, content_type) = match (&body.upload_id, &body.profile) {
        (Some(id), None) => {
            let rec = load_own(&state, &who, id).await?;
            if rec.kind != UploadKind::Append {
                return Err(ApiError::Conflict(
                    "upload_id does not name an append upload".into(),
                ));
            }
            if rec.status.is_final() {
                return Err(ApiError::Conflict(format!("the upload is {}", rec.status)));
            }
            let position = body.position.ok_or_else(|| {
                ApiError::InvalidArgument("position: required with upload_id".into())
            })?;
            let profile = state.profile(&rec.profile)?.clone();
            (Some(rec), profile, position, None)
        }
        (None, Some(name)) => {
            if body.position.unwrap_or(0) != 0 {
                return Err(ApiError::InvalidArgument(
                    "position: a new append upload starts at 0".into(),
                ));
            }
            let profile = state.profile(name)?.clone();
            let ct = body.content_type.as_deref().ok_or_else(|| {
                ApiError::InvalidArgument("content_type: required for the first append".into())
            })?;
            let ct = rights::check_content_type(&profile, ct)?;
            (None, profile, 0, Some(ct))
        }
        _ => {
            return Err(ApiError::InvalidArgument(
                "send either {profile, filename, content_type, size} for the first append or {upload_id, position, size} for the next".into(),
            ));
        }
    };
    rights::require_kind(&profile, UploadKind::Append)?;
    let end = position
        .checked_add(body.size)
        .ok_or_else(|| ApiError::InvalidArgument("position + size overflows".into()))?;
    if end > profile.max_size {
        return Err(ApiError::SizeTooLarge {
            size: end,
            max: profile.max_size,
            profile: profile.name.clone(),
        });
    }
    state.check_rate_limit(&who, "append").await?;

    let provider = rights::provider_for(&state, &profile)?;
    if !provider.supports_append() {
        return Err(ApiError::KindNotAllowed {
            profile: profile.name.clone(),
            kind: "append",
        });
    }
    let (record, now) = match record {
        Some(r) => (r, OffsetDateTime::now_utc()),
        None => {
            let filename = body.filename.as_deref().ok_or_else(|| {
                ApiError::InvalidArgument("filename: required for the first append".into())
            })?;
            let mut plan = rights::plan_object(
                &state,
                &who,
                &profile,
                ObjectAsk {
                    kind: UploadKind::Append,
                    filename,
                    content_type: content_type.as_ref(),
                    size: None,
                    vars: BTreeMap::new(),
                    with_callback: false,
                },
            )?;
            plan.record.status = UploadStatus::Uploading;
            state.store.create_record(&plan.record).await?;
            (plan.record, plan.now)
        }
    };
    let signed = provider.presign(
        &UrlRequest {
            op: ObjectOp::Append { position },
            key: &record.key,
            content_type: record.content_type.as_deref(),
            content_md5: None,
            content_length: Some(body.size),
            callback: None,
            now,
            expires_in: rights::expires_in(&profile),
        },
        None,
    );
    rights::record_issue(&state, provider.as_ref(), UploadKind::Append, &profile);
    Ok(url_answer(&record, signed, Some(position)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormBody {
    profile: String,
    filename: String,
    content_type: String,
    size: Option<u64>,
    vars: Option<BTreeMap<String, String>>,
}

#[derive(Serialize)]
struct FormAnswer {
    upload_id: String,
    /// The exact key, or the prefix the client's chosen name must start with.
    key: String,
    key_is_prefix: bool,
    bucket: String,
    method: &'static str,
    url: String,
    /// Send these as form fields, in this order, with the file as the last field.
    fields: Vec<FormField>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
}

#[derive(Serialize)]
struct FormField {
    name: String,
    value: String,
}

pub async fn form(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<FormBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let issued = issue_form(
        &state,
        &who,
        FormAsk {
            profile: &body.profile,
            filename: &body.filename,
            content_type: &body.content_type,
            size: body.size,
            vars: body.vars,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(FormAnswer {
        upload_id: issued.record.id.as_str().to_string(),
        key: issued.key,
        key_is_prefix: issued.key_is_prefix,
        bucket: issued.record.bucket.clone(),
        method: "POST",
        url: issued.form.url,
        fields: issued
            .form
            .fields
            .into_iter()
            .map(|(name, value)| FormField { name, value })
            .collect(),
        expires_at: issued.form.expires_at,
        server_time: OffsetDateTime::now_utc(),
    }))
}

pub(crate) struct FormAsk<'a> {
    pub profile: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: Option<u64>,
    pub vars: Option<BTreeMap<String, String>>,
}

pub(crate) struct IssuedForm {
    pub record: crate::domain::UploadRecord,
    /// The exact key, or the prefix the client's chosen name must start with.
    pub key: String,
    pub key_is_prefix: bool,
    pub form: crate::providers::SignedForm,
}

/// Checks, signs and records one PostObject form (the native route and Uppy's `/s3/params`).
pub(crate) async fn issue_form(
    state: &AppState,
    who: &AuthUser,
    ask: FormAsk<'_>,
) -> Result<IssuedForm, ApiError> {
    let (mut plan, ct) = rights::checked_plan(
        state,
        who,
        ObjectRequest {
            profile: ask.profile,
            kind: UploadKind::Form,
            filename: ask.filename,
            content_type: ask.content_type,
            size: ask.size,
            vars: ask.vars,
        },
    )
    .await?;
    let profile = plan.profile.clone();
    let forms = plan
        .provider
        .forms()
        .ok_or_else(|| ApiError::KindNotAllowed {
            profile: profile.name.clone(),
            kind: "form",
        })?;
    let prefix = profile.template.prefix_for(&who.user);
    let key = if profile.client_chosen_name {
        // The callback must then accept any object under the prefix.
        let t = crate::callbacks::ticket::issue(
            state.settings.ticket_secret.expose_secret().as_bytes(),
            who.user.as_str(),
            &crate::callbacks::ticket::TicketScope::Prefix {
                grant_id: plan.record.id.as_str(),
                prefix: prefix.as_str(),
            },
        );
        if let Some(cb) = plan.callback.as_mut() {
            for (k, v) in cb.vars.iter_mut() {
                if k == "ticket" {
                    *v = t.clone();
                }
            }
        }
        plan.record.key = prefix.as_str().to_string();
        prefix.as_str().to_string()
    } else {
        plan.key.as_str().to_string()
    };
    let (min, max) = match ask.size {
        // A declared size pins the form to it.
        Some(s) => (s, s),
        None => (profile.min_size, profile.max_size),
    };
    let signed = forms.sign_form(&FormRequest {
        key: &key,
        key_is_prefix: profile.client_chosen_name,
        content_type: FormContentType::Exact(ct.as_str()),
        min_size: min,
        max_size: max,
        callback: plan.callback.as_ref(),
        credentials: None,
        now: plan.now,
        expires_in: rights::expires_in(&profile),
    });
    state.store.create_record(&plan.record).await?;
    rights::record_issue(state, plan.provider.as_ref(), UploadKind::Form, &profile);
    Ok(IssuedForm {
        record: plan.record,
        key,
        key_is_prefix: profile.client_chosen_name,
        form: signed,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsBody {
    profile: String,
}

#[derive(Serialize)]
struct CredentialsAnswer {
    grant_id: String,
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    #[serde(with = "time::serde::rfc3339")]
    expiration: OffsetDateTime,
    provider: &'static str,
    bucket: String,
    region: String,
    endpoint: String,
    /// Every object key must start with this.
    prefix: String,
    /// Attach to each PutObject / CompleteMultipartUpload (`callback`, `callback-var`).
    callback: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    server_time: OffsetDateTime,
}

async fn grant_for(
    state: &AppState,
    who: &AuthUser,
    profile_name: &str,
) -> Result<
    (
        std::sync::Arc<grants::Grant>,
        std::sync::Arc<crate::config::Profile>,
    ),
    ApiError,
> {
    let profile = state.profile(profile_name)?.clone();
    rights::require_kind(&profile, UploadKind::Sts)?;
    state.check_rate_limit(who, "credentials").await?;
    let grant = grants::get(state, who, &profile).await?;
    let provider = rights::provider_for(state, &profile)?;
    rights::record_issue(state, provider.as_ref(), UploadKind::Sts, &profile);
    Ok((grant, profile))
}

pub async fn credentials(
    state: web::Data<AppState>,
    who: AuthUser,
    body: web::Json<CredentialsBody>,
) -> Result<HttpResponse, ApiError> {
    let (grant, profile) = grant_for(&state, &who, &body.profile).await?;
    let provider = rights::provider_for(&state, &profile)?;
    let c = &grant.credentials;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(CredentialsAnswer {
            grant_id: grant.id.as_str().to_string(),
            access_key_id: c.access_key_id.clone(),
            access_key_secret: c.access_key_secret.expose_secret().to_string(),
            security_token: c.security_token.expose_secret().to_string(),
            expiration: c.expiration,
            provider: provider.kind(),
            bucket: profile.bucket.bucket.clone(),
            region: profile.bucket.region.clone(),
            endpoint: provider.endpoint(),
            prefix: grant.prefix.clone(),
            callback: grant.callback_params.iter().cloned().collect(),
            server_time: OffsetDateTime::now_utc(),
        }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OssSdkQuery {
    profile: String,
}

/// The JSON the OSS Android/iOS SDKs' auth-server credential provider parses: `StatusCode`
/// is a body field (a number), errors carry `ErrorCode` / `ErrorMessage`.
pub async fn oss_sdk(
    state: web::Data<AppState>,
    who: Result<AuthUser, ApiError>,
    query: Result<web::Query<OssSdkQuery>, actix_web::Error>,
) -> HttpResponse {
    let result = async {
        let who = who?;
        let query =
            query.map_err(|e| ApiError::InvalidQuery(format!("invalid query string: {e}")))?;
        grant_for(&state, &who, &query.profile).await
    }
    .await;
    match result {
        Ok((grant, _)) => {
            let c = &grant.credentials;
            let expiration = c
                .expiration
                .to_offset(time::UtcOffset::UTC)
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({
                    "StatusCode": 200,
                    "AccessKeyId": c.access_key_id,
                    "AccessKeySecret": c.access_key_secret.expose_secret(),
                    "SecurityToken": c.security_token.expose_secret(),
                    "Expiration": expiration,
                }))
        }
        Err(e) => {
            use actix_web::ResponseError;
            // Log and count as every other error does, then answer in the SDK's shape.
            let standard = e.error_response();
            let status = standard.status();
            let mut resp = HttpResponse::build(status);
            for (name, value) in standard.headers() {
                if name != actix_web::http::header::CONTENT_TYPE
                    && name != actix_web::http::header::CONTENT_LENGTH
                {
                    resp.insert_header((name.clone(), value.clone()));
                }
            }
            resp.json(serde_json::json!({
                "StatusCode": status.as_u16(),
                "ErrorCode": e.code(),
                "ErrorMessage": e.public_message(),
            }))
        }
    }
}
