//! How a socket publishes its user's typing (docs/realtime.md): the state
//! is [`super::typing::Typing`]'s, the I/O is here. Part of
//! [`super::socket::Socket`].

use parley_shared::domain::live::{self, LiveEvent};
use parley_shared::infra::bus::Topic;

use crate::realtime::socket::Socket;
use crate::realtime::transport::Transport;
use crate::realtime::typing;

impl<T: Transport> Socket<T> {
    /// Publishes this user's typing state in `chat_id` (throttled while it
    /// is renewed) and remembers it, so that it can expire.
    pub(super) async fn set_typing(&mut self, chat_id: i64, is_typing: bool) {
        if self
            .typing
            .set(chat_id, is_typing, tokio::time::Instant::now())
        {
            self.publish_typing(chat_id, is_typing).await;
        }
    }

    pub(super) async fn publish_typing(&self, chat_id: i64, is_typing: bool) {
        let event = LiveEvent::Typing {
            chat_id,
            user_id: self.auth.user_id,
            is_typing,
            expires_in_ms: typing::TTL.as_millis() as u64,
        };
        live::publish(&self.state.ctx.bus, Topic::Chat(chat_id), &event).await;
    }

    /// Says `is_typing: false` for chats whose typing was not renewed.
    pub(super) async fn expire_typing(&mut self) {
        for chat_id in self.typing.expire(tokio::time::Instant::now()) {
            self.publish_typing(chat_id, false).await;
        }
    }

    /// On close: this user stopped typing everywhere it was.
    pub(super) async fn stop_all_typing(&mut self) {
        for chat_id in self.typing.drain() {
            self.publish_typing(chat_id, false).await;
        }
    }
}
