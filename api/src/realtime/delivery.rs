//! How a socket delivers: the hub's queued items in seq order per chat
//! (gaps filled from the log, duplicates dropped, see [`super::ordering`]),
//! replays from the log, and `resume`. Part of [`super::socket::Socket`].

use std::collections::BTreeMap;

use futures_util::future::LocalBoxFuture;

use parley_shared::domain::catchup::{ReplayMarks, read_events};
use parley_shared::domain::models::Message;
use parley_shared::wire::native::events::ServerEvent;
use parley_shared::wire::native::render;

use crate::error::ApiError;
use crate::realtime::close;
use crate::realtime::commands::error_frame;
use crate::realtime::hub::{Hidden, Outbound};
use crate::realtime::ordering::Offer;
use crate::realtime::socket::Socket;
use crate::realtime::transport::Transport;

/// Events read from the log per query while catching up.
const REPLAY_PAGE: i64 = 500;

impl<T: Transport> Socket<T> {
    /// Sends one queued item; `Ok(false)` when the client is gone.
    /// The item is borrowed: a worker's sockets share each item (`Rc`).
    pub(super) async fn deliver(&mut self, outbound: &Outbound) -> Result<bool, ApiError> {
        match *outbound {
            Outbound::ChatEvent {
                chat_id,
                seq,
                ref frame,
                ref hidden,
            } => {
                match self.positions.offer(chat_id, seq) {
                    // Not (yet) followed by this socket: it will catch up
                    // when it follows the chat.
                    Offer::NotFollowed | Offer::Drop => return Ok(true),
                    Offer::Deliver => {}
                    Offer::Fill { up_to, .. } => {
                        if !self.replay(chat_id, Some(up_to)).await? {
                            return Ok(false);
                        }
                        // The fill may have reached the user's own leave, or
                        // past this event (a skipped absence).
                        if self.positions.offer(chat_id, seq) != Offer::Deliver {
                            return Ok(true);
                        }
                    }
                }
                self.positions.advance(chat_id, seq);
                let hidden_message = match *hidden {
                    Hidden::Nobody => None,
                    Hidden::Users {
                        message_id,
                        ref users,
                    } => users.contains(&self.auth.user_id).then_some(message_id),
                    Hidden::Unknown { message_id } => {
                        Box::pin(self.hid(message_id)).await?.then_some(message_id)
                    }
                };
                Ok(match hidden_message {
                    Some(message_id) => self.send(&render::hidden(chat_id, seq, message_id)).await,
                    None => self.send(frame.native()).await,
                })
            }
            Outbound::ChatJoined {
                chat_id,
                seq,
                ref frame,
            } => {
                if self.positions.follows(chat_id) {
                    // Already followed (the join raced with the start).
                    return self.replay(chat_id, None).await;
                }
                self.positions.set(chat_id, seq);
                if !self.send(frame.native()).await {
                    return Ok(false);
                }
                // Anything published before this replica subscribed.
                self.replay(chat_id, None).await
            }
            Outbound::ChatLeft { chat_id, seq } => {
                // Send what came before the leave, then stop following.
                if self.positions.get(chat_id).is_some_and(|p| p < seq)
                    && !self.replay(chat_id, Some(seq)).await?
                {
                    return Ok(false);
                }
                Box::pin(self.unfollow(chat_id)).await;
                Ok(true)
            }
            Outbound::Typing {
                chat_id,
                user_id,
                ref frame,
            } => {
                if user_id == self.auth.user_id || !self.focused.contains(&chat_id) {
                    return Ok(true);
                }
                Ok(self.send(frame.native()).await)
            }
            Outbound::SessionRevoked {
                ref session_id,
                ref frame,
            } => {
                if *session_id != self.auth.session_id.to_string() {
                    return Ok(true);
                }
                self.closing = Some(close::session_revoked());
                Ok(self.send(frame.native()).await)
            }
            Outbound::Direct(ref frame) => Ok(self.send(frame.native()).await),
            Outbound::Resync => {
                // A revocation may have been lost with the connection.
                Box::pin(self.check_session()).await?;
                let chats: Vec<i64> = self.positions.chats();
                for chat_id in chats {
                    if !self.replay(chat_id, None).await? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Sends the chat's logged events after the client's position, up to
    /// `up_to` (or the end), as this user may see them; `resync_required`
    /// when the log no longer reaches back. `Ok(false)` when the client is gone.
    ///
    /// Boxed: reading the log is a large future, and one awaited in place
    /// would be part of the socket's task for its whole life, idle or not
    /// (issue 13, item 4); a replay is rare enough to allocate for.
    pub(super) fn replay(
        &mut self,
        chat_id: i64,
        up_to: Option<i64>,
    ) -> LocalBoxFuture<'_, Result<bool, ApiError>> {
        Box::pin(self.replay_from_log(chat_id, up_to))
    }

    async fn replay_from_log(
        &mut self,
        chat_id: i64,
        up_to: Option<i64>,
    ) -> Result<bool, ApiError> {
        loop {
            let position = self.positions.get(chat_id).unwrap_or(0);
            if up_to.is_some_and(|u| position >= u) {
                return Ok(true);
            }
            // Read a page, then let the connection go before sending.
            let (slice, last_seq) = {
                let mut db = self.state.ctx.db.get().await?;
                let marks = ReplayMarks::load(&mut db, chat_id, self.auth.user_id).await?;
                let slice = read_events(
                    &mut db,
                    self.auth.user_id,
                    chat_id,
                    position,
                    up_to,
                    marks,
                    REPLAY_PAGE,
                )
                .await?;
                (slice, marks.last_seq)
            };
            if slice.resync_required {
                self.positions.set(chat_id, last_seq);
                let resync = ServerEvent::ResyncRequired { chat_id, last_seq };
                return Ok(self.send(&resync.to_bytes()).await);
            }
            for (seq, item) in slice.events {
                self.positions.set(chat_id, seq);
                if !self.send(&render::replay_item(&item)).await {
                    return Ok(false);
                }
            }
            // Past the events when the user's leave was undone by a re-join:
            // what happened while they were out is skipped.
            if !slice.left {
                self.positions.advance(chat_id, slice.reached_seq);
            }
            if slice.left {
                self.unfollow(chat_id).await;
                return Ok(true);
            }
            if !slice.has_more {
                return Ok(true);
            }
        }
    }

    /// `resume {chats: {"<chat_id>": <last_seq>}}`: replays what the client
    /// missed in each chat, then answers `resumed`. Live events that arrive
    /// meanwhile wait in the queue and are dropped if the replay sent them.
    pub(super) async fn resume(
        &mut self,
        chats: BTreeMap<String, i64>,
        reference: Option<String>,
    ) -> Result<bool, ApiError> {
        let mut reached = BTreeMap::new();
        for (key, seq) in chats {
            let chat_id = match key.parse::<i64>() {
                Ok(id) if self.positions.follows(id) && seq >= 0 => id,
                _ => {
                    let error = error_frame(
                        "not_a_member",
                        &format!("Cannot resume chat {key:?}: not one of your chats."),
                        reference.clone(),
                    );
                    if !self.send(&error.to_bytes()).await {
                        return Ok(false);
                    }
                    continue;
                }
            };
            self.positions.set(chat_id, seq);
            if !self.replay(chat_id, None).await? {
                return Ok(false);
            }
            reached.insert(key, self.positions.get(chat_id).unwrap_or(seq));
        }
        let resumed = ServerEvent::Resumed {
            reference,
            chats: reached,
        };
        Ok(self.send(&resumed.to_bytes()).await)
    }

    /// Whether this socket's user hid `message_id` (delete-for-me).
    pub(super) async fn hid(&self, message_id: i64) -> Result<bool, ApiError> {
        let mut db = self.state.ctx.db.get().await?;
        Ok(Message::is_hidden_for(&mut db, message_id, self.auth.user_id).await?)
    }
}
