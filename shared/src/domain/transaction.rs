//! Transactions that lose a race are run again: [`crate::transaction!`].
//! Every write of a chat locks the chat's row first
//! ([`crate::domain::models::Chat::lock`]); a deadlock or serialization
//! failure that still happens is retried here, never answered with a 500.

use std::time::Duration;

/// How many times [`crate::transaction!`] runs a transaction that lost a
/// race (deadlock or serialization failure) before it answers
/// [`crate::AppError::Contention`].
pub const TRANSACTION_ATTEMPTS: u32 = 4;

/// Waits a little before the next attempt of a transaction that lost a race:
/// 5–20 ms, growing with `attempt`, with jitter so that the racers part.
pub async fn contention_backoff(attempt: u32) {
    use rand::Rng;
    let base = 5 * u64::from(attempt.min(4));
    let jitter = rand::rng().random_range(0..=base);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// `transaction!(conn, async |conn| { ... })`: runs the body in one
/// transaction of `conn` (an `AsyncPgConnection` or a pooled one) and
/// returns its `AppResult`. A transaction that fails with a deadlock or a
/// serialization failure is rolled back and run again, up to
/// [`TRANSACTION_ATTEMPTS`] times;
/// after that the caller gets [`AppError::Contention`](crate::AppError)
/// (503), never a 500. The body may therefore run more than once: it must
/// only borrow what it captures, and publish nothing before commit.
///
/// A macro rather than a function because diesel-async's transaction takes
/// an `async` closure whose future must be `Send`, a bound an `AsyncFnMut`
/// parameter cannot state on stable Rust.
#[macro_export]
macro_rules! transaction {
    ($conn:expr, async |$c:ident| $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let result = diesel_async::AsyncConnection::transaction::<_, $crate::AppError, _>(
                &mut *$conn,
                async |$c| $body,
            )
            .await;
            match result {
                Err($crate::AppError::Contention)
                    if attempt < $crate::domain::transaction::TRANSACTION_ATTEMPTS =>
                {
                    tracing::debug!(attempt, "transaction lost a race; retrying");
                    $crate::domain::transaction::contention_backoff(attempt).await;
                }
                other => break other,
            }
        }
    }};
}
