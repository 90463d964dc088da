//! JWT signing keys (jsonwebtoken, HS256) and the claims Parley puts in its
//! access and refresh tokens. What a token allows is decided in
//! [`crate::domain::accounts`].

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Settings;

/// The two kinds of token, told apart by the `typ` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived; authenticates requests and sockets.
    Access,
    /// Long-lived; trades itself for a new pair once.
    Refresh,
}

impl TokenKind {
    fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// What a token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (RFC 7519).
    pub sub: String,
    /// The session's public id (`sessions.jti`).
    pub sid: Uuid,
    /// This token's id; for refresh tokens, compared with `sessions.refresh_jti`.
    pub jti: Uuid,
    /// `access` or `refresh`.
    pub typ: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

impl Claims {
    /// The user id in `sub`; `None` when it is not a number.
    pub fn user_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// Why a token was refused or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Past its `exp`.
    #[error("The token has expired.")]
    Expired,
    /// Not signed by us, malformed, or of the other kind.
    #[error("{0}")]
    Invalid(String),
    /// Signing failed (a bug: HS256 with a secret cannot fail).
    #[error("signing a token failed: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Signing keys and lifetimes of tokens, from [`Settings`].
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    access_ttl_secs: i64,
    refresh_ttl_secs: i64,
}

impl TokenKeys {
    /// Keys from `JWT_SECRET` and the two lifetimes.
    pub fn from_settings(settings: &Settings) -> Self {
        let secret = settings.auth.jwt_secret.expose_secret().as_bytes();
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl_secs: settings.auth.access_token_ttl_secs,
            refresh_ttl_secs: settings.auth.refresh_token_ttl_secs,
        }
    }

    /// How long an access token lives, in seconds.
    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl_secs
    }

    /// Signs a token of `kind` for `user_id` in session `sid`, with id `jti`.
    ///
    /// Errors: [`TokenError::Signing`].
    pub fn sign(
        &self,
        user_id: i64,
        sid: Uuid,
        jti: Uuid,
        kind: TokenKind,
    ) -> Result<String, TokenError> {
        let now = Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl_secs,
            TokenKind::Refresh => self.refresh_ttl_secs,
        };
        let claims = Claims {
            sub: user_id.to_string(),
            sid,
            jti,
            typ: kind.as_str().to_owned(),
            iat: now,
            exp: now + ttl,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(TokenError::Signing)
    }

    /// The claims of a valid, unexpired token of `kind` (no leeway).
    ///
    /// Errors: [`TokenError::Expired`], [`TokenError::Invalid`].
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(|err| {
                match err.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid("The token is not valid.".into()),
                }
            })?;
        if data.claims.typ != kind.as_str() {
            return Err(TokenError::Invalid(format!(
                "This is not an {} token.",
                kind.as_str()
            )));
        }
        if data.claims.user_id().is_none() {
            return Err(TokenError::Invalid("The token is not valid.".into()));
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;

    fn keys() -> TokenKeys {
        TokenKeys::from_settings(&Settings::from_map(HashMap::new()).unwrap())
    }

    #[test]
    fn access_and_refresh_tokens_are_not_interchangeable() {
        let keys = keys();
        let sid = Uuid::new_v4();
        let access = keys
            .sign(7, sid, Uuid::new_v4(), TokenKind::Access)
            .unwrap();
        let refresh = keys
            .sign(7, sid, Uuid::new_v4(), TokenKind::Refresh)
            .unwrap();
        let claims = keys.verify(&access, TokenKind::Access).unwrap();
        assert_eq!(claims.user_id(), Some(7));
        assert!(keys.verify(&access, TokenKind::Refresh).is_err());
        assert!(keys.verify(&refresh, TokenKind::Access).is_err());
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let keys = keys();
        let mut tampered = keys
            .sign(7, Uuid::new_v4(), Uuid::new_v4(), TokenKind::Access)
            .unwrap();
        tampered.pop();
        tampered.push('x');
        assert!(matches!(
            keys.verify(&tampered, TokenKind::Access),
            Err(TokenError::Invalid(_))
        ));
    }
}
