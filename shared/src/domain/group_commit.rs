//! Group commit of sends (issue 13, item 2): the sends a replica receives
//! at the same time are written together, in one transaction of a few
//! statements for the whole batch, instead of one transaction of six
//! statements each.
//!
//! [`post`] queues a send on its thread's lane
//! ([`crate::domain::send_queue`]); the lane's writer ([`WRITERS`]), on
//! the same thread with connections of its own, takes what is queued (up
//! to [`MAX_BATCH`]) and writes it. Nothing waits for a batch to fill: a
//! send that finds the writer idle is written at once, and sends that
//! arrive while it is busy form the next batch. A
//! batch locks its chats in id order (the lock order of every write:
//! [`crate::domain::models::Chat::lock`]), checks every send as
//! [`crate::domain::messages`] does one (the chat, the sender's membership
//! and role, blocks in a private chat, the reply's target; a
//! `client_message_id` that names a message already makes the send a
//! retry, answered with that message), gives the sends
//! it accepts their chats' next seqs in queue order, and inserts their
//! messages and `message_created` events with one statement each. Each
//! caller gets its own answer: its message, or its own refusal, which
//! writes nothing. After commit the writer publishes the batch's events,
//! then answers.
//!
//! A lone send is a batch of one: there is a single way to write new
//! messages (`post_messages`). When a batch cannot be written as a whole
//! (a `client_message_id` taken meanwhile by another replica's send, or
//! any database error), it is rolled back and each send is written alone,
//! so that only the send at fault fails. Forwards write their copies in
//! their own transaction with `post_message`.

use std::collections::{HashMap, HashSet};

use diesel_async::AsyncPgConnection;
use tokio::sync::oneshot;

use crate::domain::blocks;
use crate::domain::context::AppContext;
use crate::domain::error::{AppError, AppResult};
use crate::domain::events::{DomainEvent, LoggedEvent};
use crate::domain::live;
use crate::domain::models::attachment::Attachment;
use crate::domain::models::event;
use crate::domain::models::message::NewMessage;
use crate::domain::models::{Chat, ChatMember, ChatType, Message, MessageType};
use crate::domain::permissions::{self, Action};
use crate::domain::send_queue::{LaneReceiver, Pending, next_batch};
pub use crate::domain::send_queue::{MAX_BATCH, NewPost, Posted};
use crate::domain::views::{DeliveryStatus, MessageView};
use crate::infra::bus::EventBus;
use crate::infra::db::DbPool;
use crate::telemetry::metrics::SEND_BATCH_SIZE;

/// Writer tasks per lane (a lane per thread that sends: one per actix-web
/// worker). One: a lane's batches would otherwise wait for each other's
/// chat locks, and each carries all its thread queued meanwhile (two per
/// lane halved the batches and doubled the p99; docs/benchmarks.md, "The
/// send path on one thread").
pub const WRITERS: usize = 1;

/// The code of a post whose `client_message_id` already names a message
/// (a retry): its caller answers with that message instead.
pub const DUPLICATE_CODE: &str = "duplicate_client_message_id";

/// 409 [`DUPLICATE_CODE`].
fn duplicate() -> AppError {
    AppError::conflict(DUPLICATE_CODE, "client_message_id already names a message.")
}

/// 403 `cannot_post`: a channel's reader.
pub(crate) fn cannot_post() -> AppError {
    AppError::forbidden(
        "cannot_post",
        "Only owners and admins can post in this channel.",
    )
}

/// 422 `reply_to_message_id` outside the chat (or deleted).
pub(crate) fn reply_outside() -> AppError {
    AppError::validation(
        "reply_to_message_id",
        "reply_to_message_id must be a message of this chat.",
    )
}

/// What a new message holds: a send, or a forward's copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Post<'a> {
    pub chat_id: i64,
    pub message_type: MessageType,
    pub text: &'a str,
    pub reply_to_message_id: Option<i64>,
    pub forwarded_from_message_id: Option<i64>,
    pub client_message_id: Option<&'a str>,
    /// A forward: the message whose attachments the new one shares.
    pub attachments_of: Option<i64>,
}

