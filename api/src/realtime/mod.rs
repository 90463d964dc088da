//! The realtime gateway (ARCHITECTURE §3): the per-replica [`hub`] and the
//! [`socket`] task that serves both WebSockets and [`sse`].

pub mod hub;
pub mod socket;
pub mod sse;
pub mod transport;
