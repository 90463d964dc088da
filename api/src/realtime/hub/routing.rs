//! How the hub routes what the bus brings: each event decoded once, routed
//! on its typed fields, and a chat's logged events handed to the local
//! followers once and in seq order, a gap filled from the log once per
//! replica. Part of [`super::Hub`].

use std::sync::Arc;

use parley_shared::domain::catchup;
use parley_shared::domain::events::{DomainEvent, LoggedEvent};
use parley_shared::domain::live::LiveEvent;
use parley_shared::domain::models::Message;
use parley_shared::infra::bus::{BusMessage, Topic};
use parley_shared::telemetry::metrics::{GAP_FILL_DURATION, GAP_FILLED_EVENTS, GAP_FILLS};
use std::sync::atomic::Ordering;

use super::{Hidden, Hub, Outbound, hand, hand_all};
use crate::realtime::frame::Frame;

/// The largest gap in a chat's live events a replica fills from the log
/// for all its sockets; a wider one (after an outage) is left to each
/// socket's own catch-up.
const HUB_FILL_MAX: i64 = 200;

impl Hub {
    /// Routes one message from the bus. Called in arrival order by one task.
    pub async fn dispatch(self: &Arc<Self>, message: BusMessage) {
        match message {
            BusMessage::Event { topic, payload } => match LiveEvent::decode(&payload) {
                Ok(event) => self.route(topic, Frame::new(event)).await,
                Err(err) => tracing::warn!(?topic, error = %err, "dropping a foreign event"),
            },
            BusMessage::Reconnected => {
                tracing::warn!("lost the Redis subscription connection; reconnecting");
                self.bus_up.store(false, Ordering::Relaxed);
                let hub = Arc::clone(self);
                tokio::spawn(async move { hub.recover_subscriptions().await });
            }
        }
    }

    /// Routes one decoded event on its typed fields.
    async fn route(&self, topic: Topic, frame: Arc<Frame>) {
        match (topic, &frame.event) {
            (Topic::User(user_id), LiveEvent::Chat(logged))
                if matches!(
                    logged.event,
                    DomainEvent::ChatCreated { .. } | DomainEvent::MemberJoined { .. }
                ) =>
            {
                let (chat_id, seq) = (logged.chat_id, logged.seq);
                self.user_joined_chat(user_id, chat_id, seq, &frame).await;
            }
            (Topic::Chat(chat_id), LiveEvent::Chat(logged)) => {
                self.chat_event_in_order(chat_id, logged.seq, frame.clone())
                    .await;
            }
            (Topic::Chat(chat_id), LiveEvent::Typing { user_id, .. }) => {
                let user_id = *user_id;
                self.broadcast(
                    topic,
                    Outbound::Typing {
                        chat_id,
                        user_id,
                        frame,
                    },
                );
            }
            (Topic::User(_), LiveEvent::SessionRevoked { session_id, .. }) => {
                let session_id = session_id.clone();
                self.broadcast(topic, Outbound::SessionRevoked { session_id, frame });
            }
            _ => self.broadcast(topic, Outbound::Direct(frame)),
        }
    }

    /// Hands a chat's logged event to the local followers in seq order,
    /// once: an event already handed (it was read to fill a gap) is
    /// dropped, and a gap before it is filled from the log once for all
    /// sockets (events published by two replicas often arrive out of
    /// order). Sockets still order what they get themselves
    /// ([`super::ordering`]), so a gap left here costs a per-socket fill,
    /// never a lost event.
    async fn chat_event_in_order(&self, chat_id: i64, seq: i64, frame: Arc<Frame>) {
        let topic = Topic::Chat(chat_id);
        let position = {
            let mut shard = self.topics.lock(&topic);
            let Some(entry) = shard.get_mut(&topic) else {
                return;
            };
            if entry.followers.is_empty() {
                // An idle room: nobody to hand it to, nothing to fill.
                entry.position = Some(entry.position.map_or(seq, |p| p.max(seq)));
                return;
            }
            entry.position
        };
        match in_order(position, seq) {
            InOrder::Drop => return,
            InOrder::FillThenHand { after, up_to } => {
                let started = std::time::Instant::now();
                let gap = self.read_gap(chat_id, after, up_to).await;
                metrics::histogram!(GAP_FILL_DURATION).record(started.elapsed().as_secs_f64());
                metrics::counter!(GAP_FILLS).increment(1);
                metrics::counter!(GAP_FILLED_EVENTS).increment(gap.len() as u64);
                for missing in gap {
                    let missing_seq = missing.seq;
                    let missing = Frame::new(LiveEvent::Chat(missing));
                    self.hand_chat_event(chat_id, missing_seq, missing).await;
                }
            }
            InOrder::Hand => {}
        }
        self.hand_chat_event(chat_id, seq, frame).await;
    }

