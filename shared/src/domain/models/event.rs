use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::events::{DomainEvent, LoggedEvent, StoredEvent, VERSION};
use crate::domain::models::{EventKind, Message};
use crate::infra::db::CachedSql;
use crate::infra::schema::{chat_events, chats};

/// A row of `chat_events`: one durable change of a chat, at `seq`.
/// `payload` is a [`LoggedEvent`] (older rows: the native frame); read it
/// with [`ChatEventRow::stored`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_events, check_for_backend(diesel::pg::Pg))]
pub struct ChatEventRow {
    pub chat_id: i64,
    pub seq: i64,
    pub event_type: EventKind,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// The message a message event is about.
    pub message_id: Option<i64>,
}

/// A boxed select of whole [`ChatEventRow`]s.
pub type ChatEventQuery = chat_events::BoxedQuery<
    'static,
    diesel::pg::Pg,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<ChatEventRow, diesel::pg::Pg>>,
>;

/// Takes the chat's next seq: `UPDATE chats SET last_seq = last_seq + 1`.
/// The row lock this takes serialises writers of one chat until commit, so
/// seq order is commit order (ARCHITECTURE §2). Must run in a transaction.
pub async fn next_seq(conn: &mut AsyncPgConnection, chat_id: i64) -> QueryResult<i64> {
    diesel::update(chats::table.find(chat_id))
        .set((
            chats::last_seq.eq(chats::last_seq + 1),
            chats::updated_at.eq(diesel::dsl::now),
        ))
        .returning(chats::last_seq)
        .get_result(conn)
        .await
}

/// Records one durable change of a chat: takes the next seq and appends the
/// event `make(seq)` to the log. Must run in the transaction that makes the
/// change; publish the result after commit.
pub async fn record(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    make: impl FnOnce(i64) -> DomainEvent,
) -> QueryResult<LoggedEvent> {
    let seq = next_seq(conn, chat_id).await?;
    append(conn, chat_id, seq, make(seq)).await
}

/// Appends `event` to the chat's log at `seq` (taken with [`next_seq`] in
/// the same transaction) and returns it ready to publish after commit
/// ([`crate::domain::live::publish_logged`]).
pub async fn append(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    seq: i64,
    event: DomainEvent,
) -> QueryResult<LoggedEvent> {
    let logged = logged(chat_id, seq, event);
    append_many(conn, std::slice::from_ref(&logged)).await?;
    Ok(logged)
}

/// `event` of `chat_id` at `seq`, as the log stores it.
pub fn logged(chat_id: i64, seq: i64, event: DomainEvent) -> LoggedEvent {
    LoggedEvent {
        v: VERSION,
        chat_id,
        seq,
        event,
    }
}

/// Appends `events` (seqs taken in the same transaction) to their chats'
/// logs with one statement: one array per column (`unnest`), the same
/// prepared statement for any number of events ([`CachedSql`]).
pub async fn append_many(mut conn: &AsyncPgConnection, events: &[LoggedEvent]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text};
    let mut chat_ids = Vec::with_capacity(events.len());
    let mut seqs = Vec::with_capacity(events.len());
    let mut kinds = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    let mut message_ids = Vec::with_capacity(events.len());
    for logged in events {
        chat_ids.push(logged.chat_id);
        seqs.push(logged.seq);
        kinds.push(logged.event.kind().as_str());
        payloads.push(
            serde_json::to_string(logged)
                .map_err(|e| diesel::result::Error::SerializationError(e.into()))?,
        );
        message_ids.push(logged.event.message_id());
    }
    CachedSql(
        "INSERT INTO chat_events (chat_id, seq, type, payload, message_id) \
         SELECT chat_id, seq, type, payload::jsonb, message_id \
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[]) \
         AS e(chat_id, seq, type, payload, message_id)",
    )
    .bind::<Array<BigInt>, _>(chat_ids)
    .bind::<Array<BigInt>, _>(seqs)
    .bind::<Array<Text>, _>(kinds)
    .bind::<Array<Text>, _>(payloads)
    .bind::<Array<Nullable<BigInt>>, _>(message_ids)
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Removes a message's content from every logged event that carried it
/// (`message_created`, `message_updated`): the copies keep their seq and
/// become the tombstone the message list shows (`text: null`, `deleted:
/// true`, no mentions, reactions or attachments). Runs in the transaction
/// that deletes the message for everyone, so no replay path (REST events,
/// `/updates`, socket `resume`, SSE `Last-Event-ID`) can serve the text
/// afterwards (issue 6, item 1). Returns the number of events redacted.
/// The events are found by the chat's primary key from the message's seq
/// on, so the log needs no index of its own for this.
pub async fn redact_message(conn: &mut AsyncPgConnection, message: &Message) -> QueryResult<usize> {
    // Versioned rows hold a snapshot under event.message; older rows the
    // native frame's message.
    diesel::sql_query(
        "UPDATE chat_events \
            SET payload = CASE WHEN payload ? 'v' \
                THEN jsonb_set(payload, '{event,message}', (payload #> '{event,message}') \
                     || jsonb_build_object('text', NULL, 'deleted', TRUE, 'mentions', '[]'::jsonb, \
                                           'reactions', '[]'::jsonb, 'attachments', '[]'::jsonb)) \
                ELSE jsonb_set(payload, '{message}', (payload -> 'message') || jsonb_build_object( \
                     'text', NULL, 'deleted', TRUE, 'mentions', '[]'::jsonb, 'reactions', '[]'::jsonb, \
                     'attachments', '[]'::jsonb, 'attachment_waveform', NULL)) \
                END \
          WHERE chat_id = $2 AND seq >= $3 AND message_id = $1 \
            AND type IN ('message_created', 'message_updated')",
    )
    .bind::<diesel::sql_types::BigInt, _>(message.id)
    .bind::<diesel::sql_types::BigInt, _>(message.chat_id)
    .bind::<diesel::sql_types::BigInt, _>(message.seq)
    .execute(conn)
    .await
}

impl ChatEventRow {
    /// The query of [`ChatEventRow::range`]: a keyset read on the log's
    /// primary key `(chat_id, seq)`, O(`limit`) at any depth. Public for the
    /// query-plan test (tests/…/query_plans.rs).
    pub fn range_query(
        chat_id: i64,
        after_seq: i64,
        up_to_seq: Option<i64>,
        limit: i64,
    ) -> ChatEventQuery {
        let query = chat_events::table
            .filter(chat_events::chat_id.eq(chat_id))
            .filter(chat_events::seq.gt(after_seq))
            // A typed select (no SQL literal): the connection keeps the
            // prepared statement.
            .select(ChatEventRow::as_select())
            .order(chat_events::seq.asc())
            .limit(limit)
            .into_boxed();
        match up_to_seq {
            Some(up_to) => query.filter(chat_events::seq.le(up_to)),
            None => query,
        }
    }

    /// Events of `chat_id` with `after_seq < seq <= up_to_seq`, in order, at most `limit`.
    pub async fn range(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        after_seq: i64,
        up_to_seq: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<ChatEventRow>> {
        Self::range_query(chat_id, after_seq, up_to_seq, limit)
            .load(conn)
            .await
    }

    /// The stored event, versioned or older.
    pub fn stored(&self) -> StoredEvent {
        StoredEvent::read(self.payload.clone())
    }
}
