//! Catch-up from the per-chat event log (ARCHITECTURE §2, API.md):
//! `GET /chats/{id}/events?after_seq=`, `GET /updates?since=`, and the
//! socket's `resume` all read the log through [`read_events`].
//!
//! A message hidden for the reader (delete-for-me, or before the point where
//! they cleared the chat's history) is not replayed: its events are
//! replaced by a `message_hidden` stub with the same `seq`, so the reader's
//! seqs stay contiguous and a real gap is always a gap. A message deleted
//! for everyone was redacted in the log when it was deleted
//! ([`crate::domain::models::event::redact_message`]). When the log no longer
//! reaches back to the reader's position (retention), the answer is
//! `resync_required`, never a silent gap.
//!
//! The reader's own `member_left` (or the chat's `chat_deleted`) ends a
//! replay; a `member_left` does not if they joined again
//! later: then the replay skips from that leave to their new
//! `member_joined` (what happened while they were out is not theirs to see)
//! and goes on (issue 6, item 5).

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::domain::caller::AuthContext;
use crate::domain::chats::require_member;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::{
    ChatEvents, ChatUpdates, LoggedEvent, ReplayItem, StoredEvent, Updates,
};
use crate::domain::models::{ChatEventRow, ChatMember, EventKind};
use crate::domain::validate;
use crate::infra::schema::{chat_members, chats, message_hidden};

/// What the log holds after a reader's position.
#[derive(Debug, Clone, Default)]
pub struct EventSlice {
    /// `(seq, item)` in seq order.
    pub events: Vec<(i64, ReplayItem)>,
    /// The log no longer reaches back to the position: reload the chat.
    pub resync_required: bool,
    /// The seq the reader stands at after these events.
    pub reached_seq: i64,
    /// More events follow (the slice hit its limit).
    pub has_more: bool,
    /// The slice ends with the reader's own `member_left` and they did not
    /// join again: nothing after it is theirs to see.
    pub left: bool,
}

/// Where a chat stands, and the reader's marks in it that a replay needs:
/// where they cleared its history and when they last joined (`None` for a
/// reader who is not, or no longer, a member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayMarks {
    pub last_seq: i64,
    pub cleared_before: i64,
    pub joined_seq: Option<i64>,
}

impl ReplayMarks {
    /// The marks of `user_id` in `chat_id`, in one (prepared, cached) query.
    /// `NotFound` if there is no such chat.
    pub async fn load(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<ReplayMarks> {
        let (last_seq, cleared, joined): (i64, Option<i64>, Option<i64>) = chats::table
            .left_join(
                chat_members::table.on(chat_members::chat_id
                    .eq(chats::id)
                    .and(chat_members::user_id.eq(user_id))),
            )
            .filter(chats::id.eq(chat_id))
            .select((
                chats::last_seq,
                chat_members::cleared_before_message_id.nullable(),
                chat_members::joined_seq.nullable(),
            ))
            .first(conn)
            .await?;
        Ok(ReplayMarks {
            last_seq,
            cleared_before: cleared.unwrap_or(0),
            joined_seq: joined,
        })
    }

    /// The marks of a member whose row the caller already holds.
    pub fn of_member(last_seq: i64, member: &ChatMember) -> ReplayMarks {
        ReplayMarks {
            last_seq,
            cleared_before: member.cleared_before_message_id,
            joined_seq: Some(member.joined_seq),
        }
    }
}

/// The logged events of `chat_id` with `after_seq < seq <= up_to_seq`, in
/// order: what a replica reads once to fill a gap in a chat's live events
/// for all its sockets (they are the events each follower would have
/// received live). `None` when the range is not whole in the log
/// (retention) or holds a row written before versioned events: then each
/// socket catches up on its own, through [`read_events`].
pub async fn logged_range(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    after_seq: i64,
    up_to_seq: i64,
) -> AppResult<Option<Vec<LoggedEvent>>> {
    let count = up_to_seq - after_seq;
    if count <= 0 {
        return Ok(Some(Vec::new()));
    }
    let rows = ChatEventRow::range(conn, chat_id, after_seq, Some(up_to_seq), count).await?;
    if rows.len() as i64 != count {
        return Ok(None);
    }
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        match StoredEvent::read(row.payload) {
            StoredEvent::V1(event) => events.push(event),
            StoredEvent::Legacy(_) => return Ok(None),
        }
    }
    Ok(Some(events))
}