    /// The events between a replica's position and a later live event, or
    /// none when the log cannot give them whole.
    async fn read_gap(&self, chat_id: i64, after_seq: i64, up_to_seq: i64) -> Vec<LoggedEvent> {
        let read = async {
            let mut conn = self.db.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok::<_, anyhow::Error>(
                catchup::logged_range(&mut conn, chat_id, after_seq, up_to_seq).await?,
            )
        };
        match read.await {
            Ok(Some(events)) => events,
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(chat.id = chat_id, error = %err, "gap fill failed; sockets fill their own");
                Vec::new()
            }
        }
    }

    /// Offers one logged event to the chat's local followers and moves the
    /// replica's position.
    async fn hand_chat_event(&self, chat_id: i64, seq: i64, frame: Arc<Frame>) {
        let topic = Topic::Chat(chat_id);
        let LiveEvent::Chat(logged) = &frame.event else {
            return;
        };
        // Events about an earlier message: some followers may have hidden
        // it (a new message is hidden from no one yet).
        let hidden = match &logged.event {
            DomainEvent::MessageUpdated { message } => {
                self.hidden_among_followers(chat_id, message.id).await
            }
            DomainEvent::ReactionsUpdated { message_id, .. } => {
                self.hidden_among_followers(chat_id, *message_id).await
            }
            _ => Hidden::Nobody,
        };
        let left = match &logged.event {
            DomainEvent::MemberLeft { user_id, .. } => Left::User(*user_id),
            DomainEvent::ChatDeleted { .. } => Left::Everyone,
            _ => Left::Nobody,
        };
        let mut followers = Vec::new();
        if let Some(entry) = self.topics.lock(&topic).get_mut(&topic) {
            entry.position = Some(entry.position.map_or(seq, |p| p.max(seq)));
            let outbound = Outbound::ChatEvent {
                chat_id,
                seq,
                frame: frame.clone(),
                hidden,
            };
            hand_all(entry.followers.values(), &outbound);
            if left == Left::Everyone {
                followers.extend(entry.followers.values().cloned());
            }
        }
        match left {
            Left::User(user_id) => self.user_left_chat(user_id, chat_id, seq).await,
            Left::Everyone => {
                for conn in followers {
                    hand(&conn, Outbound::ChatLeft { chat_id, seq });
                    self.leave_chat(conn.id, chat_id).await;
                }
            }
            Left::Nobody => {}
        }
    }

    /// Who among this replica's followers of `chat_id` may not see the
    /// content of `message_id`: one query for all of them.
    async fn hidden_among_followers(&self, chat_id: i64, message_id: i64) -> Hidden {
        let mut followers: Vec<i64> = self
            .followers(Topic::Chat(chat_id))
            .iter()
            .map(|conn| conn.user_id)
            .collect();
        followers.sort_unstable();
        followers.dedup();
        if followers.is_empty() {
            return Hidden::Nobody;
        }
        let lookup = async {
            let mut conn = self.db.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok::<_, anyhow::Error>(Message::hidden_among(&mut conn, message_id, &followers).await?)
        };
        match lookup.await {
            Ok(users) => Hidden::Users {
                message_id,
                users: Arc::new(users.into_iter().collect()),
            },
            Err(err) => {
                tracing::warn!(message.id = message_id, error = %err, "hidden lookup failed; sockets ask");
                Hidden::Unknown { message_id }
            }
        }
    }

    async fn user_joined_chat(&self, user_id: i64, chat_id: i64, seq: i64, frame: &Arc<Frame>) {
        for conn in self.followers(Topic::User(user_id)) {
            if let Err(err) = self.join_chats(conn.id, &[chat_id]).await {
                tracing::warn!(chat.id = chat_id, error = %err, "subscribe failed");
            }
            hand(
                &conn,
                Outbound::ChatJoined {
                    chat_id,
                    seq,
                    frame: frame.clone(),
                },
            );
        }
    }

    async fn user_left_chat(&self, user_id: i64, chat_id: i64, seq: i64) {
        for conn in self.followers(Topic::User(user_id)) {
            hand(&conn, Outbound::ChatLeft { chat_id, seq });
            self.leave_chat(conn.id, chat_id).await;
        }
    }
}

/// Whose view of a chat a logged event ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    Nobody,
    /// Their `member_left`.
    User(i64),
    /// `chat_deleted`.
    Everyone,
}

/// What a replica does with a chat's live event at `seq`, given the last
/// seq it handed to its sockets.
#[derive(Debug, PartialEq, Eq)]
enum InOrder {
    /// Already handed (read from the log to fill a gap).
    Drop,
    /// Read `after < seq <= up_to` from the log and hand it first.
    FillThenHand { after: i64, up_to: i64 },
    /// Hand it: the next one, the first one, or past a gap too wide to
    /// fill here (sockets fill their own).
    Hand,
}

fn in_order(position: Option<i64>, seq: i64) -> InOrder {
    match position {
        Some(position) if seq <= position => InOrder::Drop,
        Some(position) if seq > position + 1 && seq - position - 1 <= HUB_FILL_MAX => {
            InOrder::FillThenHand {
                after: position,
                up_to: seq - 1,
            }
        }
        _ => InOrder::Hand,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_chat_events_are_handed_once_in_order_with_gaps_filled() {
        assert_eq!(in_order(None, 7), InOrder::Hand);
        assert_eq!(in_order(Some(6), 7), InOrder::Hand);
        assert_eq!(in_order(Some(7), 7), InOrder::Drop);
        assert_eq!(in_order(Some(9), 7), InOrder::Drop);
        assert_eq!(
            in_order(Some(4), 7),
            InOrder::FillThenHand { after: 4, up_to: 6 }
        );
        // A gap of HUB_FILL_MAX + 1 events.
        let wide = 7 + HUB_FILL_MAX + 2;
        assert_eq!(in_order(Some(7), wide), InOrder::Hand);
        assert_eq!(
            in_order(Some(7), wide - 1),
            InOrder::FillThenHand {
                after: 7,
                up_to: wide - 2
            }
        );
    }
}
