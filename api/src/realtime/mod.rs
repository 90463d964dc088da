//! The realtime gateway (ARCHITECTURE §3): the per-replica [`hub`] and the
//! WebSocket [`socket`] task.

pub mod hub;
pub mod socket;
