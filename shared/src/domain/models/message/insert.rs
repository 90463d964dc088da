//! The send path's writes of messages (issue 13): a batch's retry lookup
//! and its insert, each one prepared statement over `unnest` of one array
//! per column, whatever the batch's size ([`CachedSql`]).

use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Message;
use crate::domain::kinds::MessageType;
use crate::infra::db::CachedSql;

/// A message about to be inserted.
#[derive(Debug)]
pub struct NewMessage<'a> {
    pub chat_id: i64,
    pub sender_id: i64,
    pub seq: i64,
    pub message_type: MessageType,
    pub text: &'a str,
    pub reply_to_message_id: Option<i64>,
    pub forwarded_from_message_id: Option<i64>,
    pub client_message_id: Option<&'a str>,
    /// What search finds it by ([`crate::domain::search_tokens`]).
    pub search_tokens: Vec<String>,
}

impl Message {
    /// Which of these `(sender_id, client_message_id)` keys already name a
    /// message: one query for a batch of sends. The pairs are joined to the
    /// unique index on `(sender_id, client_message_id)`, one probe each
    /// (`sender_id = ANY(..) AND client_message_id = ANY(..)` would read
    /// every message of the senders).
    pub async fn taken_client_ids(
        mut conn: &AsyncPgConnection,
        keys: &[(i64, &str)],
    ) -> QueryResult<std::collections::HashSet<(i64, String)>> {
        use diesel::sql_types::{Array, BigInt, Text};
        if keys.is_empty() {
            return Ok(Default::default());
        }
        let (senders, ids): (Vec<i64>, Vec<&str>) = keys.iter().copied().unzip();
        // A probe of the unique index per key, whatever the table's size
        // when the plan was made: the statement stays prepared
        // ([`CachedSql`]), and a join PostgreSQL may plan freely would be a
        // hash over a scan of `messages` when planned while it was small.
        let found: Vec<TakenKey> = CachedSql(
            "SELECT m.sender_id, m.client_message_id \
             FROM unnest($1::bigint[], $2::text[]) AS k(sender_id, client_message_id) \
             CROSS JOIN LATERAL (SELECT m.sender_id, m.client_message_id FROM messages m \
             WHERE m.sender_id = k.sender_id AND m.client_message_id = k.client_message_id \
             LIMIT 1) m",
        )
        .bind::<Array<BigInt>, _>(&senders)
        .bind::<Array<Text>, _>(&ids)
        .load(&mut conn)
        .await?;
        Ok(found
            .into_iter()
            .map(|k| (k.sender_id, k.client_message_id))
            .collect())
    }

    /// Inserts messages with one statement and returns those inserted:
    /// a message whose sender already used its `client_message_id` is
    /// left out. One array per column (`unnest`), so that every batch
    /// size is the same prepared statement ([`CachedSql`]); the search
    /// tokens, an array per row, travel joined by U+001F, which no token
    /// holds (tokens are letters and digits: `search_tokens`).
    pub async fn insert_many(
        mut conn: &AsyncPgConnection,
        new: Vec<NewMessage<'_>>,
    ) -> QueryResult<Vec<Message>> {
        use diesel::sql_types::{Array, BigInt, Nullable, Text};
        let mut columns = NewColumns::default();
        for m in new {
            columns.chat_ids.push(m.chat_id);
            columns.sender_ids.push(m.sender_id);
            columns.seqs.push(m.seq);
            columns.types.push(m.message_type.as_str());
            columns.texts.push(m.text);
            columns.reply_tos.push(m.reply_to_message_id);
            columns.forwarded_froms.push(m.forwarded_from_message_id);
            columns.client_ids.push(m.client_message_id);
            columns.tokens.push(m.search_tokens.join(TOKEN_SEPARATOR));
        }
        CachedSql(
            "INSERT INTO messages (chat_id, sender_id, seq, type, text, reply_to_message_id, \
             forwarded_from_message_id, client_message_id, search_tokens) \
             SELECT chat_id, sender_id, seq, type, text, reply_to, forwarded_from, client_id, \
             string_to_array(tokens, chr(31)) \
             FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], \
             $6::bigint[], $7::bigint[], $8::text[], $9::text[]) \
             AS n(chat_id, sender_id, seq, type, text, reply_to, forwarded_from, client_id, tokens) \
             ON CONFLICT (sender_id, client_message_id) DO NOTHING \
             RETURNING id, chat_id, sender_id, seq, type AS message_type, text, \
             reply_to_message_id, forwarded_from_message_id, client_message_id, \
             created_at, updated_at, edited_at, deleted_at",
        )
        .bind::<Array<BigInt>, _>(columns.chat_ids)
        .bind::<Array<BigInt>, _>(columns.sender_ids)
        .bind::<Array<BigInt>, _>(columns.seqs)
        .bind::<Array<Text>, _>(columns.types)
        .bind::<Array<Text>, _>(columns.texts)
        .bind::<Array<Nullable<BigInt>>, _>(columns.reply_tos)
        .bind::<Array<Nullable<BigInt>>, _>(columns.forwarded_froms)
        .bind::<Array<Nullable<Text>>, _>(columns.client_ids)
        .bind::<Array<Text>, _>(columns.tokens)
        .load(&mut conn)
        .await
    }
}

/// What joins a message's search tokens into one text for
/// [`Message::insert_many`] (`chr(31)` there).
const TOKEN_SEPARATOR: &str = "\u{1f}";

/// [`Message::insert_many`]'s rows as one array per column.
#[derive(Default)]
struct NewColumns<'a> {
    chat_ids: Vec<i64>,
    sender_ids: Vec<i64>,
    seqs: Vec<i64>,
    types: Vec<&'static str>,
    texts: Vec<&'a str>,
    reply_tos: Vec<Option<i64>>,
    forwarded_froms: Vec<Option<i64>>,
    client_ids: Vec<Option<&'a str>>,
    tokens: Vec<String>,
}

/// A row of [`Message::taken_client_ids`].
#[derive(QueryableByName)]
struct TakenKey {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    sender_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    client_message_id: String,
}
