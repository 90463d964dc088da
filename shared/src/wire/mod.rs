//! What the transports send and receive: the serde types of each API.
//! Today the native API (seed 004); the dialects of seeds 000–003 come
//! next to it.

pub mod native;
