//! `/api/v1/media` (seed 004 §9): upload URLs, attachments, a chat's files,
//! downloads; and the local store's signed `PUT` / `GET` of files when no
//! S3 is configured.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use parley_shared::AppError;
use parley_shared::domain::media::{
    self, AttachmentCreateRequest, ChatAttachmentsQuery, UploadUrlRequest,
};
use parley_shared::infra::storage::{LocalRequest, ObjectStore, UrlRefusal, valid_key};
use parley_shared::wire::native::dto::{AttachmentRead, ChatAttachmentRead, UploadUrlRead};
use parley_shared::wire::native::render;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AuthUser, JsonBody};
use crate::openapi::{ErrorBody, JsonBodyErrors, OutsiderErrors, Unauthenticated};
use crate::state::ApiState;

/// Get a URL to upload one file to.
///
/// `PUT` the file's bytes to `upload_url` with `required_headers` before
/// `expires_in` seconds pass, then send the message and attach the file
/// (`POST /api/v1/media/attachments`). Allowed types: `image/jpeg`,
/// `image/png`, `image/webp`, `video/mp4`, `video/webm`, `audio/mpeg`,
/// `audio/ogg`, `audio/webm`, `audio/wav`, `application/pdf`,
/// `application/zip`, `text/plain`; up to `MAX_UPLOAD_SIZE_BYTES` (25 MiB
/// by default). The URL takes exactly the declared type and size.
#[utoipa::path(
    post,
    path = "/api/v1/media/upload-url",
    tag = "media",
    request_body = UploadUrlRequest,
    responses(
        (status = 200, description = "Where to upload the file.", body = UploadUrlRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 422, description = "`validation_error`, with `field`: `file_type` not allowed; `file_size` under 1 byte or over the limit; `file_name` empty or over 255 characters.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload_url(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<UploadUrlRequest>,
) -> ApiResult<HttpResponse> {
    let url = media::upload_url(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(render::upload_url(&url)))
}

/// Attach an uploaded file to your message.
///
/// The file must be in the store, whole, of the declared type and size,
/// uploaded by you with a URL from `upload-url`, not attached yet; the
/// message must be yours and its type fit the file (`image`: image/*,
/// `video` and `circle_video`: video/*, `audio` and `voice`: audio/*,
/// `file`: any; a `text` message takes none). `waveform_points` (voice and
/// audio only, up to 256 points of 0–255) show as the message's
/// `attachment_waveform`. The members hear `message_updated`.
#[utoipa::path(
    post,
    path = "/api/v1/media/attachments",
    tag = "media",
    request_body = AttachmentCreateRequest,
    responses(
        (status = 200, description = "The attachment.", body = AttachmentRead),
        JsonBodyErrors,
        Unauthenticated,
        (status = 403, description = "`not_a_member`; `not_message_sender`: only the sender attaches.", body = ErrorBody),
        (status = 404, description = "`message_not_found`; `upload_not_found`: no such upload of yours.", body = ErrorBody),
        (status = 409, description = "`upload_missing`: the file is not in the store (or not whole); `already_attached`.", body = ErrorBody),
        (status = 422, description = "`validation_error`, with `field`: `file_url` not from this server's storage; `file_type` / `file_size` not those of the upload, or a file the message's type cannot carry; `waveform_points`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn attach(
    state: web::Data<ApiState>,
    caller: AuthUser,
    body: JsonBody<AttachmentCreateRequest>,
) -> ApiResult<HttpResponse> {
    let attachment = media::attach(&state.ctx, &caller, &body.0).await?;
    Ok(HttpResponse::Ok().json(render::attachment(
        attachment.message_id,
        &attachment.snapshot(),
    )))
}

/// A chat's files, newest first.
///
/// Files of messages deleted, hidden or cleared for you are left out.
#[utoipa::path(
    get,
    path = "/api/v1/media/chats/{chat_id}/attachments",
    tag = "media",
    params(("chat_id" = i64, Path, description = "The chat's id."), ChatAttachmentsQuery),
    responses(
        (status = 200, description = "The files, newest first.", body = [ChatAttachmentRead]),
        Unauthenticated,
        OutsiderErrors,
        (status = 422, description = "`validation_error`, with `field: \"limit\"`: outside 1..=100.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn chat_attachments(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
    query: web::Query<ChatAttachmentsQuery>,
) -> ApiResult<HttpResponse> {
    let files = media::chat_attachments(&state.ctx, &caller, path.into_inner(), &query).await?;
    Ok(HttpResponse::Ok().json(render::chat_attachments(&files)))
}

/// Download a file (members only).
///
/// Redirects (302) to a storage URL that works for `MEDIA_URL_TTL_SECS`.
/// The access token may come as the `access_token` cookie, so that a
/// browser's `<img src>` works.
#[utoipa::path(
    get,
    path = "/api/v1/media/attachments/{id}/content",
    tag = "media",
    params(("id" = i64, Path, description = "The attachment's id.")),
    responses(
        (status = 302, description = "`Location`: a short-lived URL of the file."),
        Unauthenticated,
        (status = 403, description = "`not_a_member`: the caller is not in the message's chat.", body = ErrorBody),
        (status = 404, description = "`attachment_not_found`: no such attachment, or its message is deleted or hidden from the caller.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn content(
    state: web::Data<ApiState>,
    caller: AuthUser,
    path: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let url = media::download_url(&state.ctx, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .finish())
}

/// The query of a signed local URL.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    /// Unix seconds after which the URL no longer works.
    pub expires: i64,
    /// HMAC-SHA256 of the request, hex.
    pub sig: String,
    /// Uploads: the content type the URL was made for.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub content_type: Option<String>,
    /// Uploads: the size the URL was made for.
    pub size: Option<i64>,
}

fn local_store(state: &ApiState) -> ApiResult<&parley_shared::infra::storage::LocalStore> {
    match &state.ctx.storage {
        ObjectStore::Local(local) => Ok(local),
        ObjectStore::S3(_) => Err(AppError::not_found(
            "route_not_found",
            "Files are stored in S3 here: use the URLs Parley gives.",
        )
        .into()),
    }
}

fn refused(refusal: UrlRefusal) -> AppError {
    match refusal {
        UrlRefusal::Expired => AppError::forbidden("url_expired", "This URL has expired."),
        UrlRefusal::BadSignature => {
            AppError::forbidden("invalid_signature", "This URL is not one Parley signed.")
        }
    }
}

/// Upload a file to the local store (a signed URL from `upload-url`).
///
/// Only when no S3 is configured. The body is the file: exactly the size,
/// with the `Content-Type`, the URL was signed for.
#[utoipa::path(
    put,
    path = "/api/v1/media/files/{key}",
    tag = "media",
    params(("key" = String, Path, description = "The object key."), SignedQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes."),
    responses(
        (status = 200, description = "Stored."),
        (status = 403, description = "`invalid_signature`; `url_expired`.", body = ErrorBody),
        (status = 404, description = "`route_not_found`: files are in S3 here.", body = ErrorBody),
        (status = 422, description = "`validation_error`: the `Content-Type` or the body's size is not what the URL was signed for.", body = ErrorBody),
    )
)]
pub async fn put_file(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<SignedQuery>,
    mut body: web::Payload,
) -> ApiResult<HttpResponse> {
    let local = local_store(&state)?;
    let key = path.into_inner();
    let (Some(content_type), Some(size)) = (query.content_type.as_deref(), query.size) else {
        return Err(refused(UrlRefusal::BadSignature).into());
    };
    if !valid_key(&key) {
        return Err(refused(UrlRefusal::BadSignature).into());
    }
    local
        .verify(&LocalRequest {
            method: "PUT",
            key: &key,
            expires: query.expires,
            signature: &query.sig,
            upload: Some((content_type, size)),
        })
        .map_err(refused)?;
    let sent_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if sent_type != content_type {
        return Err(AppError::validation(
            "Content-Type",
            format!("Content-Type must be {content_type}."),
        )
        .into());
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("body_unreadable", e.to_string()))?;
        if (bytes.len() + chunk.len()) as i64 > size {
            return Err(
                AppError::validation("body", format!("The file must be {size} bytes.")).into(),
            );
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() as i64 != size {
        return Err(AppError::validation("body", format!("The file must be {size} bytes.")).into());
    }
    local
        .put(&key, content_type, &bytes)
        .await
        .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok().finish())
}

/// Download a file from the local store (a signed URL from a download
/// redirect).
///
/// Only when no S3 is configured.
#[utoipa::path(
    get,
    path = "/api/v1/media/files/{key}",
    tag = "media",
    params(("key" = String, Path, description = "The object key."), SignedQuery),
    responses(
        (status = 200, description = "The file, with its content type.", content_type = "application/octet-stream"),
        (status = 403, description = "`invalid_signature`; `url_expired`.", body = ErrorBody),
        (status = 404, description = "`file_not_found`; `route_not_found`: files are in S3 here.", body = ErrorBody),
    )
)]
pub async fn get_file(
    state: web::Data<ApiState>,
    path: web::Path<String>,
    query: web::Query<SignedQuery>,
) -> ApiResult<HttpResponse> {
    let local = local_store(&state)?;
    let key = path.into_inner();
    if !valid_key(&key) {
        return Err(refused(UrlRefusal::BadSignature).into());
    }
    local
        .verify(&LocalRequest {
            method: "GET",
            key: &key,
            expires: query.expires,
            signature: &query.sig,
            upload: None,
        })
        .map_err(refused)?;
    let bytes = match tokio::fs::read(local.path(&key)).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::not_found("file_not_found", "There is no such file.").into());
        }
        Err(err) => return Err(AppError::internal(err).into()),
    };
    let content_type = local
        .content_type(&key)
        .await
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(bytes))
}
