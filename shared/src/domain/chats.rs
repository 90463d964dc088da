//! Chats (seed 004 §7, first part): create private and group chats, list
//! them, read one. Each change is one transaction that also appends to the
//! chat's event log; events are published after commit.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::Rng;

use crate::domain::blocks;
use crate::domain::caller::AuthContext;
use crate::domain::chat_list::load_chat_views;
pub(crate) use crate::domain::chat_list::read_chat;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::DomainEvent;
use crate::domain::events::LoggedEvent;
use crate::domain::live;
use crate::domain::models::chat::{ChatListFilter, NewChat, NewChatMember};
use crate::domain::models::{Chat, ChatMember, ChatType, MemberRole, User, event};
use crate::domain::users;
use crate::domain::validate;
use crate::domain::views::{ChatDetail, ChatView};

/// Query of `GET /chats` (seed 004 §7).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListChatsQuery {
    pub limit: Option<i64>,
    pub before_id: Option<i64>,
    pub query: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

/// `ChatCreateRequest` (seed 004 §3.3): what [`create_chat`] takes.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct ChatCreateRequest {
    #[serde(rename = "type")]
    pub chat_type: ChatType,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub is_public: bool,
    #[serde(default)]
    pub member_ids: Vec<i64>,
}

/// The chat and the caller's membership, or the error an outsider gets:
/// 404 `chat_not_found` when there is no such chat, 403 `not_a_member` when
/// the caller is not in it.
pub async fn require_member(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
) -> AppResult<(Chat, ChatMember)> {
    let chat = Chat::find(conn, chat_id).await.map_err(or_chat_not_found)?;
    let member = ChatMember::find(conn, chat_id, user_id)
        .await?
        .ok_or_else(AppError::not_a_member)?;
    Ok((chat, member))
}

/// [`require_member`] for a transaction that changes the chat: locks the
/// chat's row first ([`Chat::lock`]), then reads the membership as it is
/// under that lock, so that concurrent changes of one chat see each other.
///
/// Errors: as [`require_member`].
pub async fn require_member_locked(
    conn: &mut AsyncPgConnection,
    chat_id: i64,
    user_id: i64,
) -> AppResult<(Chat, ChatMember)> {
    let chat = Chat::lock(conn, chat_id).await.map_err(or_chat_not_found)?;
    let member = ChatMember::find(conn, chat_id, user_id)
        .await?
        .ok_or_else(AppError::not_a_member)?;
    Ok((chat, member))
}

/// `NotFound` of a chat as 404 `chat_not_found`; other errors as they are.
pub(crate) fn or_chat_not_found(err: diesel::result::Error) -> AppError {
    match err {
        diesel::result::Error::NotFound => chat_not_found(),
        other => other.into(),
    }
}

/// 404 `chat_not_found`.
pub(crate) fn chat_not_found() -> AppError {
    AppError::not_found("chat_not_found", "This chat does not exist.")
}

fn random_public_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The validated shape of a create request.
enum NewChatSpec {
    Private {
        other: i64,
    },
    Group {
        chat_type: ChatType,
        title: String,
        description: Option<String>,
        handle: Option<String>,
        is_public: bool,
        member_ids: Vec<i64>,
    },
}