/// Reads up to `limit` events of `chat_id` after `after_seq` (and up to
/// `up_to`, when given) as `user_id` may see them. `chat_last_seq` is the
/// chat's current `last_seq`.
pub async fn read_events(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    chat_id: i64,
    after_seq: i64,
    up_to: Option<i64>,
    marks: ReplayMarks,
    limit: i64,
) -> QueryResult<EventSlice> {
    let chat_last_seq = marks.last_seq;
    let target = up_to.map_or(chat_last_seq, |u| u.min(chat_last_seq));
    if after_seq > chat_last_seq {
        // The reader claims a position the chat never reached.
        return Ok(EventSlice {
            resync_required: true,
            reached_seq: chat_last_seq,
            ..EventSlice::default()
        });
    }
    if after_seq >= target {
        return Ok(EventSlice {
            reached_seq: after_seq,
            ..EventSlice::default()
        });
    }
    let mut rows = ChatEventRow::range(conn, chat_id, after_seq, Some(target), limit).await?;
    let own_leave = rows.iter().position(|r| {
        matches!(r.event_type, EventKind::MemberLeft | EventKind::ChatDeleted)
            && r.stored().ends_membership_of(user_id)
    });
    // Where the reader stands after a leave they later undid by joining again.
    let mut rejoined_at = None;
    if let Some(i) = own_leave {
        rejoined_at = marks.joined_seq.filter(|joined| *joined > rows[i].seq);
        rows.truncate(i + 1);
    }
    if rows.as_slice().first().map(|r| r.seq) != Some(after_seq + 1) {
        return Ok(EventSlice {
            resync_required: true,
            reached_seq: chat_last_seq,
            ..EventSlice::default()
        });
    }
    let cleared_before = marks.cleared_before;
    let message_ids: Vec<i64> = rows.iter().filter_map(|r| r.message_id).collect();
    // Hidden messages count for a reader who just left too (the replay up
    // to their leave).
    let hidden: HashSet<i64> = if message_ids.is_empty() {
        HashSet::new()
    } else {
        message_hidden::table
            .filter(message_hidden::user_id.eq(user_id))
            .filter(message_hidden::message_id.eq_any(&message_ids))
            .select(message_hidden::message_id)
            .load::<i64>(conn)
            .await?
            .into_iter()
            .collect()
    };
    // After a leave undone by a re-join, the next event is the re-join.
    let reached_seq = match rejoined_at {
        Some(joined) => joined - 1,
        None => rows.as_slice().last().map_or(after_seq, |r| r.seq),
    };
    let left = own_leave.is_some() && rejoined_at.is_none();
    let events = rows
        .into_iter()
        .map(|row| {
            let item = match row.message_id {
                Some(id)
                    if (hidden.contains(&id) || id <= cleared_before)
                        && row.event_type != EventKind::MessageDeleted =>
                {
                    ReplayItem::Hidden {
                        chat_id: row.chat_id,
                        seq: row.seq,
                        message_id: id,
                    }
                }
                _ => ReplayItem::Event(StoredEvent::read(row.payload)),
            };
            (row.seq, item)
        })
        .collect();
    Ok(EventSlice {
        events,
        resync_required: false,
        reached_seq,
        has_more: !left && reached_seq < target,
        left,
    })
}

/// Query of `GET /chats/{id}/events`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatEventsQuery {
    #[serde(default)]
    pub after_seq: i64,
    pub limit: Option<i64>,
}

fn items(events: Vec<(i64, ReplayItem)>) -> Vec<ReplayItem> {
    events.into_iter().map(|(_, item)| item).collect()
}

