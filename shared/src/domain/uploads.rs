//! Files the server receives itself, in the body of a request (the
//! dialects' multipart uploads: seed 000's `POST /rooms/{id}/upload`, seed
//! 001's file message), as against the native flow where the client `PUT`s
//! each file to the store ([`crate::domain::media`]). The rules are that
//! flow's: the MIME allow-list, `MAX_UPLOAD_SIZE_BYTES`, a file fitting its
//! message's type; all are checked before anything is written.

use bytes::Bytes;

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::kinds::MessageType;
use crate::domain::media::{self, AttachmentCreateRequest};
use crate::domain::messages::{self, MessageCreateRequest};
use crate::domain::views::MessageView;

/// One file of a request body.
#[derive(Debug, Clone)]
pub struct IncomingFile {
    pub file_name: String,
    /// Its MIME type (one of [`media::ALLOWED_TYPES`]).
    pub file_type: String,
    pub bytes: Bytes,
}

/// Sends `req` (a media message: its `type` is not `text`; its text is the
/// caption) carrying `files`: each is checked, put in the store (S3 or
/// local) as an upload of the caller's, then the message is sent and each
/// file attached to it, in order. The members hear `message_created`, then
/// `message_updated` as each file is attached (as with the native flow).
/// Answers the message with its files.
///
/// Errors: 422 `type` (a text message), `files` (none), `file_name`,
/// `file_type` (not allowed, or not a file for this type of message),
/// `file_size` (empty or over `MAX_UPLOAD_SIZE_BYTES`); 404
/// `chat_not_found`; 403 `not_a_member`; and those of
/// [`messages::send_message`]. Nothing is sent when a file is refused.
pub async fn send_with_files(
    ctx: &AppContext,
    auth: &AuthContext,
    req: &MessageCreateRequest,
    files: &[IncomingFile],
) -> AppResult<MessageView> {
    let message_type = req.message_type.unwrap_or(MessageType::Text);
    if message_type == MessageType::Text {
        return Err(AppError::validation(
            "type",
            "A message with files has a media type (image, file, ...).",
        ));
    }
    if files.is_empty() {
        return Err(AppError::validation("files", "Send at least one file."));
    }
    for file in files {
        media::check_file(
            ctx,
            message_type,
            &file.file_name,
            &file.file_type,
            file.bytes.len() as i64,
        )?;
    }
    {
        let mut conn = ctx.db.get().await?;
        require_member(&mut conn, req.chat_id, auth.user_id).await?;
    }
    let mut uploads = Vec::with_capacity(files.len());
    for file in files {
        uploads.push(
            media::store_upload(
                ctx,
                auth,
                &file.file_name,
                &file.file_type,
                file.bytes.clone(),
            )
            .await?,
        );
    }
    let (mut view, _) = messages::send_message(ctx, auth.user_id, req).await?;
    for (file, file_url) in files.iter().zip(uploads) {
        let attachment = media::attach(
            ctx,
            auth,
            &AttachmentCreateRequest {
                message_id: view.message.id,
                file_url,
                file_type: file.file_type.clone(),
                file_size: file.bytes.len() as i64,
                waveform_points: None,
            },
        )
        .await?;
        view.message.attachments.push(attachment.snapshot());
    }
    Ok(view)
}
