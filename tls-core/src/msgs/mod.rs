//! The wire codec: every message type has one home here, and decoding is strict.

pub(crate) mod alert;
pub(crate) mod codec;
pub(crate) mod enums;
pub(crate) mod extensions;
pub(crate) mod handshake;
pub(crate) mod handshake12;
mod server_ext;
#[cfg(test)]
mod strategies;