fn validate_create(me: i64, req: ChatCreateRequest) -> AppResult<NewChatSpec> {
    match req.chat_type {
        ChatType::Private => {
            if req.is_public {
                return Err(AppError::validation(
                    "is_public",
                    "A private chat cannot be public.",
                ));
            }
            match req.member_ids.as_slice() {
                [other] if *other != me => Ok(NewChatSpec::Private { other: *other }),
                [_] => Err(AppError::validation(
                    "member_ids",
                    "A private chat needs another user.",
                )),
                _ => Err(AppError::validation(
                    "member_ids",
                    "A private chat needs exactly one other member.",
                )),
            }
        }
        chat_type @ (ChatType::Group | ChatType::Channel) => {
            let title = validate::text_field("title", req.title.as_deref().unwrap_or(""), 1, 128)?;
            let description = req
                .description
                .as_deref()
                .map(|d| validate::text_field("description", d, 0, 1024))
                .transpose()?
                .filter(|d| !d.is_empty());
            let handle = req
                .handle
                .as_deref()
                .filter(|h| !h.trim().is_empty())
                .map(|h| {
                    validate::username(h).map_err(|_| {
                        AppError::validation(
                            "handle",
                            "handle must be 3 to 32 letters, digits or underscores.",
                        )
                    })
                })
                .transpose()?;
            if req.is_public && handle.is_none() {
                return Err(AppError::validation(
                    "handle",
                    "A public chat needs a handle.",
                ));
            }
            let mut member_ids: Vec<i64> =
                req.member_ids.into_iter().filter(|id| *id != me).collect();
            member_ids.sort_unstable();
            member_ids.dedup();
            if member_ids.len() > 1000 {
                return Err(AppError::validation(
                    "member_ids",
                    "At most 1000 members can be added at creation.",
                ));
            }
            Ok(NewChatSpec::Group {
                chat_type,
                title,
                description,
                handle,
                is_public: req.is_public,
                member_ids,
            })
        }
    }
}

/// `POST /chats`: a private chat (get-or-create for the pair) or a group /
/// channel whose creator is its owner. Returns the chat as the caller sees
/// it and whether it was created now.
///
/// Errors: 422 for a bad type / title / member list; 404 `user_not_found`
/// for an unknown member; 403 `private_messages_disabled` when the other
/// user refuses private chats, `blocked` when a block stands between the
/// caller and a member ([`blocks`]), `group_invites_restricted` for a member
/// whose `privacy_group_invites` refuses the caller; 409 `handle_taken`.
pub async fn create_chat(
    ctx: &AppContext,
    auth: &AuthContext,
    req: ChatCreateRequest,
) -> AppResult<(ChatView, bool)> {
    let me = auth.user_id;
    let spec = validate_create(me, req)?;
    let mut conn = ctx.db.get().await?;
    let outcome = conn
        .transaction::<_, AppError, _>(async |conn| match &spec {
            NewChatSpec::Private { other } => open_private(conn, me, *other).await,
            NewChatSpec::Group {
                chat_type,
                title,
                description,
                handle,
                is_public,
                member_ids,
            } => {
                let found = User::existing_ids(conn, member_ids).await?;
                if let Some(missing) = member_ids.iter().find(|id| !found.contains(id)) {
                    return Err(AppError::not_found(
                        "user_not_found",
                        format!("User {missing} does not exist."),
                    ));
                }
                if !blocks::either_way(conn, me, member_ids).await?.is_empty() {
                    return Err(blocks::blocked());
                }
                if let Some(refused) = users::refusing_group_invites(conn, me, member_ids)
                    .await?
                    .first()
                {
                    return Err(users::group_invites_refused(*refused));
                }
                let public_id = random_public_id();
                let chat = Chat::insert(
                    conn,
                    NewChat {
                        public_id: &public_id,
                        chat_type: *chat_type,
                        title: Some(title),
                        description: description.as_deref(),
                        handle: handle.as_deref(),
                        is_public: *is_public,
                        private_key: None,
                        created_by: Some(me),
                    },
                )
                .await?
                .ok_or_else(|| AppError::conflict("handle_taken", "This handle is taken."))?;
                let mut members = vec![NewChatMember {
                    chat_id: chat.id,
                    user_id: me,
                    role: MemberRole::Owner,
                }];
                members.extend(member_ids.iter().map(|id| NewChatMember {
                    chat_id: chat.id,
                    user_id: *id,
                    role: MemberRole::Member,
                }));
                ChatMember::insert_all(conn, &members).await?;
                let all_ids: Vec<i64> = std::iter::once(me)
                    .chain(member_ids.iter().copied())
                    .collect();
                let event = record_chat_created(conn, &chat, all_ids.clone()).await?;
                Ok((chat.id, Some((event, all_ids))))
            }
        })
        .await?;
    let (chat_id, created) = outcome;
    let was_created = created.is_some();
    if let Some((event, member_ids)) = created {
        // Members' sockets are not subscribed to the new chat yet: tell each
        // user directly; their replicas subscribe and then follow the chat.
        live::publish_to_new_members(&ctx.bus, event, &member_ids, false).await;
        tracing::info!(chat.id = chat_id, user.id = me, "chat created");
    }
    let chat = read_chat(ctx, &mut conn, me, chat_id).await?;
    Ok((chat, was_created))
}

