//! `multipart/form-data` bodies of the dialects' uploads (seed 000's
//! `files`, seed 001's file message), read with `actix-multipart` into
//! whole parts, within the caller's bounds.

use actix_multipart::Multipart;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use parley_shared::{AppError, AppResult};

/// One part of a form, whole.
#[derive(Debug, Clone)]
pub struct Part {
    /// The field's name.
    pub name: String,
    /// Present on a file.
    pub file_name: Option<String>,
    /// The part's declared type (`None` when it declares none).
    pub content_type: Option<String>,
    pub data: Bytes,
}

impl Part {
    /// A text field's value. Errors: 422 naming the field when it is not
    /// UTF-8.
    pub fn text(&self) -> AppResult<String> {
        String::from_utf8(self.data.to_vec()).map_err(|_| {
            AppError::validation(
                self.name.clone(),
                format!("{} must be UTF-8 text.", self.name),
            )
        })
    }
}

/// Whether a request's `Content-Type` is `multipart/form-data`.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/form-data"))
}

fn malformed(err: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        "malformed_multipart",
        format!("The form cannot be read: {err}."),
    )
}

/// Reads a whole form: at most `max_parts` parts, each at most
/// `max_part_bytes` (a file past it is refused as soon as it passes it,
/// before the rest is read).
///
/// Errors: 400 `unsupported_content_type` (not a form),
/// `malformed_multipart`, `too_many_files` (more than `max_parts` parts);
/// 413 for a part past `max_part_bytes`.
pub async fn read(
    headers: &HeaderMap,
    payload: web::Payload,
    max_parts: usize,
    max_part_bytes: usize,
) -> AppResult<Vec<Part>> {
    if !is_form(headers) {
        return Err(AppError::bad_request(
            "unsupported_content_type",
            "Send the form as multipart/form-data.",
        ));
    }
    let mut form = Multipart::new(headers, payload);
    let mut parts = Vec::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        if parts.len() == max_parts {
            return Err(AppError::bad_request(
                "too_many_files",
                format!("At most {max_parts} parts per form."),
            ));
        }
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_owned);
        let content_type = field.content_type().map(|m| m.essence_str().to_owned());
        let mut data = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if data.len() + chunk.len() > max_part_bytes {
                return Err(AppError::PayloadTooLarge {
                    limit_bytes: max_part_bytes,
                });
            }
            data.extend_from_slice(&chunk);
        }
        parts.push(Part {
            name,
            file_name,
            content_type,
            data: data.freeze(),
        });
    }
    Ok(parts)
}
