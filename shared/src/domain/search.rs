//! Message search on PostgreSQL (seed 004 §8 `GET /messages/search`,
//! issue 10): the query is tokenized as messages are
//! ([`crate::domain::search_tokens`]), every token is required, and the
//! caller finds only what they may read now: messages of chats they are a
//! member of, not deleted for everyone, not hidden or cleared for them, not
//! past the chat's `retention_days`. Ranked by relevance, then newest
//! first; each hit carries a `highlight`. `GET /search` (seed 004 §11)
//! runs the user, chat and message searches with one query.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{self, ListChatsQuery, require_member};
use crate::domain::context::AppContext;
use crate::domain::error::AppResult;
use crate::domain::messages::reads_for;
use crate::domain::models::Message;
use crate::domain::search_tokens::{highlight, name_tokens, query_tokens, tsquery};
use crate::domain::users::{self, UserSearchRead};
use crate::domain::validate;
use crate::domain::views::{ChatView, SearchHit};
use crate::infra::schema::messages;

/// Query of `GET /messages/search`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageSearchQuery {
    /// What to look for; under 2 characters (trimmed) finds nothing; cut
    /// at 256 characters.
    pub query: Option<String>,
    /// Only this chat (one of yours).
    pub chat_id: Option<i64>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

// The caller's visibility, then the match, ranked. `$1` user, `$2` the
// tsquery, `$3` chat or NULL, `$4` limit.
const SEARCH_SQL: &str = r#"
SELECT m.id
  FROM messages m
  JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1
  JOIN chats c ON c.id = m.chat_id
 WHERE m.search_vector @@ $2::tsquery
   AND m.deleted_at IS NULL
   AND m.id > cm.cleared_before_message_id
   AND NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.user_id = $1 AND h.message_id = m.id)
   AND (c.retention_days IS NULL OR m.created_at > now() - make_interval(days => c.retention_days))
   AND ($3::bigint IS NULL OR m.chat_id = $3)
 ORDER BY ts_rank(m.search_vector, $2::tsquery) DESC, m.id DESC
 LIMIT $4
"#;

#[derive(diesel::QueryableByName)]
struct Hit {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// `GET /messages/search?query&chat_id&limit`.
///
/// Errors: 422 `limit`; with `chat_id`: 404 `chat_not_found`, 403
/// `not_a_member`.
pub async fn search_messages(
    ctx: &AppContext,
    auth: &AuthContext,
    query: &MessageSearchQuery,
) -> AppResult<Vec<SearchHit>> {
    let limit = validate::limit(query.limit, 50, 100)?;
    let text = query.query.clone().unwrap_or_default();
    let mut conn = ctx.db.get().await?;
    if let Some(chat_id) = query.chat_id {
        require_member(&mut conn, chat_id, auth.user_id).await?;
    }
    let tokens = query_tokens(&text);
    if tokens.is_empty() {
        return Ok(Vec::new());
    }
    let hits: Vec<Hit> = diesel::sql_query(SEARCH_SQL)
        .bind::<BigInt, _>(auth.user_id)
        .bind::<Text, _>(tsquery(&tokens))
        .bind::<Nullable<BigInt>, _>(query.chat_id)
        .bind::<BigInt, _>(limit)
        .load(&mut conn)
        .await?;
    let ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
    // One read per chat found, then back to the ranking's order.
    let mut by_chat: std::collections::BTreeMap<i64, Vec<Message>> = Default::default();
    for message in Message::by_ids(&mut conn, &ids).await? {
        by_chat.entry(message.chat_id).or_default().push(message);
    }
    let mut found = Vec::with_capacity(ids.len());
    for (chat_id, messages) in &by_chat {
        for (view, message) in reads_for(&mut conn, *chat_id, auth.user_id, messages)
            .await?
            .into_iter()
            .zip(messages)
        {
            found.push(SearchHit {
                highlight: highlight(&message.text, &text),
                view,
            });
        }
    }
    found.sort_by_key(|hit| ids.iter().position(|id| *id == hit.view.message.id));
    Ok(found)
}

/// Query of `GET /search` (seed 004 §11).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GlobalSearchQuery {
    pub query: Option<String>,
    /// 1–50, default 10.
    pub users_limit: Option<i64>,
    /// 1–100, default 10.
    pub chats_limit: Option<i64>,
    /// 1–100, default 10.
    pub messages_limit: Option<i64>,
}

/// What `GET /search` finds: users (as `GET /users/search`), the caller's
/// chats (as `GET /chats?query=`), messages (as `GET /messages/search`).
#[derive(Debug, Clone)]
pub struct GlobalResults {
    pub users: Vec<UserSearchRead>,
    pub chats: Vec<ChatView>,
    pub messages: Vec<SearchHit>,
}