/// The new chat's `chat_created` and its members, when one was made.
type Created = Option<(LoggedEvent, Vec<i64>)>;

/// The private chat of `me` and `other`, created when there is none (in
/// the caller's transaction; publish the returned event after commit).
///
/// Errors: 404 `user_not_found`; 403 `blocked` (either way),
/// `private_messages_disabled` (a new chat with a user who refuses them).
async fn open_private(
    conn: &mut AsyncPgConnection,
    me: i64,
    other: i64,
) -> AppResult<(i64, Created)> {
    let other_user = users::find_user(conn, other).await?;
    if blocks::between(conn, me, other).await? {
        return Err(blocks::blocked());
    }
    let key = format!("{}:{}", me.min(other), me.max(other));
    if let Some(existing) = Chat::find_private(conn, &key).await? {
        // Opening it again brings it back after a delete-for-me.
        ChatMember::unhide(conn, existing.id, me).await?;
        return Ok((existing.id, None));
    }
    if !other_user.allow_private_messages {
        return Err(AppError::forbidden(
            "private_messages_disabled",
            "This user does not accept private messages.",
        ));
    }
    let member_ids = vec![me, other];
    match insert_private(conn, &key, me, &member_ids).await? {
        Some(event) => Ok((event.chat_id, Some((event, member_ids)))),
        None => {
            // A concurrent request created it first (and committed).
            let existing = Chat::find_private(conn, &key)
                .await?
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("private chat vanished")))?;
            Ok((existing.id, None))
        }
    }
}

/// The id of the private chat of `me` and `other`, created (and announced
/// to both) when there is none: what a bulk send opens per receiver.
///
/// Errors: as [`open_private`]; 422 `member_ids` when `other` is `me`.
pub(crate) async fn private_chat_with(ctx: &AppContext, me: i64, other: i64) -> AppResult<i64> {
    if me == other {
        return Err(AppError::validation(
            "member_ids",
            "A private chat needs another user.",
        ));
    }
    let mut conn = ctx.db.get().await?;
    let (chat_id, created) = conn
        .transaction::<_, AppError, _>(async |conn| open_private(conn, me, other).await)
        .await?;
    if let Some((event, member_ids)) = created {
        live::publish_to_new_members(&ctx.bus, event, &member_ids, false).await;
    }
    Ok(chat_id)
}

/// Creates the private chat `key` (a pair's `{low}:{high}`, or
/// `saved:{user}`) with `members` as plain members and logs its
/// `chat_created`; `None` when a chat with that key exists already (the
/// insert does nothing). Runs in the caller's transaction.
async fn insert_private(
    conn: &mut AsyncPgConnection,
    key: &str,
    creator: i64,
    members: &[i64],
) -> AppResult<Option<LoggedEvent>> {
    let public_id = random_public_id();
    let new = NewChat {
        public_id: &public_id,
        chat_type: ChatType::Private,
        title: None,
        description: None,
        handle: None,
        is_public: false,
        private_key: Some(key),
        created_by: Some(creator),
    };
    let Some(chat) = Chat::insert(conn, new).await? else {
        return Ok(None);
    };
    let rows: Vec<NewChatMember> = members
        .iter()
        .map(|user_id| NewChatMember {
            chat_id: chat.id,
            user_id: *user_id,
            role: MemberRole::Member,
        })
        .collect();
    ChatMember::insert_all(conn, &rows).await?;
    Ok(Some(
        record_chat_created(conn, &chat, members.to_vec()).await?,
    ))
}

async fn record_chat_created(
    conn: &mut AsyncPgConnection,
    chat: &Chat,
    member_ids: Vec<i64>,
) -> AppResult<LoggedEvent> {
    let chat = chat.snapshot(member_ids);
    Ok(event::record(conn, chat.id, |_| DomainEvent::ChatCreated { chat }).await?)
}

