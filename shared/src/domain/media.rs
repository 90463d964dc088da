//! Media (seed 004 §9): upload URLs, attachments, a chat's media list and
//! downloads. A client asks for an upload URL (the MIME allow-list and
//! `MAX_UPLOAD_SIZE_BYTES` apply), `PUT`s the file to the store itself
//! (S3, or the API's local store), sends its message (`type` image, video,
//! voice, ...) and attaches the file to it. Attaching checks that the
//! object is there with the declared size and type, that it is the
//! caller's upload and the caller's message, and that the file fits the
//! message's type; the members hear `message_updated`. Members download
//! through `GET /media/attachments/{id}/content`, which redirects to a
//! short-lived storage URL: nobody else ever gets one.

use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::DomainEvent;
use crate::domain::history::{message_not_found, visible_message};
use crate::domain::live;
use crate::domain::models::attachment::{Attachment, NewAttachment, Upload};
use crate::domain::models::reaction::Reaction;
use crate::domain::models::{Message, MessageType, event};
use crate::domain::validate;
use crate::domain::views::{ChatAttachment, UploadUrl};

/// The MIME types a file may have (seed 004 §9, and seed 000's documents),
/// with the file extension its object key gets.
pub const ALLOWED_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/gif", "gif"),
    ("video/mp4", "mp4"),
    ("video/webm", "webm"),
    ("audio/mpeg", "mp3"),
    ("audio/ogg", "ogg"),
    ("audio/webm", "weba"),
    ("audio/wav", "wav"),
    ("application/pdf", "pdf"),
    ("application/zip", "zip"),
    ("text/plain", "txt"),
    // Beyond seed 004's list: seed 000's documents (one list for every
    // API over the same chats; docs/dialects.md).
    ("application/msword", "doc"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    ("application/vnd.ms-excel", "xls"),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
];

/// The most points of a waveform.
pub const MAX_WAVEFORM_POINTS: usize = 256;

/// `UploadUrlRequest` (seed 004 §3.5).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct UploadUrlRequest {
    pub file_name: String,
    /// One of the allowed MIME types.
    pub file_type: String,
    /// Bytes, 1 to `MAX_UPLOAD_SIZE_BYTES`.
    pub file_size: i64,
}

/// `AttachmentCreateRequest` (seed 004 §3.5).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AttachmentCreateRequest {
    pub message_id: i64,
    /// The `file_url` of the upload.
    pub file_url: String,
    pub file_type: String,
    pub file_size: i64,
    /// Voice and audio only: up to 256 points, each 0 to 255.
    #[serde(default)]
    pub waveform_points: Option<Vec<i32>>,
}

/// Query of `GET /media/chats/{id}/attachments`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatAttachmentsQuery {
    /// 1–100, default 100.
    pub limit: Option<i64>,
    /// Attachments older than this one.
    pub before_id: Option<i64>,
}

fn extension_of(file_type: &str) -> Option<&'static str> {
    ALLOWED_TYPES
        .iter()
        .find(|(mime, _)| *mime == file_type)
        .map(|(_, ext)| *ext)
}

/// Whether a file of `file_type` fits a message of `message_type`.
fn fits(message_type: MessageType, file_type: &str) -> bool {
    match message_type {
        MessageType::Text => false,
        MessageType::Image => file_type.starts_with("image/"),
        MessageType::Video | MessageType::CircleVideo => file_type.starts_with("video/"),
        MessageType::Audio | MessageType::Voice => file_type.starts_with("audio/"),
        MessageType::File => true,
    }
}

