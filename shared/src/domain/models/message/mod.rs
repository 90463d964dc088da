use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::events::MessageSnapshot;
use crate::domain::kinds::MessageType;

mod insert;
use crate::infra::schema::{
    chat_members, mentions, message_edits, message_hidden, messages, users,
};
pub use insert::NewMessage;

/// A row of `messages`. `seq` is the chat seq of its `message_created` event.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    pub id: i64,
    pub chat_id: i64,
    pub sender_id: Option<i64>,
    pub seq: i64,
    pub message_type: MessageType,
    pub text: String,
    pub reply_to_message_id: Option<i64>,
    pub forwarded_from_message_id: Option<i64>,
    pub client_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A boxed select of whole [`Message`] rows.
pub type MessageQuery = messages::BoxedQuery<
    'static,
    diesel::pg::Pg,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<Message, diesel::pg::Pg>>,
>;

/// Which page of a chat [`Message::page`] returns.
#[derive(Debug, Clone, Copy)]
pub enum PageCursor {
    /// The newest messages.
    Latest,
    /// The newest messages after skipping this many newer ones (APIs that
    /// page by number).
    Skip(i64),
    /// The messages just before this id.
    Before(i64),
    /// The messages just after this id (catch-up).
    After(i64),
}

/// A row of `message_edits`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = message_edits, check_for_backend(diesel::pg::Pg))]
pub struct MessageEdit {
    pub id: i64,
    pub message_id: i64,
    pub old_text: String,
    pub edited_at: DateTime<Utc>,
}

impl Message {
    /// The message with `id`; `NotFound` if there is none.
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Message> {
        messages::table
            .find(id)
            .select(Message::as_select())
            .first(conn)
            .await
    }