/// `GET /search?query&users_limit&chats_limit&messages_limit` (seed 004
/// §11): the three searches with one query, each with its own limit and
/// the rules of its own endpoint. A query under 2 characters (trimmed)
/// finds nothing anywhere.
///
/// Errors: 422 naming the limit outside its range.
pub async fn search_all(
    ctx: &AppContext,
    auth: &AuthContext,
    query: &GlobalSearchQuery,
) -> AppResult<GlobalResults> {
    let users_limit = validate::limit(query.users_limit, 10, 50)?;
    let chats_limit = validate::limit(query.chats_limit, 10, 100)?;
    let messages_limit = validate::limit(query.messages_limit, 10, 100)?;
    let text = query.query.clone().unwrap_or_default();
    if text.trim().chars().count() < 2 {
        return Ok(GlobalResults {
            users: Vec::new(),
            chats: Vec::new(),
            messages: Vec::new(),
        });
    }
    let users = users::search(
        ctx,
        auth,
        &users::SearchQuery {
            query: text.clone(),
            limit: Some(users_limit),
        },
    )
    .await?;
    let mut chats = chats::list_chats(
        ctx,
        auth,
        ListChatsQuery {
            limit: Some(chats_limit),
            query: Some(text.clone()),
            ..Default::default()
        },
    )
    .await?;
    // Archived chats are found too.
    if chats.len() < chats_limit as usize {
        let archived = chats::list_chats(
            ctx,
            auth,
            ListChatsQuery {
                limit: Some(chats_limit - chats.len() as i64),
                query: Some(text.clone()),
                archived: true,
                ..Default::default()
            },
        )
        .await?;
        chats.extend(archived);
    }
    let messages = search_messages(
        ctx,
        auth,
        &MessageSearchQuery {
            query: Some(text),
            chat_id: None,
            limit: Some(messages_limit),
        },
    )
    .await?;
    Ok(GlobalResults {
        users,
        chats,
        messages,
    })
}

/// Messages re-tokenized per transaction by [`reindex_batch`].
pub const REINDEX_BATCH: i64 = 1000;

/// Writes the search tokens of up to [`REINDEX_BATCH`] messages with ids
/// above `after_id` (not deleted for everyone), in one transaction;
/// returns the last id it took and how many (`None`: nothing left). What
/// `parley-api reindex` runs over the whole table: messages sent before
/// search existed have no tokens, and a tokenizer change needs them
/// written again.
///
/// Errors: the database failed.
pub async fn reindex_batch(
    ctx: &AppContext,
    after_id: i64,
) -> anyhow::Result<Option<(i64, usize)>> {
    let mut conn = ctx.db.get().await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let rows: Vec<(i64, String)> = messages::table
            .filter(messages::id.gt(after_id))
            .filter(messages::deleted_at.is_null())
            .order(messages::id.asc())
            .limit(REINDEX_BATCH)
            .select((messages::id, messages::text))
            .load(conn)
            .await?;
        for (id, text) in &rows {
            diesel::update(messages::table.find(*id))
                .set(
                    messages::search_tokens.eq(crate::domain::search_tokens::document_tokens(text)),
                )
                .execute(conn)
                .await?;
        }
        Ok(rows.last().map(|(id, _)| (*id, rows.len())))
    })
    .await
}

/// How many messages [`reindex_batch`] will go through (for a progress
/// bar).
///
/// Errors: the database failed.
pub async fn reindex_total(ctx: &AppContext) -> anyhow::Result<i64> {
    let mut conn = ctx.db.get().await?;
    Ok(messages::table
        .filter(messages::deleted_at.is_null())
        .count()
        .get_result(&mut conn)
        .await?)
}

/// Writes the search tokens of every user (name, username) and every chat
/// that is not deleted (title, handle) again, [`REINDEX_BATCH`] rows per
/// transaction; returns how many users and chats. Part of `parley-api
/// reindex`: rows from before name search existed got a plain word split
/// from the migration, without CJK bigrams.
///
/// Errors: the database failed.
pub async fn reindex_names(ctx: &AppContext) -> anyhow::Result<(usize, usize)> {
    use crate::infra::schema::{chats, users};
    let mut conn = ctx.db.get().await?;
    let (mut user_count, mut chat_count) = (0, 0);
    let mut after = 0;
    loop {
        let rows: Vec<(i64, String, String)> = users::table
            .filter(users::id.gt(after))
            .order(users::id.asc())
            .limit(REINDEX_BATCH)
            .select((users::id, users::name, users::username))
            .load(&mut conn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        user_count += rows.len();
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            for (id, name, username) in &rows {
                diesel::update(users::table.find(*id))
                    .set(users::search_tokens.eq(name_tokens(&[Some(name), Some(username)])))
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
        .await?;
    }
    after = 0;
    loop {
        let rows: Vec<(i64, Option<String>, Option<String>)> = chats::table
            .filter(chats::id.gt(after))
            .filter(chats::deleted_at.is_null())
            .order(chats::id.asc())
            .limit(REINDEX_BATCH)
            .select((chats::id, chats::title, chats::handle))
            .load(&mut conn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        chat_count += rows.len();
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            for (id, title, handle) in &rows {
                diesel::update(chats::table.find(*id))
                    .set(
                        chats::search_tokens
                            .eq(name_tokens(&[title.as_deref(), handle.as_deref()])),
                    )
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
        .await?;
    }
    Ok((user_count, chat_count))
}
