//! Search, the one interface over two engines (issue 10; seed 004 §8
//! `GET /messages/search`, §11 `GET /search`). On PostgreSQL (the default)
//! the query is tokenized as messages are
//! ([`crate::domain::search_tokens`]), every token is required, ranked by
//! relevance then newest first. With `MEILISEARCH_URL`, Meilisearch finds
//! and ranks within the caller's chats, and every hit is checked against
//! PostgreSQL. Either way the caller finds only what they may read now
//! (the `visible_to_caller` rules below): messages of chats they are a
//! member of, not deleted for everyone, not hidden or cleared for them,
//! not past the chat's `retention_days`. Each hit carries a `highlight`.
//! Writing the index is [`crate::domain::search_index`]'s part.

use diesel::prelude::*;
use diesel::sql_types::Array;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{self, ListChatsQuery, require_member};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::history::reads_for;
use crate::domain::models::Message;
use crate::domain::search_tokens::{MAX_QUERY_CHARS, highlight, query_tokens, tsquery};
use crate::domain::users::{self, UserSearchRead};
use crate::domain::validate;
use crate::domain::views::{ChatView, SearchHit};
use crate::infra::meili::MeiliIndex;
use crate::infra::schema::chat_members;

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

// What a caller may find (issue 10, item 4), one text for both engines:
// messages of chats they are a member of now, not deleted for everyone,
// after their cleared history, not hidden for them, not past the chat's
// retention. `$1` is the caller.
macro_rules! visible_to_caller {
    () => {
        r#"
  FROM messages m
  JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1
  JOIN chats c ON c.id = m.chat_id
 WHERE m.deleted_at IS NULL
   AND m.id > cm.cleared_before_message_id
   AND NOT EXISTS (SELECT 1 FROM message_hidden h WHERE h.user_id = $1 AND h.message_id = m.id)
   AND (c.retention_days IS NULL OR m.created_at > now() - make_interval(days => c.retention_days))
"#
    };
}

// PostgreSQL: the newest 1000 matches in the caller's chats (`$3`), then
// those the caller may see, best rank first (newest first among equals).
// The window keeps a word found in every tenth message from ranking a
// hundred thousand rows: the newest matches come off the primary key
// backwards, a rare word's from the GIN index, and the planner picks
// (docs/search.md). `$2` the tsquery, `$4` limit.
const SEARCH_SQL: &str = concat!(
    "SELECT m.id",
    visible_to_caller!(),
    "   AND m.id IN (SELECT w.id FROM messages w
                  WHERE w.chat_id = ANY($3) AND w.deleted_at IS NULL
                    AND w.search_vector @@ $2::tsquery
                  ORDER BY w.id DESC LIMIT 1000)
 ORDER BY ts_rank(m.search_vector, $2::tsquery) DESC, m.id DESC
 LIMIT $4"
);

// Meilisearch: which of its hits (`$2`) the caller may find now.
const VISIBLE_SQL: &str = concat!("SELECT m.id", visible_to_caller!(), "   AND m.id = ANY($2)");

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
    let chat_ids: Vec<i64> = match query.chat_id {
        Some(id) => vec![id],
        None => {
            chat_members::table
                .filter(chat_members::user_id.eq(auth.user_id))
                .select(chat_members::chat_id)
                .load(&mut conn)
                .await?
        }
    };
    let ids = match &ctx.meili {
        None => {
            let hits: Vec<Hit> = diesel::sql_query(SEARCH_SQL)
                .bind::<BigInt, _>(auth.user_id)
                .bind::<Text, _>(tsquery(&tokens))
                .bind::<Array<BigInt>, _>(&chat_ids)
                .bind::<BigInt, _>(limit)
                .load(&mut conn)
                .await?;
            hits.into_iter().map(|h| h.id).collect()
        }
        Some(meili) => {
            meili_search(&mut conn, meili, auth.user_id, &text, &chat_ids, limit).await?
        }
    };
    // One read per chat found, then back to the ranking's order.
    let mut by_chat: std::collections::BTreeMap<i64, Vec<Message>> = Default::default();
    for message in Message::by_ids(&conn, &ids).await? {
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

/// Pages of Meilisearch hits [`meili_search`] reads at most, when the
/// caller may not see many of them.
const MEILI_PAGES: usize = 5;

/// The ids of the messages Meilisearch finds for `text` in `chat_ids` (the
/// caller's, or the one asked for), in its order, that the caller may find now
/// (checked against PostgreSQL, so a change the index has not caught up
/// with never shows a message it should not), at most `limit`.
///
/// Errors: 503 `search_unavailable` when Meilisearch fails.
async fn meili_search(
    conn: &mut AsyncPgConnection,
    meili: &MeiliIndex,
    user_id: i64,
    text: &str,
    chat_ids: &[i64],
    limit: i64,
) -> AppResult<Vec<i64>> {
    let text: String = text.trim().chars().take(MAX_QUERY_CHARS).collect();
    let limit = limit as usize;
    let page = limit * 2;
    let mut found = Vec::new();
    for n in 0..MEILI_PAGES {
        let hits = meili
            .search(&text, chat_ids, n * page, page)
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "message search failed");
                AppError::SearchUnavailable
            })?;
        let visible: Vec<Hit> = diesel::sql_query(VISIBLE_SQL)
            .bind::<BigInt, _>(user_id)
            .bind::<Array<BigInt>, _>(&hits)
            .load(conn)
            .await?;
        found.extend(
            hits.iter()
                .filter(|id| visible.iter().any(|v| v.id == **id))
                .take(limit - found.len()),
        );
        if found.len() >= limit || hits.len() < page {
            break;
        }
    }
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