/// Posts one message as `sender_id` in the caller's transaction and logs
/// its `message_created` (publish it after commit): `post_messages` with
/// one post, its refusal as the error.
///
/// Errors: those of [`post`].
pub(crate) async fn post_message(
    conn: &mut AsyncPgConnection,
    sender_id: i64,
    post: Post<'_>,
) -> AppResult<Posted> {
    post_messages(conn, &[(sender_id, post)])
        .await?
        .pop()
        .unwrap_or_else(|| {
            Err(AppError::internal(anyhow::anyhow!(
                "a post went unanswered"
            )))
        })
}

impl NewPost {
    fn as_post(&self) -> Post<'_> {
        Post {
            chat_id: self.chat_id,
            message_type: self.message_type,
            text: &self.text,
            reply_to_message_id: self.reply_to_message_id,
            forwarded_from_message_id: None,
            client_message_id: self.client_message_id.as_deref(),
            attachments_of: None,
        }
    }
}

/// Writes `post` as `sender_id` with the sends queued beside it on this
/// thread's lane, and answers once its event is published. The thread's
/// first send starts its writers on the current runtime.
///
/// Errors: those of `post_message`: 404 `chat_not_found`; 403
/// `not_a_member`, `cannot_post`, `blocked`; 422 `reply_to_message_id`;
/// 409 [`DUPLICATE_CODE`] (the caller answers with the message that took
/// the `client_message_id`); 503 when the database is unavailable.
pub async fn post(ctx: &AppContext, sender_id: i64, post: NewPost) -> AppResult<Posted> {
    let (answer, answered) = oneshot::channel();
    let pending = Pending {
        sender_id,
        post,
        answer,
    };
    let gone = || AppError::internal(anyhow::anyhow!("the send writers stopped"));
    ctx.sends
        .push(pending, |receiver| start_writers(receiver, ctx))
        .await
        .map_err(|_| gone())?;
    answered.await.map_err(|_| gone())?
}

/// Spawns one lane's [`WRITERS`] on the current runtime, with a pool of
/// their own: connections opened by the lane's thread, which drives them.
fn start_writers(receiver: LaneReceiver<Pending>, ctx: &AppContext) {
    let db = crate::infra::db::lane_pool(&ctx.db, &ctx.settings.db.url, WRITERS);
    for _ in 0..WRITERS {
        let (receiver, db, bus) = (receiver.clone(), db.clone(), ctx.bus.clone());
        tokio::spawn(async move {
            while let Some(batch) = next_batch(&receiver, MAX_BATCH).await {
                write_batch(&db, &bus, batch).await;
            }
        });
    }
}

/// Writes `posts` (`(sender_id, post)`) as one batch, now, as a writer
/// writes what it took from the queue: each post's outcome, in order (the
/// errors of [`post`]). For tests that need a batch of known content; the
/// server only queues.
pub async fn write_together(
    ctx: &AppContext,
    posts: Vec<(i64, NewPost)>,
) -> Vec<AppResult<Posted>> {
    let mut answers = Vec::with_capacity(posts.len());
    let mut batch = Vec::with_capacity(posts.len());
    for (sender_id, post) in posts {
        let (answer, answered) = oneshot::channel();
        batch.push(Pending {
            sender_id,
            post,
            answer,
        });
        answers.push(answered);
    }
    write_batch(&ctx.db, &ctx.bus, batch).await;
    let mut outcomes = Vec::with_capacity(answers.len());
    for answered in answers {
        outcomes.push(answered.await.unwrap_or_else(|_| {
            Err(AppError::internal(anyhow::anyhow!(
                "a send went unanswered"
            )))
        }));
    }
    outcomes
}

async fn write_batch(db: &DbPool, bus: &EventBus, batch: Vec<Pending>) {
    metrics::histogram!(SEND_BATCH_SIZE).record(batch.len() as f64);
    let written = match db.get().await {
        Ok(mut conn) => {
            let posts: Vec<(i64, Post)> = batch
                .iter()
                .map(|p| (p.sender_id, p.post.as_post()))
                .collect();
            crate::transaction!(conn, async |conn| { post_messages(conn, &posts).await })
        }
        Err(err) => Err(err.into()),
    };
    let outcomes = match written {
        Ok(outcomes) => outcomes,
        Err(err) if batch.len() == 1 => vec![Err(err)],
        Err(err) => {
            if !matches!(&err, AppError::Conflict { code, .. } if *code == DUPLICATE_CODE) {
                tracing::debug!(error = %err, sends = batch.len(), "batch failed; writing its sends alone");
            }
            return write_alone(db, bus, batch).await;
        }
    };
    let events: Vec<LoggedEvent> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|(event, _)| event.clone()))
        .collect();
    live::publish_logged(bus, events).await;
    for (pending, outcome) in batch.into_iter().zip(outcomes) {
        let _ = pending.answer.send(outcome);
    }
}

