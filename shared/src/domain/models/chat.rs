use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::events::{ChatSnapshot, MemberSnapshot};
use crate::domain::kinds::{ChatType, MemberRole};
use crate::domain::search_tokens::name_tokens;
use crate::infra::schema::{chat_members, chats, users};

pub use super::chat_list::{ChatListFilter, ChatListRow};

/// A row of `chats`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = chats, check_for_backend(diesel::pg::Pg))]
pub struct Chat {
    pub id: i64,
    pub public_id: String,
    pub chat_type: ChatType,
    pub title: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub handle: Option<String>,
    pub is_public: bool,
    pub private_key: Option<String>,
    pub created_by: Option<i64>,
    pub pinned_message_id: Option<i64>,
    pub last_seq: i64,
    pub last_activity_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when the chat was deleted for everyone; such a chat has no
    /// members and is not found by [`Chat::find`] / [`Chat::lock`].
    pub deleted_at: Option<DateTime<Utc>>,
    /// Chat setting: messages older than this many days are removed.
    pub retention_days: Option<i32>,
    /// Chat setting: members' read positions are shown to the others.
    pub read_receipts_enabled: bool,
}

/// A chat about to be inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = chats)]
pub struct NewChat<'a> {
    pub public_id: &'a str,
    pub chat_type: ChatType,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub handle: Option<&'a str>,
    pub is_public: bool,
    pub private_key: Option<&'a str>,
    pub created_by: Option<i64>,
}

/// A row of `chat_members`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = chat_members, check_for_backend(diesel::pg::Pg))]
pub struct ChatMember {
    pub id: i64,
    pub chat_id: i64,
    pub user_id: i64,
    pub role: MemberRole,
    pub nickname: Option<String>,
    pub last_read_message_id: i64,
    pub last_delivered_message_id: i64,
    pub cleared_before_message_id: i64,
    pub muted: bool,
    pub archived: bool,
    pub pinned: bool,
    pub joined_at: DateTime<Utc>,
    /// The seq of this member's latest `member_joined` (0: a member since
    /// the chat began).
    pub joined_seq: i64,
    /// Deleted "for me" (a private chat): out of the chat list until a
    /// message newer than the cleared history arrives.
    pub hidden: bool,
}

/// A member about to be inserted.
#[derive(Debug, Insertable)]
#[diesel(table_name = chat_members)]
pub struct NewChatMember {
    pub chat_id: i64,
    pub user_id: i64,
    pub role: MemberRole,
}

/// What [`Chat::update`] changes: `None` leaves a field as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = chats)]
pub struct ChatChanges<'a> {
    pub title: Option<&'a str>,
    pub description: Option<Option<&'a str>>,
    pub avatar_url: Option<Option<&'a str>>,
    pub pinned_message_id: Option<Option<i64>>,
    pub retention_days: Option<Option<i32>>,
    pub read_receipts_enabled: Option<bool>,
}

/// What [`ChatMember::update`] changes: `None` leaves a field as it is,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = chat_members)]
pub struct MemberChanges<'a> {
    pub role: Option<MemberRole>,
    pub nickname: Option<Option<&'a str>>,
    pub muted: Option<bool>,
    pub archived: Option<bool>,
    pub pinned: Option<bool>,
    pub hidden: Option<bool>,
}

impl Chat {
    /// The chat with `id`; `NotFound` if there is none (or it was
    /// deleted).
    pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Chat> {
        chats::table
            .find(id)
            .filter(chats::deleted_at.is_null())
            .select(Chat::as_select())
            .first(conn)
            .await
    }

    /// Locks the chat's row until commit (`FOR NO KEY UPDATE`) and returns
    /// it. Every transaction that changes a chat (its seq, members or
    /// messages) takes this lock first, so that locks are always taken in
    /// one order (the chat, then its members and messages) and changes of
    /// one chat are serialised (issue 6, items 2–3). `NotFound` if there is
    /// no such chat (or it was deleted).
    pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Chat> {
        chats::table
            .find(id)
            .filter(chats::deleted_at.is_null())
            .select(Chat::as_select())
            .for_no_key_update()
            .first(conn)
            .await
    }

