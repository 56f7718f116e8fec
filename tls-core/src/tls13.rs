//! Small pieces of the TLS 1.3 handshake shared by client and server.

/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2
/// (RFC 8446 §4.1.3).
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
/// The last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.1 or below.
pub const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// True when a server random carries either downgrade sentinel.
pub fn has_downgrade_sentinel(random: &[u8; 32]) -> bool {
    let tail = &random[24..];
    tail == DOWNGRADE_TLS12 || tail == DOWNGRADE_TLS11
}
