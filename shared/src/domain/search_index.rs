//! Keeping search in step with the messages (issue 10). On PostgreSQL the
//! tokens are written with each message, so only `parley-admin reindex`
//! lives here ([`reindex_batch`], [`reindex_names`]). With Meilisearch the
//! worker's indexing job ([`run_indexing`]) follows each chat's event log
//! from a high-water mark (`search_marks.indexed_seq`): every message an
//! event after the mark names (created, edited, deleted, reacted to) is
//! written to the index again or removed, in one batch per chat, then the
//! mark moves on. A crash, a Meilisearch outage or a stopped worker leaves
//! the mark behind, and the next pass takes up from there, so the index
//! converges without a full rebuild; sends never wait for the index. A
//! chat whose log was pruned past its mark is indexed whole again.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::domain::context::AppContext;
use crate::domain::search_tokens::{document_tokens, name_tokens};
use crate::infra::meili::{MeiliIndex, MessageDoc};
use crate::infra::schema::{chat_events, chats, messages, search_marks};

/// Rows written per transaction by [`reindex_batch`] and
/// [`reindex_names`], and documents per Meilisearch batch.
pub const REINDEX_BATCH: i64 = 1000;

/// Chats one indexing pass takes.
pub const CHATS_PER_PASS: i64 = 200;

/// Events of one chat one pass takes: no more messages than
/// [`documents`] reads at once.
const EVENTS_PER_CHAT: i64 = REINDEX_BATCH;

