//! Public groups and channels (seed 004 §7): discovery and joining. A chat
//! is public when its creator made it so (`is_public`, with a unique
//! `handle`); anyone may find it and join it as a member (a channel's
//! members are its subscribers).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;

use crate::domain::caller::AuthContext;
use crate::domain::chats::{or_chat_not_found, read_chat};
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::live;
use crate::domain::members::insert_member;
use crate::domain::models::{Chat, ChatMember, ChatType, MemberRole};
use crate::domain::search_tokens::{prefix_tsquery, query_tokens};
use crate::domain::validate;
use crate::domain::views::{ChatView, PublicChat};
use crate::infra::schema::{chat_members, chats};

/// Query of `GET /chats/discover` (seed 004 §7).
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiscoverQuery {
    #[serde(default)]
    pub query: String,
    pub limit: Option<i64>,
}

/// `GET /chats/discover?query=&limit=30`: public groups and channels whose
/// title or handle matches the query as `GET /users/search` matches names
/// (issue 10: words by their start, Korean anywhere in a run; a leading
/// `@` is dropped; an empty query lists them all, a query with nothing to
/// look for, such as one character, none), the largest first.
///
/// Errors: 422 `limit` outside 1..=100.
pub async fn discover(
    ctx: &AppContext,
    auth: &AuthContext,
    query: &DiscoverQuery,
) -> AppResult<Vec<PublicChat>> {
    let limit = validate::limit(query.limit, 30, 100)?;
    let text = validate::search_text(&query.query);
    let tokens = query_tokens(&text);
    if tokens.is_empty() && !text.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = ctx.db.get().await?;
    let members_count = chat_members::table
        .filter(chat_members::chat_id.eq(chats::id))
        .count()
        .single_value();
    let mut listed = chats::table
        .filter(chats::is_public.eq(true))
        .filter(chats::chat_type.ne(ChatType::Private))
        .into_boxed();
    if !tokens.is_empty() {
        listed = listed.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("chats.search_vector @@ ")
                .bind::<diesel::sql_types::Text, _>(prefix_tsquery(&tokens))
                .sql("::tsquery"),
        );
    }
    let rows: Vec<(Chat, Option<i64>)> = listed
        .order((members_count.desc(), chats::id.asc()))
        .limit(limit)
        .select((Chat::as_select(), members_count))
        .load(&mut conn)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|(c, _)| c.id).collect();
    let mine: Vec<i64> = chat_members::table
        .filter(chat_members::user_id.eq(auth.user_id))
        .filter(chat_members::chat_id.eq_any(&ids))
        .select(chat_members::chat_id)
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(chat, count)| PublicChat {
            is_member: mine.contains(&chat.id),
            members_count: count.unwrap_or(0),
            chat,
        })
        .collect())
}

/// `POST /chats/{id}/join`: joins a public group or channel as a member;
/// the other members hear `member_joined`. Joining a chat one is already in
/// changes nothing.
///
/// Errors: 404 `chat_not_found`; 403 `chat_not_public` (private, or not
/// public).
pub async fn join(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<ChatView> {
    let mut conn = ctx.db.get().await?;
    let event = crate::transaction!(conn, async |conn| {
        let chat = Chat::lock(conn, chat_id).await.map_err(or_chat_not_found)?;
        if !chat.is_public || chat.chat_type == ChatType::Private {
            return Err(AppError::forbidden(
                "chat_not_public",
                "This chat is not public: join it by invitation.",
            ));
        }
        if ChatMember::find(conn, chat_id, auth.user_id)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let (_, event) = insert_member(conn, chat_id, auth.user_id, MemberRole::Member).await?;
        Ok(Some(event))
    })?;
    if let Some(event) = event {
        live::publish_to_new_members(&ctx.bus, event, &[auth.user_id], true).await;
        tracing::info!(
            chat.id = chat_id,
            user.id = auth.user_id,
            "joined a public chat"
        );
    }
    read_chat(ctx, &mut conn, auth.user_id, chat_id).await
}