/// `POST /media/upload-url`: a URL to `PUT` one file of the declared type
/// and size to, for `MEDIA_URL_TTL_SECS`.
///
/// Errors: 422 `file_type` (not allowed), `file_size` (under 1 byte or
/// over `MAX_UPLOAD_SIZE_BYTES`), `file_name` (empty or over 255
/// characters).
pub async fn upload_url(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &UploadUrlRequest,
) -> AppResult<UploadUrl> {
    let (file_name, extension) = check_upload(ctx, &req.file_name, &req.file_type, req.file_size)?;
    let key = upload_key(auth.user_id, extension);
    let ttl = ctx.settings.media.url_ttl_secs;
    let presigned = ctx
        .storage
        .presign_put(
            &key,
            &req.file_type,
            req.file_size,
            Duration::from_secs(ttl),
        )
        .await
        .map_err(AppError::internal)?;
    record_upload(ctx, auth, &key, file_name, &req.file_type, req.file_size).await?;
    Ok(UploadUrl {
        upload_url: presigned.url,
        file_url: ctx.storage.file_url(&key),
        object_key: key,
        expires_in: ttl,
        required_headers: presigned.headers.into_iter().collect(),
    })
}

/// Checks a file the server receives itself against the rules of
/// [`upload_url`] and [`attach`], before anything is stored: its name, an
/// allowed type that fits a `message_type` message, a size within
/// `MAX_UPLOAD_SIZE_BYTES`.
///
/// Errors: 422 `file_name`, `file_type`, `file_size`.
pub fn check_file(
    ctx: &AppContext,
    message_type: MessageType,
    file_name: &str,
    file_type: &str,
    file_size: i64,
) -> AppResult<()> {
    check_upload(ctx, file_name, file_type, file_size)?;
    if !fits(message_type, file_type) {
        return Err(AppError::validation(
            "file_type",
            format!("A {message_type} message cannot carry a {file_type} file."),
        ));
    }
    Ok(())
}

/// A file's name, type and size against the media rules; the name (trimmed)
/// and the extension its object key gets.
///
/// Errors: 422 `file_name` (empty or over 255 characters), `file_type`
/// (not allowed), `file_size` (under 1 byte or over
/// `MAX_UPLOAD_SIZE_BYTES`).
fn check_upload(
    ctx: &AppContext,
    file_name: &str,
    file_type: &str,
    file_size: i64,
) -> AppResult<(String, &'static str)> {
    let file_name = validate::text_field("file_name", file_name, 1, 255)?;
    let Some(extension) = extension_of(file_type) else {
        return Err(AppError::validation(
            "file_type",
            "This file type is not allowed.",
        ));
    };
    let max = ctx.settings.media.max_upload_size_bytes;
    if file_size < 1 || file_size > max {
        return Err(AppError::validation(
            "file_size",
            format!("file_size must be 1 to {max} bytes."),
        ));
    }
    Ok((file_name, extension))
}

/// Records an upload of the caller's at `key` (what [`attach`] checks).
async fn record_upload(
    ctx: &AppContext,
    auth: &AuthContext,
    key: &str,
    file_name: String,
    file_type: &str,
    file_size: i64,
) -> AppResult<()> {
    let mut conn = ctx.db.get().await?;
    Upload::insert(
        &mut conn,
        &Upload {
            object_key: key.to_owned(),
            user_id: auth.user_id,
            file_name,
            file_type: file_type.to_owned(),
            file_size,
            created_at: Utc::now(),
            attached_at: None,
        },
    )
    .await?;
    Ok(())
}

/// Puts a file the server received (checked with [`check_file`]) in the
/// store as an upload of the caller's; its `file_url`, for [`attach`].
///
/// Errors: 422 as [`check_file`]; the store or the database failed.
pub(crate) async fn store_upload(
    ctx: &AppContext,
    auth: &AuthContext,
    file_name: &str,
    file_type: &str,
    bytes: bytes::Bytes,
) -> AppResult<String> {
    let file_size = bytes.len() as i64;
    let (file_name, extension) = check_upload(ctx, file_name, file_type, file_size)?;
    let key = upload_key(auth.user_id, extension);
    ctx.storage
        .put(&key, file_type, bytes)
        .await
        .map_err(AppError::internal)?;
    record_upload(ctx, auth, &key, file_name, file_type, file_size).await?;
    Ok(ctx.storage.file_url(&key))
}

