//! The wire codec: every message type has one home here, and decoding is strict.

pub mod codec;
pub mod enums;
