//! A socket's opening and closing (part of [`super::socket`]): registering
//! with the hub and counting its user present, then leaving the hub,
//! stopping the user's typing and saying goodbye. `socket::run` awaits both
//! boxed: their futures are large, and one awaited in place would be part
//! of the socket's task for its whole life (issue 13, item 4).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parley_shared::domain::accounts::AuthContext;
use parley_shared::telemetry::metrics::FRAMES_SENT;

use crate::error::ApiError;
use crate::realtime::close;
use crate::realtime::hub::Inbox;
use crate::realtime::ordering::Positions;
use crate::realtime::socket::{End, Socket};
use crate::realtime::transport::Transport;
use crate::realtime::typing::Typing;
use crate::state::ApiState;

/// How long the server tries to say goodbye to a client before it drops the
/// connection.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A socket registered with the hub and counted present.
pub(super) struct Opened<T: Transport> {
    pub(super) socket: Socket<T>,
    pub(super) rx: Inbox,
    pub(super) presence_key: String,
}

/// Registers the socket with the hub and counts its user present; `None`
/// (after closing with 1011) when the hub cannot follow chats.
pub(super) async fn open<T: Transport>(
    state: Arc<ApiState>,
    auth: AuthContext,
    transport: T,
) -> Option<Opened<T>> {
    let capacity = state.ctx.settings.realtime.ws_outbound_queue;
    let (conn, rx) = match state.hub.register(auth.user_id, capacity).await {
        Ok(registered) => registered,
        Err(err) => {
            tracing::warn!(user.id = auth.user_id, error = %err, "socket refused: subscribe failed");
            let _ =
                tokio::time::timeout(CLOSE_TIMEOUT, transport.close(Some(close::server_error())))
                    .await;
            return None;
        }
    };
    tracing::info!(user.id = auth.user_id, conn.id = conn, "socket connected");
    let presence_key = state.hub.presence_key(conn);
    match state
        .ctx
        .presence
        .connect(auth.user_id, &presence_key)
        .await
    {
        Ok(true) => {
            let ctx = state.ctx.clone();
            tokio::spawn(async move {
                parley_shared::domain::presence::announce(&ctx, auth.user_id, true).await
            });
        }
        Ok(false) => {}
        Err(err) => tracing::warn!(user.id = auth.user_id, error = %err, "presence update failed"),
    }
    let socket = Socket {
        state,
        auth,
        transport,
        positions: Positions::default(),
        focused: HashSet::new(),
        typing: Typing::default(),
        closing: None,
        conn,
        overflow: rx.overflow_signal(),
        frames_sent: metrics::counter!(FRAMES_SENT),
        frames_uncounted: 0,
    };
    Some(Opened {
        socket,
        rx,
        presence_key,
    })
}

impl<T: Transport> Socket<T> {
    /// Leaves the hub, stops the user's typing, counts the socket gone and
    /// says goodbye to the client with the reason `end` gives.
    pub(super) async fn finish(mut self, end: Result<End, ApiError>, presence_key: String) {
        self.count_frames();
        let (user_id, conn) = (self.auth.user_id, self.conn);
        self.state.hub.unregister(conn).await;
        self.stop_all_typing().await;
        match self
            .state
            .ctx
            .presence
            .disconnect(user_id, &presence_key)
            .await
        {
            Ok(true) => {
                parley_shared::domain::presence::announce(&self.state.ctx, user_id, false).await
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(user.id = user_id, error = %err, "presence update failed"),
        }
        let reason = match end {
            Ok(End::Close(reason)) => {
                tracing::info!(user.id = user_id, conn.id = conn, code = ?reason.code, "socket closed by server");
                Some(reason)
            }
            Ok(End::Gone) if self.closing.is_some() => {
                tracing::info!(user.id = user_id, conn.id = conn, "socket closed by server");
                self.closing.take()
            }
            Ok(End::Gone) => {
                tracing::info!(user.id = user_id, conn.id = conn, "socket closed");
                None
            }
            Err(err) => {
                tracing::warn!(user.id = user_id, conn.id = conn, error = %err.0, "socket failed");
                Some(close::server_error())
            }
        };
        let linger = match &reason {
            // The 1013 waits behind the frames already buffered for the
            // client: one that reads again within `WS_SLOW_CLOSE_LINGER_MS`
            // gets them and then the 1013 (issue 6, item 11); after it, the
            // connection is dropped (the client sees 1006). Only the bounded
            // queue is held.
            Some(reason) if close::is_too_slow(reason) => {
                Duration::from_millis(self.state.ctx.settings.realtime.ws_slow_close_linger_ms)
            }
            _ => CLOSE_TIMEOUT,
        };
        let _ = tokio::time::timeout(linger, self.transport.close(reason)).await;
    }
}
