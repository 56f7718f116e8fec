//! The wire codec: every message type has one home here, and decoding is strict.

pub mod alert;
pub mod codec;
pub mod enums;
pub mod extensions;
pub mod handshake;
pub mod handshake12;
mod server_ext;
#[cfg(test)]
mod strategies;