    /// [`Chat::lock`] for several chats, in id order (so that two
    /// transactions locking overlapping sets cannot deadlock); chats that
    /// do not exist or were deleted are left out.
    pub async fn lock_many(mut conn: &AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Chat>> {
        chats::table
            .filter(chats::id.eq_any(ids))
            .filter(chats::deleted_at.is_null())
            .order(chats::id)
            .select(Chat::as_select())
            .for_no_key_update()
            .load(&mut conn)
            .await
    }

    /// Sets each `(chat, last_seq)` and moves the chats to the top of
    /// their members' lists, in one statement; the chats must be locked
    /// ([`Chat::lock_many`]).
    pub async fn set_last_seqs(
        mut conn: &AsyncPgConnection,
        seqs: &[(i64, i64)],
    ) -> QueryResult<()> {
        let (ids, last_seqs): (Vec<i64>, Vec<i64>) = seqs.iter().copied().unzip();
        // One prepared statement for any number of chats.
        crate::infra::db::CachedSql(
            "UPDATE chats SET last_seq = v.last_seq, updated_at = now(), last_activity_at = now() \
             FROM unnest($1::bigint[], $2::bigint[]) AS v(id, last_seq) WHERE chats.id = v.id",
        )
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
        .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&last_seqs)
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    /// The chat as a domain event carries it, with its members.
    pub fn snapshot(&self, member_ids: Vec<i64>) -> ChatSnapshot {
        ChatSnapshot {
            id: self.id,
            public_id: self.public_id.clone(),
            chat_type: self.chat_type,
            title: self.title.clone(),
            description: self.description.clone(),
            avatar_url: self.avatar_url.clone(),
            handle: self.handle.clone(),
            is_public: self.is_public,
            created_by: self.created_by,
            member_ids,
            created_at: self.created_at,
            retention_days: self.retention_days,
            read_receipts_enabled: self.read_receipts_enabled,
        }
    }

    /// Applies `changes` (at least one field set) and returns the chat; a
    /// new title is searchable at once (its tokens written with it).
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: i64,
        changes: &ChatChanges<'_>,
    ) -> QueryResult<Chat> {
        let chat = diesel::update(chats::table.find(id))
            .set((changes, chats::updated_at.eq(diesel::dsl::now)))
            .returning(Chat::as_returning())
            .get_result(conn)
            .await?;
        if changes.title.is_some() {
            let tokens = name_tokens(&[chat.title.as_deref(), chat.handle.as_deref()]);
            diesel::update(chats::table.find(id))
                .set(chats::search_tokens.eq(tokens))
                .execute(conn)
                .await?;
        }
        Ok(chat)
    }

