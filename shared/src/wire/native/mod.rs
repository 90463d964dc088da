//! The native API's wire types (seed 004 §3, API.md): request and read
//! DTOs ([`dto`]) and realtime frames ([`events`]).

pub mod dto;
pub mod events;
pub mod render;
