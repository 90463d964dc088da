//! Every way the server ends a realtime connection, in one place (the
//! shape of centrifuge's `disconnect.go`), but for the frames it cannot
//! read (1002, 1007, 1009: `ws/reader.rs`). The codes are documented for
//! client authors in docs/realtime.md.

use actix_http::ws::{CloseCode, CloseReason};

/// Close code after `session_revoked` (API.md): log in or refresh, then
/// reconnect.
pub const SESSION_REVOKED: u16 = 4001;

/// 1013: the client stopped reading and its queue overflowed; reconnect and
/// `resume`.
pub fn too_slow() -> CloseReason {
    CloseReason {
        code: CloseCode::Again,
        description: Some("too slow: reconnect and resume".into()),
    }
}

/// 4001: the socket's session ended (logout, revoked, refresh-token reuse,
/// access token expired).
pub fn session_revoked() -> CloseReason {
    CloseReason {
        code: CloseCode::Other(SESSION_REVOKED),
        description: Some("session revoked".into()),
    }
}

/// 1001: nothing heard from the client for twice the heartbeat interval.
pub fn heartbeat_timeout() -> CloseReason {
    CloseReason {
        code: CloseCode::Away,
        description: Some("heartbeat timeout".into()),
    }
}

/// 1011: the server failed (the database or Redis is unavailable).
pub fn server_error() -> CloseReason {
    CloseCode::Error.into()
}

/// Whether `reason` is [`too_slow`]: its close frame waits behind what is
/// already buffered for the client.
pub fn is_too_slow(reason: &CloseReason) -> bool {
    reason.code == CloseCode::Again
}