    /// The chat's current `last_seq`.
    pub async fn last_seq(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<i64> {
        chats::table
            .find(id)
            .select(chats::last_seq)
            .first(conn)
            .await
    }

    /// The private chat of a pair, by its `private_key`.
    pub async fn find_private(
        conn: &mut AsyncPgConnection,
        private_key: &str,
    ) -> QueryResult<Option<Chat>> {
        chats::table
            .filter(chats::private_key.eq(private_key))
            .select(Chat::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Inserts a chat (with its search tokens); for a private chat whose
    /// pair already has one, inserts nothing and returns `None`.
    pub async fn insert(
        conn: &mut AsyncPgConnection,
        new: NewChat<'_>,
    ) -> QueryResult<Option<Chat>> {
        let tokens = name_tokens(&[new.title, new.handle]);
        diesel::insert_into(chats::table)
            .values((new, chats::search_tokens.eq(tokens)))
            .on_conflict_do_nothing()
            .returning(Chat::as_returning())
            .get_result(conn)
            .await
            .optional()
    }
}

impl ChatMember {
    /// One member of a chat with their name and username.
    pub async fn with_user(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<(ChatMember, String, String)> {
        chat_members::table
            .inner_join(users::table)
            .filter(chat_members::chat_id.eq(chat_id))
            .filter(chat_members::user_id.eq(user_id))
            .select((ChatMember::as_select(), users::name, users::username))
            .first(conn)
            .await
    }

    /// The membership as a domain event carries it, with the member's
    /// `name` and `username`.
    pub fn snapshot(&self, name: String, username: String) -> MemberSnapshot {
        MemberSnapshot {
            id: self.id,
            user_id: self.user_id,
            role: self.role,
            joined_at: self.joined_at,
            name,
            username,
            nickname: self.nickname.clone(),
        }
    }

    /// The membership of `user_id` in `chat_id`, if any.
    pub async fn find(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<Option<ChatMember>> {
        chat_members::table
            .filter(chat_members::chat_id.eq(chat_id))
            .filter(chat_members::user_id.eq(user_id))
            .select(ChatMember::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The memberships of any of `user_ids` in any of `chat_ids`.
    pub async fn of_users(
        mut conn: &AsyncPgConnection,
        chat_ids: &[i64],
        user_ids: &[i64],
    ) -> QueryResult<Vec<ChatMember>> {
        chat_members::table
            .filter(chat_members::chat_id.eq_any(chat_ids))
            .filter(chat_members::user_id.eq_any(user_ids))
            .select(ChatMember::as_select())
            .load(&mut conn)
            .await
    }

    /// Brings a chat the member deleted "for me" back into their list.
    pub async fn unhide(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<()> {
        diesel::update(
            chat_members::table
                .filter(chat_members::chat_id.eq(chat_id))
                .filter(chat_members::user_id.eq(user_id))
                .filter(chat_members::hidden),
        )
        .set(chat_members::hidden.eq(false))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Removes a membership; returns whether there was one.
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<bool> {
        let n = diesel::delete(
            chat_members::table
                .filter(chat_members::chat_id.eq(chat_id))
                .filter(chat_members::user_id.eq(user_id)),
        )
        .execute(conn)
        .await?;
        Ok(n > 0)
    }

    /// Records the seq of a member's `member_joined` (see
    /// [`ChatMember::joined_seq`]).
    pub async fn set_joined_seq(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
        seq: i64,
    ) -> QueryResult<()> {
        diesel::update(
            chat_members::table
                .filter(chat_members::chat_id.eq(chat_id))
                .filter(chat_members::user_id.eq(user_id)),
        )
        .set(chat_members::joined_seq.eq(seq))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Applies `changes` (at least one field set) to the membership of
    /// `user_id`; `NotFound` if they are not a member.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
        changes: &MemberChanges<'_>,
    ) -> QueryResult<ChatMember> {
        diesel::update(
            chat_members::table
                .filter(chat_members::chat_id.eq(chat_id))
                .filter(chat_members::user_id.eq(user_id)),
        )
        .set(changes)
        .returning(ChatMember::as_returning())
        .get_result(conn)
        .await
    }

    /// Hides every message of the chat up to now from `user_id` (clear
    /// history): `cleared_before_message_id` moves up to the chat's newest
    /// message, never back.
    pub async fn clear_history(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<()> {
        use crate::infra::schema::messages;
        let newest: Option<i64> = messages::table
            .filter(messages::chat_id.eq(chat_id))
            .select(diesel::dsl::max(messages::id))
            .first(conn)
            .await?;
        diesel::update(
            chat_members::table
                .filter(chat_members::chat_id.eq(chat_id))
                .filter(chat_members::user_id.eq(user_id))
                .filter(chat_members::cleared_before_message_id.lt(newest.unwrap_or(0))),
        )
        .set(chat_members::cleared_before_message_id.eq(newest.unwrap_or(0)))
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Sets a member's role.
    pub async fn set_role(
        conn: &mut AsyncPgConnection,
        id: i64,
        role: MemberRole,
    ) -> QueryResult<()> {
        diesel::update(chat_members::table.find(id))
            .set(chat_members::role.eq(role))
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The longest-standing member other than `user_id`, admins first: who
    /// inherits a group when its owner leaves.
    pub async fn successor(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<Option<ChatMember>> {
        chat_members::table
            .filter(chat_members::chat_id.eq(chat_id))
            .filter(chat_members::user_id.ne(user_id))
            .order((
                chat_members::role.eq(MemberRole::Admin).desc(),
                chat_members::id.asc(),
            ))
            .select(ChatMember::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Inserts members.
    pub async fn insert_all(
        conn: &mut AsyncPgConnection,
        members: &[NewChatMember],
    ) -> QueryResult<()> {
        diesel::insert_into(chat_members::table)
            .values(members)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// The user ids of a chat's members, in joining order.
    pub async fn user_ids(conn: &mut AsyncPgConnection, chat_id: i64) -> QueryResult<Vec<i64>> {
        chat_members::table
            .filter(chat_members::chat_id.eq(chat_id))
            .order(chat_members::id.asc())
            .select(chat_members::user_id)
            .load(conn)
            .await
    }

    /// A chat's members with their names, in joining order.
    pub async fn with_users(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
    ) -> QueryResult<Vec<(ChatMember, String, String)>> {
        chat_members::table
            .inner_join(users::table)
            .filter(chat_members::chat_id.eq(chat_id))
            .order(chat_members::id.asc())
            .select((ChatMember::as_select(), users::name, users::username))
            .load(conn)
            .await
    }

    /// Every chat `user_id` belongs to, with the chat's current `last_seq`:
    /// where a new socket starts.
    pub async fn chats_of_user(
        conn: &mut AsyncPgConnection,
        user_id: i64,
    ) -> QueryResult<Vec<(i64, i64)>> {
        chat_members::table
            .inner_join(chats::table)
            .filter(chat_members::user_id.eq(user_id))
            .select((chats::id, chats::last_seq))
            .load(conn)
            .await
    }

    /// The furthest read and delivered positions among members other than `user_id`.
    pub async fn others_positions(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
        user_id: i64,
    ) -> QueryResult<(i64, i64)> {
        use diesel::dsl::max;
        // With read receipts off (a chat setting) nobody's reading shows.
        let (read, delivered): (Option<i64>, Option<i64>) = chat_members::table
            .inner_join(chats::table)
            .filter(chat_members::chat_id.eq(chat_id))
            .filter(chat_members::user_id.ne(user_id))
            .select((
                max(diesel::dsl::case_when(
                    chats::read_receipts_enabled,
                    chat_members::last_read_message_id,
                )
                .otherwise(0i64)),
                max(chat_members::last_delivered_message_id),
            ))
            .first(conn)
            .await?;
        Ok((read.unwrap_or(0), delivered.unwrap_or(0)))
    }

    /// Each member's read position in `chat_id`, in joining order:
    /// `(user_id, last_read_message_id, that message's created_at)`; the
    /// time is `None` before anything was read (or once that message is
    /// gone).
    pub async fn read_positions(
        conn: &mut AsyncPgConnection,
        chat_id: i64,
    ) -> QueryResult<Vec<(i64, i64, Option<DateTime<Utc>>)>> {
        use crate::infra::schema::messages;
        chat_members::table
            .left_join(messages::table.on(messages::id.eq(chat_members::last_read_message_id)))
            .filter(chat_members::chat_id.eq(chat_id))
            .order(chat_members::id)
            .select((
                chat_members::user_id,
                chat_members::last_read_message_id,
                messages::created_at.nullable(),
            ))
            .load(conn)
            .await
    }
}
