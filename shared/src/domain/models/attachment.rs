//! Rows of `uploads` and `attachments` (seed 004 §9).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::events::AttachmentSnapshot;
use crate::infra::schema::{attachments, message_hidden, messages, uploads};

/// A row of `uploads`: an upload URL handed out.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = uploads, check_for_backend(diesel::pg::Pg))]
pub struct Upload {
    pub object_key: String,
    pub user_id: i64,
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub created_at: DateTime<Utc>,
    pub attached_at: Option<DateTime<Utc>>,
}

/// A row of `attachments`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments, check_for_backend(diesel::pg::Pg))]
pub struct Attachment {
    pub id: i64,
    pub message_id: i64,
    pub object_key: String,
    pub file_type: String,
    pub file_size: i64,
    pub waveform: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    /// The name it was uploaded with.
    pub file_name: String,
}

/// An attachment about to be inserted.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment {
    pub message_id: i64,
    pub object_key: String,
    pub file_type: String,
    pub file_size: i64,
    pub waveform: Option<serde_json::Value>,
    pub file_name: String,
}

impl Upload {
    /// Records an upload URL.
    pub async fn insert(conn: &mut AsyncPgConnection, upload: &Upload) -> QueryResult<()> {
        diesel::insert_into(uploads::table)
            .values(upload.clone())
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The upload of `key`, locked until commit.
    pub async fn find_for_update(
        conn: &mut AsyncPgConnection,
        key: &str,
    ) -> QueryResult<Option<Upload>> {
        uploads::table
            .find(key)
            .select(Upload::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()
    }

    /// Marks the upload attached (retention keeps it from then on).
    pub async fn mark_attached(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
        diesel::update(uploads::table.find(key))
            .set(uploads::attached_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Uploads never attached, made before `before`: at most `limit`.
    pub async fn unattached_before(
        conn: &mut AsyncPgConnection,
        before: DateTime<Utc>,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        uploads::table
            .filter(uploads::attached_at.is_null())
            .filter(uploads::created_at.lt(before))
            .select(uploads::object_key)
            .limit(limit)
            .load(conn)
            .await
    }

    /// Forgets an upload that was never attached.
    pub async fn delete_unattached(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<bool> {
        let n = diesel::delete(
            uploads::table
                .find(key)
                .filter(uploads::attached_at.is_null()),
        )
        .execute(conn)
        .await?;
        Ok(n > 0)
    }
}

impl Attachment {
    /// The attachment as a message snapshot carries it. Its `file_url` is
    /// the API's download route, relative to the API's base URL.
    pub fn snapshot(&self) -> AttachmentSnapshot {
        AttachmentSnapshot {
            id: self.id,
            file_url: format!("/api/v1/media/attachments/{}/content", self.id),
            file_name: self.file_name.clone(),
            file_type: self.file_type.clone(),
            file_size: self.file_size,
            waveform_points: self
                .waveform
                .clone()
                .and_then(|w| serde_json::from_value(w).ok()),
        }
    }

    /// The snapshots of the attachments of each of `message_ids`.
    pub async fn snapshots_of(
        conn: &mut AsyncPgConnection,
        message_ids: &[i64],
    ) -> QueryResult<HashMap<i64, Vec<AttachmentSnapshot>>> {
        Ok(Attachment::of_messages(conn, message_ids)
            .await?
            .into_iter()
            .map(|(id, rows)| (id, rows.iter().map(Attachment::snapshot).collect()))
            .collect())
    }

    /// Inserts an attachment and returns it.
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: &NewAttachment,
    ) -> QueryResult<Attachment> {
        diesel::insert_into(attachments::table)
            .values(new.clone())
            .returning(Attachment::as_returning())
            .get_result(conn)
            .await
    }

    /// The attachment with `id`, if any.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Attachment>> {
        attachments::table
            .find(id)
            .select(Attachment::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The attachments of each of `message_ids`, in the order they were
    /// attached.
    pub async fn of_messages(
        conn: &mut AsyncPgConnection,
        message_ids: &[i64],
    ) -> QueryResult<HashMap<i64, Vec<Attachment>>> {
        if message_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<Attachment> = attachments::table
            .filter(attachments::message_id.eq_any(message_ids))
            .order(attachments::id.asc())
            .select(Attachment::as_select())
            .load(conn)
            .await?;
        let mut by_message: HashMap<i64, Vec<Attachment>> = HashMap::new();
        for row in rows {
            by_message.entry(row.message_id).or_default().push(row);
        }
        Ok(by_message)
    }

    /// Gives message `to` copies of the attachments of `from` (a forward).
    pub async fn copy(conn: &mut AsyncPgConnection, from: i64, to: i64) -> QueryResult<()> {
        let rows: Vec<Attachment> = attachments::table
            .filter(attachments::message_id.eq(from))
            .order(attachments::id.asc())
            .select(Attachment::as_select())
            .load(conn)
            .await?;
        for row in rows {
            Attachment::insert(
                conn,
                &NewAttachment {
                    message_id: to,
                    object_key: row.object_key,
                    file_type: row.file_type,
                    file_size: row.file_size,
                    waveform: row.waveform,
                    file_name: row.file_name,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// A page of a chat's attachments as `viewer_id` sees them: newest
    /// first, before attachment `before_id` when given, without those of
    /// messages deleted, hidden or cleared for the viewer.
    pub async fn page_of_chat(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        viewer_id: i64,
        cleared_before: i64,
        before_id: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<(Attachment, Option<i64>, String, DateTime<Utc>)>> {
        let hidden = message_hidden::table
            .filter(message_hidden::user_id.eq(viewer_id))
            .select(message_hidden::message_id);
        let mut query = attachments::table
            .inner_join(messages::table)
            .filter(messages::chat_id.eq(chat_id))
            .filter(messages::deleted_at.is_null())
            .filter(messages::id.gt(cleared_before))
            .filter(diesel::dsl::not(messages::id.eq_any(hidden)))
            .into_boxed();
        if let Some(before) = before_id {
            query = query.filter(attachments::id.lt(before));
        }
        query
            .order(attachments::id.desc())
            .limit(limit)
            .select((
                Attachment::as_select(),
                messages::sender_id,
                messages::message_type,
                messages::created_at,
            ))
            .load(conn)
            .await
    }
}
