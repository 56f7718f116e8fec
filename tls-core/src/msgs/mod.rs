//! The wire codec: every message type has one home here, and decoding is strict.

pub mod codec;
pub mod enums;
pub mod extensions;
mod server_ext;
pub mod handshake;
pub mod alert;
#[cfg(test)]
mod strategies;
