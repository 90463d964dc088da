//! [`AuthContext`]: the caller of an authenticated request, as every
//! domain operation receives it ([`crate::domain::accounts::authenticate`]
//! makes it from an access token).

use uuid::Uuid;

/// The caller of an authenticated request: who, and through which session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthContext {
    pub user_id: i64,
    pub session_id: Uuid,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
}