/// A new upload's object key: the uploader's folder, a random name.
fn upload_key(user_id: i64, extension: &str) -> String {
    format!("uploads/{user_id}/{}.{extension}", Uuid::new_v4().simple())
}

fn check_waveform(message_type: MessageType, points: &Option<Vec<i32>>) -> AppResult<()> {
    let Some(points) = points else {
        return Ok(());
    };
    let bad = |detail: &str| Err(AppError::validation("waveform_points", detail.to_owned()));
    if !matches!(message_type, MessageType::Voice | MessageType::Audio) {
        return bad("Only voice and audio messages have a waveform.");
    }
    if points.is_empty()
        || points.len() > MAX_WAVEFORM_POINTS
        || points.iter().any(|p| !(0..=255).contains(p))
    {
        return bad("waveform_points must be 1 to 256 points, each 0 to 255.");
    }
    Ok(())
}

/// `POST /media/attachments`: attaches an uploaded file to the caller's
/// message; the members hear `message_updated` with the message's files.
///
/// Errors: 422 `file_url` (not this server's storage), `file_type` /
/// `file_size` (not what was uploaded, or not a file for this type of
/// message), `waveform_points`; 404 `message_not_found`,
/// `upload_not_found` (no such upload of the caller's); 403
/// `not_a_member`, `not_message_sender`; 409 `upload_missing` (the file
/// is not in the store, or not whole), `already_attached`.
pub async fn attach(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &AttachmentCreateRequest,
) -> AppResult<Attachment> {
    let me = auth.user_id;
    let Some(key) = ctx.storage.key_of(req.file_url.trim()) else {
        return Err(AppError::validation(
            "file_url",
            "file_url must be a file_url from POST /media/upload-url.",
        ));
    };
    let stored = ctx.storage.head(&key).await.map_err(AppError::internal)?;
    let mut conn = ctx.db.get().await?;
    let (attachment, event) = crate::transaction!(conn, async |conn| {
        let (message, chat, _) = visible_message(conn, req.message_id, me, true).await?;
        if message.deleted_at.is_some() {
            return Err(message_not_found());
        }
        if message.sender_id != Some(me) {
            return Err(AppError::forbidden(
                "not_message_sender",
                "Only the sender can attach files to a message.",
            ));
        }
        let upload = Upload::find_for_update(conn, &key)
            .await?
            .filter(|u| u.user_id == me)
            .ok_or_else(|| {
                AppError::not_found("upload_not_found", "There is no such upload of yours.")
            })?;
        if upload.attached_at.is_some() {
            return Err(AppError::conflict(
                "already_attached",
                "This upload is attached already.",
            ));
        }
        if req.file_type != upload.file_type {
            return Err(AppError::validation(
                "file_type",
                "file_type is not the type the upload was made for.",
            ));
        }
        if req.file_size != upload.file_size {
            return Err(AppError::validation(
                "file_size",
                "file_size is not the size the upload was made for.",
            ));
        }
        if !fits(message.message_type, &upload.file_type) {
            return Err(AppError::validation(
                "file_type",
                format!(
                    "A {} message cannot carry a {} file.",
                    message.message_type, upload.file_type
                ),
            ));
        }
        check_waveform(message.message_type, &req.waveform_points)?;
        let whole = stored.as_ref().is_some_and(|object| {
            object.size == upload.file_size
                && object
                    .content_type
                    .as_deref()
                    .is_none_or(|t| t == upload.file_type)
        });
        if !whole {
            return Err(AppError::conflict(
                "upload_missing",
                "The file is not in the store yet, or not as declared: upload it first.",
            ));
        }
        let attachment = Attachment::insert(
            conn,
            &NewAttachment {
                message_id: message.id,
                object_key: key.clone(),
                file_type: upload.file_type.clone(),
                file_size: upload.file_size,
                file_name: upload.file_name.clone(),
                waveform: req
                    .waveform_points
                    .as_ref()
                    .map(|points| serde_json::json!(points)),
            },
        )
        .await?;
        Upload::mark_attached(conn, &key).await?;
        let event = record_files_changed(conn, &message, chat.id).await?;
        Ok((attachment, event))
    })?;
    live::publish_logged(&ctx.bus, vec![event]).await;
    Ok(attachment)
}

