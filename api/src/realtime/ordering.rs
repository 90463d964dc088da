//! Per-socket ordering of chat events (ARCHITECTURE §3), with no sockets in
//! it: for each chat a socket follows, the last `seq` it sent. An offered
//! event is delivered when it is the next one, dropped when it was already
//! sent, and preceded by a fill from the log when events are missing (the
//! shape of centrifuge's `internal/recovery`).

use rustc_hash::FxHashMap;

/// What to do with an event offered at `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The next event: send it (then [`Positions::advance`]).
    Deliver,
    /// Already sent (or older): drop it.
    Drop,
    /// Events `after + 1 ..= up_to` are missing: read them from the log
    /// first, then offer this event again.
    Fill { after: i64, up_to: i64 },
    /// The socket does not follow this chat (yet): it catches up when it
    /// starts to.
    NotFollowed,
}

/// The last seq sent, per followed chat.
#[derive(Debug, Clone, Default)]
pub struct Positions {
    /// FxHash: looked up once per delivery, keyed by chat ids (not
    /// chosen by clients to collide).
    seqs: FxHashMap<i64, i64>,
}

impl Positions {
    /// What to do with event `seq` of `chat_id`.
    pub fn offer(&self, chat_id: i64, seq: i64) -> Offer {
        match self.seqs.get(&chat_id) {
            None => Offer::NotFollowed,
            Some(&at) if seq <= at => Offer::Drop,
            Some(&at) if seq == at + 1 => Offer::Deliver,
            Some(&at) => Offer::Fill {
                after: at,
                up_to: seq - 1,
            },
        }
    }

    /// Records that everything up to `seq` was sent; never moves back.
    pub fn advance(&mut self, chat_id: i64, seq: i64) {
        if let Some(at) = self.seqs.get_mut(&chat_id)
            && seq > *at
        {
            *at = seq;
        }
    }

    /// Follows `chat_id` from `seq` (events after it are to be sent), or
    /// moves a followed chat's position to `seq` (a client's `resume`).
    pub fn set(&mut self, chat_id: i64, seq: i64) {
        self.seqs.insert(chat_id, seq);
    }

    /// Stops following `chat_id`.
    pub fn unfollow(&mut self, chat_id: i64) {
        self.seqs.remove(&chat_id);
    }

    /// The last seq sent in `chat_id`, if followed.
    pub fn get(&self, chat_id: i64) -> Option<i64> {
        self.seqs.get(&chat_id).copied()
    }

    /// Whether `chat_id` is followed.
    pub fn follows(&self, chat_id: i64) -> bool {
        self.seqs.contains_key(&chat_id)
    }

    /// The followed chats.
    pub fn chats(&self) -> Vec<i64> {
        self.seqs.keys().copied().collect()
    }

    /// Every `(chat, seq)`, for an SSE resume token.
    pub fn as_map(&self) -> &FxHashMap<i64, i64> {
        &self.seqs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_event_is_delivered_and_older_ones_dropped() {
        let mut p = Positions::default();
        p.set(7, 10);
        assert_eq!(p.offer(7, 11), Offer::Deliver);
        p.advance(7, 11);
        assert_eq!(p.offer(7, 11), Offer::Drop);
        assert_eq!(p.offer(7, 3), Offer::Drop);
        assert_eq!(p.offer(7, 12), Offer::Deliver);
    }

    #[test]
    fn a_gap_asks_for_a_fill_of_exactly_the_missing_range() {
        let mut p = Positions::default();
        p.set(7, 10);
        assert_eq!(
            p.offer(7, 14),
            Offer::Fill {
                after: 10,
                up_to: 13
            }
        );
        // The fill sent 11..=13; now 14 is next.
        p.advance(7, 13);
        assert_eq!(p.offer(7, 14), Offer::Deliver);
    }

    #[test]
    fn unfollowed_chats_and_backward_moves() {
        let mut p = Positions::default();
        assert_eq!(p.offer(9, 1), Offer::NotFollowed);
        p.set(9, 5);
        p.advance(9, 3);
        assert_eq!(p.get(9), Some(5), "advance never moves back");
        p.set(9, 2);
        assert_eq!(p.get(9), Some(2), "a resume may move back");
        p.unfollow(9);
        assert!(!p.follows(9));
        assert_eq!(p.offer(9, 6), Offer::NotFollowed);
    }
}
