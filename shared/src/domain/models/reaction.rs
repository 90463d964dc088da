//! Rows of `reactions`: one per user per emoji per message (seed 004 §8).

use std::collections::HashMap;

use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::events::ReactionCount;
use crate::infra::schema::{messages, reactions};

/// The reactions of messages (no row struct: reads are counts).
pub struct Reaction;

impl Reaction {
    /// Adds `user_id`'s `emoji` to the message, or takes it back when it
    /// is there; returns whether it is there now. Runs in the caller's
    /// transaction, under the chat's lock.
    pub async fn toggle(
        conn: &mut AsyncPgConnection,
        message_id: i64,
        user_id: i64,
        emoji: &str,
    ) -> QueryResult<bool> {
        let removed = diesel::delete(
            reactions::table
                .filter(reactions::message_id.eq(message_id))
                .filter(reactions::user_id.eq(user_id))
                .filter(reactions::emoji.eq(emoji)),
        )
        .execute(conn)
        .await?;
        if removed > 0 {
            return Ok(false);
        }
        diesel::insert_into(reactions::table)
            .values((
                reactions::message_id.eq(message_id),
                reactions::user_id.eq(user_id),
                reactions::emoji.eq(emoji),
            ))
            .execute(conn)
            .await?;
        Ok(true)
    }

    /// The reaction counts of each of `message_ids` that has any: the most
    /// used first, ties in the order they were first used.
    pub async fn counts(
        conn: &mut AsyncPgConnection,
        message_ids: &[i64],
    ) -> QueryResult<HashMap<i64, Vec<ReactionCount>>> {
        if message_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String, i64)> = reactions::table
            .filter(reactions::message_id.eq_any(message_ids))
            .group_by((reactions::message_id, reactions::emoji))
            .select((reactions::message_id, reactions::emoji, count_star()))
            .order_by((
                reactions::message_id,
                count_star().desc(),
                min(reactions::created_at),
                reactions::emoji,
            ))
            .load(conn)
            .await?;
        let mut counts: HashMap<i64, Vec<ReactionCount>> = HashMap::new();
        for (message_id, emoji, count) in rows {
            counts
                .entry(message_id)
                .or_default()
                .push(ReactionCount { emoji, count });
        }
        Ok(counts)
    }

    /// Who reacted to each of `message_ids` of `chat_id` after message
    /// `after_id`: per message, per emoji, the users in the order they
    /// reacted. Messages of other chats are left out.
    pub async fn reactors(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        after_id: i64,
        message_ids: &[i64],
    ) -> QueryResult<HashMap<i64, HashMap<String, Vec<i64>>>> {
        if message_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String, i64)> = reactions::table
            .inner_join(messages::table)
            .filter(reactions::message_id.eq_any(message_ids))
            .filter(messages::chat_id.eq(chat_id))
            .filter(messages::id.gt(after_id))
            .order_by((reactions::created_at, reactions::user_id))
            .select((reactions::message_id, reactions::emoji, reactions::user_id))
            .load(conn)
            .await?;
        let mut reactors: HashMap<i64, HashMap<String, Vec<i64>>> = HashMap::new();
        for (message_id, emoji, user_id) in rows {
            reactors
                .entry(message_id)
                .or_default()
                .entry(emoji)
                .or_default()
                .push(user_id);
        }
        Ok(reactors)
    }

    /// The emojis `user_id` reacted with on each of `message_ids`.
    pub async fn mine(
        conn: &mut AsyncPgConnection,
        message_ids: &[i64],
        user_id: i64,
    ) -> QueryResult<HashMap<i64, Vec<String>>> {
        if message_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, String)> = reactions::table
            .filter(reactions::message_id.eq_any(message_ids))
            .filter(reactions::user_id.eq(user_id))
            .select((reactions::message_id, reactions::emoji))
            .load(conn)
            .await?;
        let mut mine: HashMap<i64, Vec<String>> = HashMap::new();
        for (message_id, emoji) in rows {
            mine.entry(message_id).or_default().push(emoji);
        }
        Ok(mine)
    }
}