/// Logs `message_updated` for a message whose files changed.
async fn record_files_changed(
    conn: &mut diesel_async::AsyncPgConnection,
    message: &Message,
    chat_id: i64,
) -> AppResult<crate::domain::events::LoggedEvent> {
    let mentions = Message::mentions_of(conn, &[message.id])
        .await?
        .into_iter()
        .map(|(_, user_id)| user_id)
        .collect();
    let mut snapshot = message.snapshot(mentions);
    snapshot.reactions = Reaction::counts(conn, &[message.id])
        .await?
        .remove(&message.id)
        .unwrap_or_default();
    snapshot.attachments = Attachment::snapshots_of(conn, &[message.id])
        .await?
        .remove(&message.id)
        .unwrap_or_default();
    Ok(
        event::record(conn, chat_id, |_| DomainEvent::MessageUpdated {
            message: Box::new(snapshot),
        })
        .await?,
    )
}

/// `GET /media/chats/{id}/attachments?limit&before_id`: the chat's files,
/// newest first, as the caller sees the chat.
///
/// Errors: 422 `limit`; 404 `chat_not_found`; 403 `not_a_member`.
pub async fn chat_attachments(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    query: &ChatAttachmentsQuery,
) -> AppResult<Vec<ChatAttachment>> {
    let limit = validate::limit(query.limit, 100, 100)?;
    let mut conn = ctx.db.get().await?;
    let (_, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
    let rows = Attachment::page_of_chat(
        &mut conn,
        chat_id,
        auth.user_id,
        member.cleared_before_message_id,
        query.before_id,
        limit,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(attachment, sender_id, message_type, message_created_at)| ChatAttachment {
                attachment,
                sender_id,
                message_type,
                message_created_at,
            },
        )
        .collect())
}

/// `GET /media/attachments/{id}/content`: a short-lived storage URL of the
/// file, for a member who may see its message.
///
/// Errors: 404 `attachment_not_found` (also for a message hidden from the
/// caller); 403 `not_a_member`.
pub async fn download_url(
    ctx: &AppContext,
    auth: &AuthContext,
    attachment_id: i64,
) -> AppResult<String> {
    let not_found =
        || AppError::not_found("attachment_not_found", "This attachment does not exist.");
    let mut conn = ctx.db.get().await?;
    let attachment = Attachment::find(&mut conn, attachment_id)
        .await?
        .ok_or_else(not_found)?;
    let (message, _, _) = visible_message(&mut conn, attachment.message_id, auth.user_id, false)
        .await
        .map_err(|err| match err {
            AppError::NotFound { .. } => not_found(),
            other => other,
        })?;
    if message.deleted_at.is_some() {
        return Err(not_found());
    }
    let ttl = Duration::from_secs(ctx.settings.media.url_ttl_secs);
    ctx.storage
        .presign_get(&attachment.object_key, ttl)
        .await
        .map_err(AppError::internal)
}

/// Deletes uploads never attached that are older than a day, from the
/// store and the database; returns how many. Run by retention.
///
/// Errors: the database failed (a file the store cannot delete is kept
/// for the next pass).
pub async fn prune_unattached(ctx: &AppContext) -> anyhow::Result<usize> {
    let mut conn = ctx.db.get().await?;
    let before = Utc::now() - chrono::Duration::days(1);
    let keys = Upload::unattached_before(&mut conn, before, 1000).await?;
    let mut pruned = 0;
    for key in keys {
        if let Err(err) = ctx.storage.delete(&key).await {
            tracing::warn!(
                key,
                error = format!("{err:#}"),
                "could not delete an upload"
            );
            continue;
        }
        if Upload::delete_unattached(&mut conn, &key).await? {
            pruned += 1;
        }
    }
    Ok(pruned)
}
