//! The TLS 1.3 key schedule (RFC 8446 §7.1).
