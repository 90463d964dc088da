//! The realtime gateway (ARCHITECTURE §3): the per-replica [`hub`] and the
//! [`socket`] task that serves both WebSockets (their connections:
//! `ws/`) and [`sse`]; its opening and closing, its delivery and
//! its typing signals are `lifecycle.rs`, `delivery.rs` and
//! `typing_signals.rs`. The socket's parts without I/O are their own
//! modules: [`ordering`] (exactly once, in order),
//! [`commands`] (client frames), [`close`] (close codes), [`typing`].

pub mod close;
pub mod commands;
mod delivery;
pub mod frame;
pub mod hub;
mod lifecycle;
pub mod ordering;
pub mod socket;
pub mod sse;
pub mod transport;
pub mod typing;
mod typing_signals;
pub(crate) mod ws;