/// `GET /chats/saved`: the caller's saved-messages chat, created on first
/// use (seed 004 §7): a private chat whose only member is the caller
/// (`is_saved: true`, titled "Saved Messages"). One per user, however many
/// requests race for it; its `chat_created` reaches the caller's sockets.
pub async fn saved_chat(ctx: &AppContext, auth: &AuthContext) -> AppResult<ChatView> {
    let me = auth.user_id;
    let key = format!("saved:{me}");
    let mut conn = ctx.db.get().await?;
    let created = conn
        .transaction::<_, AppError, _>(async |conn| {
            if Chat::find_private(conn, &key).await?.is_some() {
                return Ok(None);
            }
            // `None`: a concurrent request created it first (and committed).
            insert_private(conn, &key, me, &[me]).await
        })
        .await?;
    if let Some(event) = created {
        let chat_id = event.chat_id;
        live::publish_to_new_members(&ctx.bus, event, &[me], false).await;
        tracing::info!(chat.id = chat_id, user.id = me, "saved messages created");
    }
    let chat = Chat::find_private(&mut conn, &key)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("saved chat vanished")))?;
    read_chat(ctx, &mut conn, me, chat.id).await
}

/// `GET /chats`: the caller's chats, most recent activity first, each with
/// its last message, `unread_count` and `members_count`.
///
/// Errors: 422 for `limit` outside 1..=100, or a `before_id` that is not
/// one of the caller's chats (a foreign cursor would order the caller's
/// chats against another chat's activity; issue 6, item 8).
pub async fn list_chats(
    ctx: &AppContext,
    auth: &AuthContext,
    query: ListChatsQuery,
) -> AppResult<Vec<ChatView>> {
    let filter = ChatListFilter {
        chat_id: None,
        archived: query.archived,
        before_id: query.before_id,
        query: query
            .query
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
        limit: validate::limit(query.limit, 50, 100)?,
    };
    let mut conn = ctx.db.get().await?;
    if let Some(cursor) = filter.before_id
        && ChatMember::find(&mut conn, cursor, auth.user_id)
            .await?
            .is_none()
    {
        return Err(AppError::validation(
            "before_id",
            "before_id must be one of your chats.",
        ));
    }
    load_chat_views(ctx, &mut conn, auth.user_id, &filter).await
}

/// Every chat of the caller, archived ones too, most recent activity first:
/// for APIs with one list, no archive and no paging (seeds 000–002). Read
/// in pages of 100.
///
/// Errors: the database failed.
pub async fn all_chats(ctx: &AppContext, auth: &AuthContext) -> AppResult<Vec<ChatView>> {
    const PAGE: i64 = 100;
    let mut all = Vec::new();
    for archived in [false, true] {
        let mut before_id = None;
        loop {
            let query = ListChatsQuery {
                limit: Some(PAGE),
                before_id,
                archived,
                ..Default::default()
            };
            let page = list_chats(ctx, auth, query).await?;
            let full = page.len() as i64 == PAGE;
            before_id = page.last().map(|c| c.row.id);
            all.extend(page);
            if !full {
                break;
            }
        }
    }
    all.sort_by_key(|c| {
        std::cmp::Reverse(c.row.last_message_created_at.unwrap_or(c.row.created_at))
    });
    Ok(all)
}

/// `GET /chats/{id}`: the chat with its members.
///
/// Errors: 404 `chat_not_found`; 403 `not_a_member`.
pub async fn get_chat(ctx: &AppContext, auth: &AuthContext, chat_id: i64) -> AppResult<ChatDetail> {
    let mut conn = ctx.db.get().await?;
    require_member(&mut conn, chat_id, auth.user_id).await?;
    let chat = read_chat(ctx, &mut conn, auth.user_id, chat_id).await?;
    let members = ChatMember::with_users(&mut conn, chat_id)
        .await?
        .into_iter()
        .map(|(m, name, username)| m.snapshot(name, username))
        .collect();
    Ok(ChatDetail { chat, members })
}
