//! The typing state of one socket (docs/realtime.md): which chats its user
//! is typing in, when each was last renewed, which signals to pass on. No
//! I/O and no clock of its own: every call takes `now`, so that expiry is
//! tested under tokio's paused time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// How long a typing signal holds without renewal (API.md: ~5 s).
pub const TTL: Duration = Duration::from_secs(5);
/// A renewed `typing` is passed on at most this often.
pub const THROTTLE: Duration = Duration::from_secs(2);

/// The chats a socket's user is typing in.
#[derive(Debug, Default)]
pub struct Typing {
    since: HashMap<i64, Instant>,
}

impl Typing {
    /// The client says it is (or stopped) typing in `chat_id`; returns
    /// whether to publish that (`false` for a renewal within [`THROTTLE`],
    /// or a stop that was not typing).
    pub fn set(&mut self, chat_id: i64, is_typing: bool, now: Instant) -> bool {
        if is_typing {
            let recent = self
                .since
                .get(&chat_id)
                .is_some_and(|at| now.duration_since(*at) < THROTTLE);
            self.since.insert(chat_id, now);
            !recent
        } else {
            self.since.remove(&chat_id).is_some()
        }
    }

    /// Forgets `chat_id` (the user left it); whether they were typing there.
    pub fn forget(&mut self, chat_id: i64) -> bool {
        self.since.remove(&chat_id).is_some()
    }

    /// The chats whose typing was not renewed within [`TTL`], forgotten:
    /// publish `is_typing: false` for each.
    pub fn expire(&mut self, now: Instant) -> Vec<i64> {
        let expired: Vec<i64> = self
            .since
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= TTL)
            .map(|(chat, _)| *chat)
            .collect();
        for chat in &expired {
            self.since.remove(chat);
        }
        expired
    }

    /// Every chat still typing in, forgotten (the socket closes).
    pub fn drain(&mut self) -> Vec<i64> {
        self.since.drain().map(|(chat, _)| chat).collect()
    }

    /// Whether the user types anywhere (the expiry tick runs only then).
    pub fn is_empty(&self) -> bool {
        self.since.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn renewals_are_throttled_and_silence_expires() {
        let mut typing = Typing::default();
        assert!(
            typing.set(1, true, Instant::now()),
            "the first signal goes out"
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(
            !typing.set(1, true, Instant::now()),
            "a renewal within 2 s does not"
        );
        tokio::time::advance(Duration::from_millis(2500)).await;
        assert!(typing.set(1, true, Instant::now()), "a later renewal does");
        tokio::time::advance(TTL - Duration::from_millis(1)).await;
        assert!(typing.expire(Instant::now()).is_empty(), "not yet expired");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(typing.expire(Instant::now()), vec![1]);
        assert!(typing.is_empty());
        assert!(
            !typing.set(1, false, Instant::now()),
            "stopping twice says nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_and_closing() {
        let mut typing = Typing::default();
        typing.set(1, true, Instant::now());
        typing.set(2, true, Instant::now());
        assert!(typing.set(1, false, Instant::now()));
        assert!(typing.forget(2));
        assert!(!typing.forget(2));
        typing.set(3, true, Instant::now());
        assert_eq!(typing.drain(), vec![3]);
    }
}