/// The worker's search indexing job: every `SEARCH_INDEX_INTERVAL_MS`
/// (at once again after a busy pass), indexes the chats whose log moved
/// past their mark. Applies the index settings first (retried until
/// Meilisearch answers). Returns at once without `MEILISEARCH_URL`.
pub async fn run_indexing(ctx: AppContext) {
    let Some(meili) = ctx.meili.clone() else {
        return;
    };
    let interval = Duration::from_millis(ctx.settings.search.index_interval_ms.max(10));
    while let Err(err) = meili.apply_settings().await {
        tracing::warn!(error = %err, "Meilisearch not ready; retrying");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    loop {
        match index_pass(&ctx, &meili).await {
            Ok(chats) if chats as i64 >= CHATS_PER_PASS => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(error = format!("{err:#}"), "search indexing pass failed"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// One pass: indexes up to [`CHATS_PER_PASS`] chats whose `last_seq` is
/// past their mark (a chat another worker holds is skipped); returns how
/// many it looked at.
///
/// Errors: the database or Meilisearch failed (marks stay where they were).
pub async fn index_pass(ctx: &AppContext, meili: &MeiliIndex) -> anyhow::Result<usize> {
    let mut conn = ctx.db.get().await?;
    let behind: Vec<i64> = chats::table
        .left_join(search_marks::table)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "chats.last_seq > COALESCE(search_marks.indexed_seq, 0)",
        ))
        .order(chats::id.asc())
        .limit(CHATS_PER_PASS)
        .select(chats::id)
        .load(&mut conn)
        .await?;
    for chat_id in &behind {
        index_chat(&mut conn, meili, *chat_id).await?;
    }
    Ok(behind.len())
}

/// Brings one chat's documents up to its log (one batch of events), in a
/// transaction that holds the chat's mark.
async fn index_chat(
    conn: &mut AsyncPgConnection,
    meili: &MeiliIndex,
    chat_id: i64,
) -> anyhow::Result<()> {
    diesel::insert_into(search_marks::table)
        .values(search_marks::chat_id.eq(chat_id))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        let Some(mark) = search_marks::table
            .find(chat_id)
            .select(search_marks::indexed_seq)
            .for_update()
            .skip_locked()
            .first::<i64>(conn)
            .await
            .optional()?
        else {
            return Ok(()); // another worker has it
        };
        let (last_seq, deleted): (i64, bool) = chats::table
            .find(chat_id)
            .select((chats::last_seq, chats::deleted_at.is_not_null()))
            .first(conn)
            .await?;
        let events: Vec<(i64, Option<i64>)> = chat_events::table
            .filter(chat_events::chat_id.eq(chat_id))
            .filter(chat_events::seq.gt(mark))
            .order(chat_events::seq.asc())
            .limit(EVENTS_PER_CHAT)
            .select((chat_events::seq, chat_events::message_id))
            .load(conn)
            .await?;
        let new_mark = if deleted {
            meili.remove_chat(chat_id).await?;
            last_seq
        } else if <[_]>::first(&events).map(|(seq, _)| *seq) != Some(mark + 1) {
            // The log no longer holds what came after the mark.
            index_whole_chat(conn, meili, chat_id).await?;
            last_seq
        } else {
            let ids: BTreeSet<i64> = events.iter().filter_map(|(_, id)| *id).collect();
            let ids: Vec<i64> = ids.into_iter().collect();
            let docs = documents(conn, Which::Ids(&ids)).await?;
            let kept: BTreeSet<i64> = docs.iter().map(|d| d.id).collect();
            let gone: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| !kept.contains(id))
                .collect();
            meili.upsert(&docs).await?;
            meili.remove(&gone).await?;
            events.last().map_or(mark, |(seq, _)| *seq)
        };
        diesel::update(search_marks::table.find(chat_id))
            .set((
                search_marks::indexed_seq.eq(new_mark),
                search_marks::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// Removes a chat's documents and adds every message it has now. The mark
/// is set by the caller to the `last_seq` read before, so a change made
/// meanwhile is indexed again on the next pass.
async fn index_whole_chat(
    conn: &mut AsyncPgConnection,
    meili: &MeiliIndex,
    chat_id: i64,
) -> anyhow::Result<()> {
    meili.remove_chat(chat_id).await?;
    let mut after = 0;
    loop {
        let docs = documents(conn, Which::ChatAfter(chat_id, after)).await?;
        let Some(last) = docs.last() else { break };
        after = last.id;
        meili.upsert(&docs).await?;
    }
    Ok(())
}

/// Which messages [`documents`] reads.
enum Which<'a> {
    Ids(&'a [i64]),
    /// A chat's messages after this id.
    ChatAfter(i64, i64),
}

/// The documents of the messages `which` names that search may find: not
/// deleted for everyone, with text; by id, at most [`REINDEX_BATCH`].
async fn documents(
    conn: &mut AsyncPgConnection,
    which: Which<'_>,
) -> anyhow::Result<Vec<MessageDoc>> {
    let mut query = messages::table.into_boxed();
    query = match which {
        Which::Ids(ids) => query.filter(messages::id.eq_any(ids)),
        Which::ChatAfter(chat_id, after) => query
            .filter(messages::chat_id.eq(chat_id))
            .filter(messages::id.gt(after)),
    };
    let rows: Vec<(i64, i64, String, chrono::DateTime<chrono::Utc>)> = query
        .filter(messages::deleted_at.is_null())
        .filter(messages::text.ne(""))
        .order(messages::id.asc())
        .limit(REINDEX_BATCH)
        .select((
            messages::id,
            messages::chat_id,
            messages::text,
            messages::created_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, chat_id, text, created_at)| MessageDoc {
            id,
            chat_id,
            text,
            created_at: created_at.timestamp(),
        })
        .collect())
}

/// How many chats [`rebuild_index`] goes through (for a progress bar).
///
/// Errors: the database failed.
pub async fn rebuild_total(ctx: &AppContext) -> anyhow::Result<i64> {
    let mut conn = ctx.db.get().await?;
    Ok(chats::table
        .filter(chats::deleted_at.is_null())
        .count()
        .get_result(&mut conn)
        .await?)
}

/// `parley-admin reindex` with Meilisearch: applies the settings, empties
/// the index, then adds every chat's messages from PostgreSQL, calling
/// `progress` after each chat; each chat's mark is its `last_seq` from
/// before its messages were read, so the worker indexes what changed
/// during the rebuild.
///
/// Errors: the database or Meilisearch failed (run it again).
pub async fn rebuild_index(
    ctx: &AppContext,
    meili: &MeiliIndex,
    progress: impl Fn(),
) -> anyhow::Result<()> {
    meili.apply_settings().await?;
    meili.clear().await?;
    let mut conn = ctx.db.get().await?;
    let mut after = 0;
    loop {
        let batch: Vec<(i64, i64)> = chats::table
            .filter(chats::id.gt(after))
            .filter(chats::deleted_at.is_null())
            .order(chats::id.asc())
            .limit(REINDEX_BATCH)
            .select((chats::id, chats::last_seq))
            .load(&mut conn)
            .await?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        for (chat_id, last_seq) in batch {
            index_whole_chat(&mut conn, meili, chat_id).await?;
            diesel::insert_into(search_marks::table)
                .values((
                    search_marks::chat_id.eq(chat_id),
                    search_marks::indexed_seq.eq(last_seq),
                ))
                .on_conflict(search_marks::chat_id)
                .do_update()
                .set((
                    search_marks::indexed_seq.eq(last_seq),
                    search_marks::updated_at.eq(diesel::dsl::now),
                ))
                .execute(&mut conn)
                .await?;
            progress();
        }
    }
    Ok(())
}

/// Writes the search tokens of up to [`REINDEX_BATCH`] messages with ids
/// above `after_id` (not deleted for everyone), in one transaction;
/// returns the last id it took and how many (`None`: nothing left). What
/// `parley-admin reindex` runs over the whole table: messages sent before
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
        // One statement for the batch: each row's tokens travel joined by
        // spaces (a token never holds one) and are split again in SQL.
        let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        let tokens: Vec<String> = rows
            .iter()
            .map(|(_, text)| document_tokens(text).join(" "))
            .collect();
        diesel::sql_query(
            "UPDATE messages m SET search_tokens = string_to_array(v.tokens, ' ') \
             FROM unnest($1::bigint[], $2::text[]) AS v(id, tokens) WHERE m.id = v.id",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&tokens)
        .execute(conn)
        .await?;
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
