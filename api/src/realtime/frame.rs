//! [`Frame`]: an event from the bus as a replica's sockets share it.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parley_shared::domain::live::LiveEvent;
use parley_shared::wire::native::render;

/// A [`LiveEvent`] decoded once per replica and rendered at most once per
/// API, however many local sockets send it (issue 7, item 4). A dialect
/// adds its own lazily rendered bytes here.
#[derive(Debug)]
pub struct Frame {
    pub event: LiveEvent,
    native: OnceLock<Bytes>,
}

impl Frame {
    /// Wraps an event for sharing.
    pub fn new(event: LiveEvent) -> Arc<Frame> {
        Arc::new(Frame {
            event,
            native: OnceLock::new(),
        })
    }

    /// The native API's frame (docs/realtime.md), rendered on first use.
    /// Borrowed, not a `Bytes` clone: the sockets of both worker threads
    /// send it, and a clone's reference count is a cache line they would
    /// fight over once per delivery (4% of the API's CPU in a busy group).
    pub fn native(&self) -> &[u8] {
        self.native
            .get_or_init(|| render::live(&self.event).to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_once_and_shares_the_bytes() {
        let frame = Frame::new(LiveEvent::DeletedForMe {
            chat_id: 1,
            message_id: 2,
        });
        let first = frame.native();
        let second = frame.native();
        assert_eq!(
            first,
            br#"{"type":"message_deleted","chat_id":1,"message_id":2,"for_all":false}"#
        );
        // The same allocation: rendered once.
        assert_eq!(first.as_ptr(), second.as_ptr());
    }
}