    /// The messages with these ids, in no particular order.
    pub async fn by_ids(mut conn: &AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Message>> {
        messages::table
            .filter(messages::id.eq_any(ids))
            .select(Message::as_select())
            .load(&mut conn)
            .await
    }

    /// The message with `id`, locked for update.
    pub async fn find_for_update(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Message> {
        messages::table
            .find(id)
            .select(Message::as_select())
            .for_update()
            .first(conn)
            .await
    }

    /// The message `sender_id` sent with `client_message_id`, if any.
    pub async fn find_by_client_id(
        conn: &mut AsyncPgConnection,
        sender_id: i64,
        client_message_id: &str,
    ) -> QueryResult<Option<Message>> {
        messages::table
            .filter(messages::sender_id.eq(sender_id))
            .filter(messages::client_message_id.eq(client_message_id))
            .select(Message::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// How many seconds ago `sender_id` last sent exactly `text` to
    /// `chat_id`, if ever (the duplicate cooldown).
    pub async fn same_text_age(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        sender_id: i64,
        text: &str,
    ) -> QueryResult<Option<i64>> {
        let last: Option<DateTime<Utc>> = messages::table
            .filter(messages::chat_id.eq(chat_id))
            .filter(messages::sender_id.eq(sender_id))
            .filter(messages::text.eq(text))
            .filter(messages::deleted_at.is_null())
            .order(messages::id.desc())
            .select(messages::created_at)
            .first(conn)
            .await
            .optional()?;
        Ok(last.map(|at| (Utc::now() - at).num_seconds()))
    }

    /// The messages of `chat_id` that `viewer_id` sees: after their
    /// `cleared_before` mark, without those they hid.
    fn seen_by(
        chat_id: i64,
        viewer_id: i64,
        cleared_before: i64,
    ) -> messages::BoxedQuery<'static, diesel::pg::Pg> {
        let hidden = message_hidden::table
            .filter(message_hidden::user_id.eq(viewer_id))
            .select(message_hidden::message_id);
        messages::table
            .filter(messages::chat_id.eq(chat_id))
            .filter(messages::id.gt(cleared_before))
            .filter(messages::id.ne_all(hidden))
            .into_boxed()
    }

    /// The query of [`Message::page`], newest first for every cursor but
    /// `After`: keyset reads on `(chat_id, id)` that stay O(`limit`) at any
    /// depth, except `Skip`, which reads past its offset. Public for the
    /// query-plan test (tests/…/query_plans.rs).
    pub fn page_query(
        chat_id: i64,
        viewer_id: i64,
        cleared_before: i64,
        cursor: PageCursor,
        limit: i64,
    ) -> MessageQuery {
        let base = Self::seen_by(chat_id, viewer_id, cleared_before)
            .select(Message::as_select())
            .limit(limit);
        match cursor {
            PageCursor::Latest => base.order(messages::id.desc()),
            PageCursor::Skip(offset) => base.order(messages::id.desc()).offset(offset),
            PageCursor::Before(id) => base.filter(messages::id.lt(id)).order(messages::id.desc()),
            PageCursor::After(id) => base.filter(messages::id.gt(id)).order(messages::id.asc()),
        }
    }

    /// A page of `chat_id` as `viewer_id` sees it (after the viewer's
    /// `cleared_before` mark, without messages hidden for them), in
    /// ascending id order, at most `limit`.
    pub async fn page(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        viewer_id: i64,
        cleared_before: i64,
        cursor: PageCursor,
        limit: i64,
    ) -> QueryResult<Vec<Message>> {
        let mut rows = Self::page_query(chat_id, viewer_id, cleared_before, cursor, limit)
            .load(conn)
            .await?;
        if !matches!(cursor, PageCursor::After(_)) {
            rows.reverse();
        }
        Ok(rows)
    }

    /// How many messages of a chat `viewer_id` sees (tombstones included):
    /// not cleared, not hidden for them.
    pub async fn count_visible(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        viewer_id: i64,
        cleared_before: i64,
    ) -> QueryResult<i64> {
        Self::seen_by(chat_id, viewer_id, cleared_before)
            .count()
            .get_result(conn)
            .await
    }

    /// The newest `limit` messages of a chat not deleted for everyone,
    /// oldest first: as everyone sees them (`viewer` = `None`), or as one
    /// member does (`Some((user_id, cleared_before))`: without what they
    /// cleared or hid).
    pub async fn recent(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        viewer: Option<(i64, i64)>,
        limit: i64,
    ) -> QueryResult<Vec<Message>> {
        let base = match viewer {
            Some((user_id, cleared_before)) => Self::seen_by(chat_id, user_id, cleared_before),
            None => messages::table
                .filter(messages::chat_id.eq(chat_id))
                .into_boxed(),
        };
        let mut rows = base
            .filter(messages::deleted_at.is_null())
            .select(Message::as_select())
            .order(messages::id.desc())
            .limit(limit)
            .load(conn)
            .await?;
        rows.reverse();
        Ok(rows)
    }

    /// Which of `ids` `user_id` hid (deleted for themselves).
    pub async fn hidden_of(
        conn: &mut AsyncPgConnection,
        user_id: i64,
        ids: &[i64],
    ) -> QueryResult<Vec<i64>> {
        message_hidden::table
            .filter(message_hidden::user_id.eq(user_id))
            .filter(message_hidden::message_id.eq_any(ids))
            .select(message_hidden::message_id)
            .load(conn)
            .await
    }

    /// Replaces the text, keeping the old one in `message_edits`, and
    /// forgets the old text's mentions (record the new text's with
    /// [`Message::record_mentions`]).
    pub async fn edit(
        conn: &mut AsyncPgConnection,
        message: &Message,
        new_text: &str,
    ) -> QueryResult<Message> {
        diesel::delete(mentions::table.filter(mentions::message_id.eq(message.id)))
            .execute(conn)
            .await?;
        diesel::insert_into(message_edits::table)
            .values((
                message_edits::message_id.eq(message.id),
                message_edits::old_text.eq(&message.text),
            ))
            .execute(conn)
            .await?;
        diesel::update(messages::table.find(message.id))
            .set((
                messages::search_tokens.eq(crate::domain::search_tokens::document_tokens(new_text)),
                messages::text.eq(new_text),
                messages::edited_at.eq(diesel::dsl::now),
                messages::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Message::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes for everyone: a tombstone without text, edit history,
    /// mentions, reactions or files.
    pub async fn delete_for_all(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Message> {
        use crate::infra::schema::{attachments, reactions};
        diesel::delete(attachments::table.filter(attachments::message_id.eq(id)))
            .execute(conn)
            .await?;
        diesel::delete(reactions::table.filter(reactions::message_id.eq(id)))
            .execute(conn)
            .await?;
        diesel::delete(message_edits::table.filter(message_edits::message_id.eq(id)))
            .execute(conn)
            .await?;
        diesel::delete(mentions::table.filter(mentions::message_id.eq(id)))
            .execute(conn)
            .await?;
        diesel::update(messages::table.find(id))
            .set((
                messages::search_tokens.eq(Vec::<String>::new()),
                messages::text.eq(""),
                messages::deleted_at.eq(diesel::dsl::now),
                messages::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Message::as_returning())
            .get_result(conn)
            .await
    }

    /// Hides the message for `user_id` (delete-for-me); idempotent.
    pub async fn hide_for(conn: &mut AsyncPgConnection, id: i64, user_id: i64) -> QueryResult<()> {
        diesel::insert_into(message_hidden::table)
            .values((
                message_hidden::user_id.eq(user_id),
                message_hidden::message_id.eq(id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Records the members of `chat_id` named as `@username` in `text`
    /// (not the sender); returns their ids, ascending.
    pub async fn record_mentions(
        conn: &mut AsyncPgConnection,
        message: &Message,
        text: &str,
    ) -> QueryResult<Vec<i64>> {
        let names = mentioned_usernames(text);
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let members = chat_members::table
            .filter(chat_members::chat_id.eq(message.chat_id))
            .select(chat_members::user_id);
        let mut ids: Vec<i64> = users::table
            .filter(users::id.eq_any(members))
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(username) = ANY(")
                    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&names)
                    .sql(")"),
            )
            .select(users::id)
            .load(conn)
            .await?;
        ids.retain(|id| Some(*id) != message.sender_id);
        ids.sort_unstable();
        if !ids.is_empty() {
            let rows: Vec<_> = ids
                .iter()
                .map(|id| {
                    (
                        mentions::message_id.eq(message.id),
                        mentions::user_id.eq(*id),
                    )
                })
                .collect();
            diesel::insert_into(mentions::table)
                .values(rows)
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        Ok(ids)
    }

    /// The mentioned user ids of each of `ids`.
    pub async fn mentions_of(
        conn: &mut AsyncPgConnection,
        ids: &[i64],
    ) -> QueryResult<Vec<(i64, i64)>> {
        mentions::table
            .filter(mentions::message_id.eq_any(ids))
            .order((mentions::message_id, mentions::user_id))
            .select((mentions::message_id, mentions::user_id))
            .load(conn)
            .await
    }

    /// `true` if `user_id` hid this message, or cleared the chat's history
    /// up to or past it.
    pub async fn is_hidden_for(
        conn: &mut AsyncPgConnection,
        id: i64,
        user_id: i64,
    ) -> QueryResult<bool> {
        let hidden = message_hidden::table
            .filter(message_hidden::user_id.eq(user_id))
            .filter(message_hidden::message_id.eq(id));
        let cleared = messages::table
            .inner_join(chat_members::table.on(chat_members::chat_id.eq(messages::chat_id)))
            .filter(messages::id.eq(id))
            .filter(chat_members::user_id.eq(user_id))
            .filter(messages::id.le(chat_members::cleared_before_message_id));
        diesel::select(diesel::dsl::exists(hidden).or(diesel::dsl::exists(cleared)))
            .get_result(conn)
            .await
    }

    /// Which of `user_ids` may not see the message's content: they hid it,
    /// or cleared the chat's history up to or past it. One lookup per edit
    /// and replica, for all of its local followers.
    pub async fn hidden_among(
        conn: &mut AsyncPgConnection,
        id: i64,
        user_ids: &[i64],
    ) -> QueryResult<Vec<i64>> {
        let mut hidden: Vec<i64> = message_hidden::table
            .filter(message_hidden::message_id.eq(id))
            .filter(message_hidden::user_id.eq_any(user_ids))
            .select(message_hidden::user_id)
            .load(conn)
            .await?;
        let cleared: Vec<i64> = messages::table
            .inner_join(chat_members::table.on(chat_members::chat_id.eq(messages::chat_id)))
            .filter(messages::id.eq(id))
            .filter(chat_members::user_id.eq_any(user_ids))
            .filter(messages::id.le(chat_members::cleared_before_message_id))
            .select(chat_members::user_id)
            .load(conn)
            .await?;
        hidden.extend(cleared);
        Ok(hidden)
    }

    /// The message's edit history, oldest first.
    pub async fn edits(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Vec<MessageEdit>> {
        message_edits::table
            .filter(message_edits::message_id.eq(id))
            .order(message_edits::id.asc())
            .select(MessageEdit::as_select())
            .load(conn)
            .await
    }

    /// The message as a domain event carries it, with its `mentions`.
    pub fn snapshot(&self, mentions: Vec<i64>) -> MessageSnapshot {
        let deleted = self.deleted_at.is_some();
        MessageSnapshot {
            id: self.id,
            chat_id: self.chat_id,
            sender_id: self.sender_id,
            seq: self.seq,
            reply_to_message_id: self.reply_to_message_id,
            forwarded_from_message_id: self.forwarded_from_message_id,
            message_type: self.message_type,
            text: (!deleted).then(|| self.text.clone()),
            client_message_id: self.client_message_id.clone(),
            mentions,
            reactions: Vec::new(),
            attachments: Vec::new(),
            deleted,
            edited_at: self.edited_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// The lower-cased `@username`s in `text` (3–32 letters, digits or `_`).
pub fn mentioned_usernames(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let standalone = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if standalone && (3..=32).contains(&len) {
            let name = after[..len].to_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        rest = &after[len..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::mentioned_usernames;

    #[test]
    fn finds_standalone_usernames() {
        assert_eq!(
            mentioned_usernames("hi @Bob and @carol_1, not mail@example.com or @ab; @bob again"),
            vec!["bob".to_owned(), "carol_1".to_owned()]
        );
        assert!(mentioned_usernames("no mentions @").is_empty());
    }
}
