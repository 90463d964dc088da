//! `POST /rooms/{room_id}/upload` (`multipart/form-data`, `files`: up to
//! 10): the document's limits (images 10 MB, other files 50 MB; jpg, jpeg,
//! png, gif, webp, pdf, doc, docx, xls, xlsx), then the native media path:
//! `uploads::send_with_files` (the media rules, the bytes into the store,
//! one message in the room carrying them all: `image` when every file is
//! an image, else `file`). Members download them through the native
//! members-only route each `url` names.

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use parley_shared::domain::chats;
use parley_shared::domain::kinds::MessageType;
use parley_shared::domain::messages::MessageCreateRequest;
use parley_shared::domain::uploads::{self, IncomingFile};
use parley_shared::{AppError, AppResult};
use serde_json::json;

use super::error::{FocusResult, FocusUser};
use super::ids;
use super::routes::room_id;
use crate::dialects::form::{self, Part};
use crate::state::ApiState;

/// The most files of one upload.
pub const MAX_FILES: usize = 10;
/// An image's largest size (10 MiB).
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// Any other file's largest size (50 MiB).
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

/// The document's allowed extensions, with the type each is stored as.
const TYPES: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
];

/// A file of the form, checked against the document's limits.
struct File {
    name: String,
    file_type: &'static str,
    bytes: Bytes,
}

impl File {
    /// Errors: 400 `file_type_not_allowed`, `file_too_large`.
    fn check(part: Part) -> AppResult<File> {
        let name = part.file_name.unwrap_or_default().trim().to_owned();
        let extension = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let Some(&(_, file_type)) = TYPES.iter().find(|(e, _)| *e == extension) else {
            return Err(AppError::bad_request(
                "file_type_not_allowed",
                format!(
                    "{name:?}: only jpg, jpeg, png, gif, webp, pdf, doc, docx, xls and xlsx files are allowed."
                ),
            ));
        };
        let image = file_type.starts_with("image/");
        let max = if image {
            MAX_IMAGE_BYTES
        } else {
            MAX_FILE_BYTES
        };
        if part.data.len() > max {
            return Err(AppError::bad_request(
                "file_too_large",
                format!(
                    "{name:?} is too large: {} are at most {} MB.",
                    if image { "images" } else { "files" },
                    max / (1024 * 1024)
                ),
            ));
        }
        Ok(File {
            name,
            file_type,
            bytes: part.data,
        })
    }
}

/// The form's files (fields `files`, `files[]` or `file`), checked.
///
/// Errors: 400 `no_files`, `too_many_files`, and those of [`File::check`].
fn form_files(parts: Vec<Part>) -> AppResult<Vec<File>> {
    let parts: Vec<Part> = parts
        .into_iter()
        .filter(|p| matches!(p.name.as_str(), "files" | "files[]" | "file"))
        .collect();
    if parts.is_empty() {
        return Err(AppError::bad_request(
            "no_files",
            "Send at least one file as `files`.",
        ));
    }
    if parts.len() > MAX_FILES {
        return Err(AppError::bad_request(
            "too_many_files",
            format!("At most {MAX_FILES} files per upload."),
        ));
    }
    parts.into_iter().map(File::check).collect()
}

/// `POST /rooms/{room_id}/upload`: answers `{"uploaded", "files": [{"path",
/// "url"}], "message_id"}`.
pub async fn upload(
    req: HttpRequest,
    state: web::Data<ApiState>,
    caller: FocusUser,
    path: web::Path<String>,
    payload: web::Payload,
) -> FocusResult<HttpResponse> {
    let ctx = &state.ctx;
    // The room first: an outsider's files are not read.
    let room = chats::get_chat(ctx, &caller, room_id(&path)?)
        .await?
        .chat
        .row
        .id;
    // A few text fields may come with the files.
    let parts = form::read(req.headers(), payload, MAX_FILES + 4, MAX_FILE_BYTES).await?;
    let files = form_files(parts)?;
    let message_type = if files.iter().all(|f| f.file_type.starts_with("image/")) {
        MessageType::Image
    } else {
        MessageType::File
    };
    let request = MessageCreateRequest {
        chat_id: room,
        message_type: Some(message_type),
        text: String::new(),
        client_message_id: None,
        reply_to_message_id: None,
    };
    let incoming: Vec<IncomingFile> = files
        .into_iter()
        .map(|f| IncomingFile {
            file_name: f.name,
            file_type: f.file_type.to_owned(),
            bytes: f.bytes,
        })
        .collect();
    let view = uploads::send_with_files(ctx, &caller, &request, &incoming).await?;
    let stored: Vec<_> = view
        .message
        .attachments
        .iter()
        .map(|a| json!({"path": format!("attachments/{}", a.id), "url": a.file_url}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "uploaded": stored.len(),
        "files": stored,
        "message_id": ids::message(view.message.id),
    })))
}