/// Each send in its own transaction: the way back when a batch fails.
async fn write_alone(db: &DbPool, bus: &EventBus, batch: Vec<Pending>) {
    for pending in batch {
        let outcome = async {
            let mut conn = db.get().await?;
            let post = pending.post.as_post();
            let posted = crate::transaction!(conn, async |conn| {
                post_message(conn, pending.sender_id, post).await
            })?;
            live::publish_logged(bus, vec![posted.0.clone()]).await;
            Ok(posted)
        }
        .await;
        let _ = pending.answer.send(outcome);
    }
}

/// Posts `(sender_id, post)`s in the caller's transaction and logs their
/// `message_created`s (publish them after commit): each post's outcome, in
/// order, a refused post writing nothing. The chats are locked first, in
/// id order, so that the memberships and roles read next cannot change
/// before commit. `Err` must roll the whole transaction back: a database
/// error, or [`DUPLICATE_CODE`] when a `client_message_id` was taken
/// meanwhile (the caller writes the posts one by one to learn whose).
pub(crate) async fn post_messages(
    conn: &mut AsyncPgConnection,
    posts: &[(i64, Post<'_>)],
) -> AppResult<Vec<AppResult<Posted>>> {
    // Retries of sends that were written are answered from the message
    // that holds the key and take no seq. Looked up beside the lock, not
    // under it: a key taken after this is caught by the insert.
    let keys: Vec<(i64, &str)> = posts
        .iter()
        .filter_map(|(sender, p)| Some((*sender, p.client_message_id?)))
        .collect();
    let mut chat_ids: Vec<i64> = posts.iter().map(|(_, p)| p.chat_id).collect();
    chat_ids.sort_unstable();
    chat_ids.dedup();
    let mut senders: Vec<i64> = posts.iter().map(|(s, _)| *s).collect();
    senders.sort_unstable();
    senders.dedup();
    let reply_ids: Vec<i64> = posts
        .iter()
        .filter_map(|(_, p)| p.reply_to_message_id)
        .collect();
    // Statements that do not need each other's rows go to PostgreSQL
    // together (pipelined on the connection; it still runs them one after
    // the other, in the order sent): a round trip each for the lookup and
    // the lock, for the reads under the lock, for the seqs and the insert.
    // The reads must follow the lock, so that what they see cannot change
    // before commit: they are sent once it is held.
    let shared: &AsyncPgConnection = conn;
    let (taken, locked) = futures_util::try_join!(
        Message::taken_client_ids(shared, &keys),
        Chat::lock_many(shared, &chat_ids),
    )?;
    let chats: HashMap<i64, Chat> = locked.into_iter().map(|c| (c.id, c)).collect();
    let private: Vec<i64> = chats
        .values()
        .filter(|c| c.chat_type == ChatType::Private)
        .map(|c| c.id)
        .collect();
    let replies = async {
        if reply_ids.is_empty() {
            Ok(Vec::new())
        } else {
            Message::by_ids(shared, &reply_ids).await
        }
    };
    let (members, blocked, replies) = futures_util::try_join!(
        ChatMember::of_users(shared, &chat_ids, &senders),
        blocks::in_private_chats(shared, &private),
        replies,
    )?;
    let members: HashMap<(i64, i64), ChatMember> = members
        .into_iter()
        .map(|m| ((m.chat_id, m.user_id), m))
        .collect();
    let replies: HashMap<i64, Message> = replies.into_iter().map(|m| (m.id, m)).collect();

    // Each send's refusal, or its seq.
    let mut next_seq: HashMap<i64, i64> = chats.iter().map(|(id, c)| (*id, c.last_seq)).collect();
    let mut checked: Vec<AppResult<i64>> = Vec::with_capacity(posts.len());
    // Keys of the posts accepted so far: a second post with one of them (a
    // retry sent before the first was answered) is answered as a retry.
    let mut keys_in_batch: HashSet<(i64, &str)> = HashSet::new();
    for (sender_id, post) in posts {
        let verdict = (|| {
            if let Some(key) = post.client_message_id
                && (taken.contains(&(*sender_id, key.to_owned()))
                    || keys_in_batch.contains(&(*sender_id, key)))
            {
                return Err(duplicate());
            }
            let chat = chats
                .get(&post.chat_id)
                .ok_or_else(crate::domain::chats::chat_not_found)?;
            let member = members
                .get(&(chat.id, *sender_id))
                .ok_or_else(AppError::not_a_member)?;
            if !permissions::allows(chat.chat_type, member.role, Action::PostMessage) {
                return Err(cannot_post());
            }
            if blocked.contains(&(chat.id, *sender_id)) {
                return Err(blocks::blocked());
            }
            if let Some(reply_to) = post.reply_to_message_id
                && !replies
                    .get(&reply_to)
                    .is_some_and(|m| m.chat_id == chat.id && m.deleted_at.is_none())
            {
                return Err(reply_outside());
            }
            if let Some(key) = post.client_message_id {
                keys_in_batch.insert((*sender_id, key));
            }
            let seq = next_seq.entry(chat.id).or_default();
            *seq += 1;
            Ok(*seq)
        })();
        checked.push(verdict);
    }
    let seqs: Vec<(i64, i64)> = next_seq
        .into_iter()
        .filter(|(id, seq)| chats.get(id).is_some_and(|c| c.last_seq != *seq))
        .collect();
    if checked.iter().all(Result::is_err) {
        return Ok(checked
            .into_iter()
            .filter_map(Result::err)
            .map(Err)
            .collect());
    }
    let new: Vec<NewMessage> = posts
        .iter()
        .zip(&checked)
        .filter_map(|((sender_id, post), seq)| {
            let seq = *seq.as_ref().ok()?;
            Some(NewMessage {
                chat_id: post.chat_id,
                sender_id: *sender_id,
                seq,
                message_type: post.message_type,
                text: post.text,
                reply_to_message_id: post.reply_to_message_id,
                forwarded_from_message_id: post.forwarded_from_message_id,
                client_message_id: post.client_message_id,
                search_tokens: crate::domain::search_tokens::document_tokens(post.text),
            })
        })
        .collect();
    let expected = new.len();
    let shared: &AsyncPgConnection = conn;
    let ((), inserted) = futures_util::try_join!(
        Chat::set_last_seqs(shared, &seqs),
        Message::insert_many(shared, new),
    )?;
    if inserted.len() != expected {
        // A key was taken since it was looked up: by a retry in flight on
        // another replica.
        return Err(duplicate());
    }
    let mut by_seq: HashMap<(i64, i64), Message> = inserted
        .into_iter()
        .map(|m| ((m.chat_id, m.seq), m))
        .collect();

    let mut outcomes = Vec::with_capacity(posts.len());
    let mut events = Vec::with_capacity(expected);
    for ((_, post), seq) in posts.iter().zip(checked) {
        let seq = match seq {
            Ok(seq) => seq,
            Err(err) => {
                outcomes.push(Err(err));
                continue;
            }
        };
        let message = by_seq
            .remove(&(post.chat_id, seq))
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("an inserted message is missing")))?;
        let mentions = Message::record_mentions(conn, &message, post.text).await?;
        let mut snapshot = message.snapshot(mentions);
        if let Some(source) = post.attachments_of {
            Attachment::copy(conn, source, message.id).await?;
            snapshot.attachments = Attachment::snapshots_of(conn, &[message.id])
                .await?
                .remove(&message.id)
                .unwrap_or_default();
        }
        let view = MessageView {
            message: snapshot.clone(),
            delivery_status: DeliveryStatus::Sent,
            my_reactions: Vec::new(),
        };
        let logged = event::logged(
            post.chat_id,
            seq,
            DomainEvent::MessageCreated {
                message: Box::new(snapshot),
            },
        );
        events.push(logged.clone());
        outcomes.push(Ok((logged, view)));
    }
    event::append_many(conn, &events).await?;
    Ok(outcomes)
}