/// `GET /chats/{id}/events?after_seq=N&limit=`: the chat's events after `N`,
/// in order (limit 1..=1000, default 100).
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`; 422 for a bad limit or
/// a negative `after_seq`.
pub async fn chat_events(
    ctx: &AppContext,
    auth: &AuthContext,
    chat_id: i64,
    query: ChatEventsQuery,
) -> AppResult<ChatEvents> {
    let limit = validate::limit(query.limit, 100, 1000)?;
    if query.after_seq < 0 {
        return Err(AppError::validation(
            "after_seq",
            "after_seq must be 0 or more.",
        ));
    }
    let mut conn = ctx.db.get().await?;
    let (chat, member) = require_member(&mut conn, chat_id, auth.user_id).await?;
    let slice = read_events(
        &mut conn,
        auth.user_id,
        chat_id,
        query.after_seq,
        None,
        ReplayMarks::of_member(chat.last_seq, &member),
        limit,
    )
    .await?;
    Ok(ChatEvents {
        chat_id,
        events: items(slice.events),
        next_after_seq: slice.reached_seq,
        last_seq: chat.last_seq,
        has_more: slice.has_more,
        resync_required: slice.resync_required,
    })
}

/// The position of a client across all its chats: what an updates token
/// encodes (`chat id -> last seq seen`), opaque to clients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatesToken {
    #[serde(rename = "v")]
    pub version: u8,
    #[serde(rename = "s")]
    pub seqs: BTreeMap<i64, i64>,
}

impl UpdatesToken {
    /// The opaque string form (URL-safe base64 of JSON).
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses a token; `None` if it is not one of ours.
    pub fn decode(token: &str) -> Option<UpdatesToken> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Query of `GET /updates`.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UpdatesQuery {
    pub since: Option<String>,
    /// Events per chat, 1..=1000 (default 100).
    pub limit: Option<i64>,
}

/// `GET /updates?since=<token>`: for every chat of the caller, the events
/// since the token. Without `since`, no events and the current token.
/// A chat that is new to the token is replayed from its start when the log
/// still holds it, else marked `resync_required`.
///
/// Errors: 422 `invalid_token` for a token that is not one of ours.
pub async fn updates(
    ctx: &AppContext,
    auth: &AuthContext,
    query: UpdatesQuery,
) -> AppResult<Updates> {
    let limit = validate::limit(query.limit, 100, 1000)?;
    let since = match query.since.as_deref() {
        None | Some("") => None,
        Some(token) => Some(
            UpdatesToken::decode(token).ok_or_else(|| AppError::Validation {
                field: "since".into(),
                code: "invalid_token",
                detail: "since is not a token from this server.".into(),
            })?,
        ),
    };
    let mut conn = ctx.db.get().await?;
    let chats = ChatMember::chats_of_user(&mut conn, auth.user_id).await?;
    let mut next = UpdatesToken {
        version: 1,
        seqs: BTreeMap::new(),
    };
    let mut changed = Vec::new();
    let mut has_more = false;
    for (chat_id, last_seq) in chats {
        let Some(since) = &since else {
            next.seqs.insert(chat_id, last_seq);
            continue;
        };
        let from = since.seqs.get(&chat_id).copied().unwrap_or(0);
        if from == last_seq {
            next.seqs.insert(chat_id, last_seq);
            continue;
        }
        let marks = ReplayMarks::load(&mut conn, chat_id, auth.user_id).await?;
        let slice = read_events(&mut conn, auth.user_id, chat_id, from, None, marks, limit).await?;
        has_more |= slice.has_more;
        next.seqs.insert(chat_id, slice.reached_seq);
        changed.push(ChatUpdates {
            chat_id,
            events: items(slice.events),
            last_seq,
            has_more: slice.has_more,
            resync_required: slice.resync_required,
        });
    }
    let left_chat_ids = since
        .map(|since| {
            since
                .seqs
                .keys()
                .filter(|chat| !next.seqs.contains_key(chat))
                .copied()
                .collect()
        })
        .unwrap_or_default();
    Ok(Updates {
        chats: changed,
        left_chat_ids,
        token: next.encode(),
        has_more,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let token = UpdatesToken {
            version: 1,
            seqs: BTreeMap::from([(1, 10), (7, 3)]),
        };
        assert_eq!(UpdatesToken::decode(&token.encode()), Some(token));
        assert_eq!(UpdatesToken::decode("not a token"), None);
        assert_eq!(
            UpdatesToken::decode(&URL_SAFE_NO_PAD.encode(b"[1,2]")),
            None
        );
    }
}
