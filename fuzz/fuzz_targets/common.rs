//! Shared by both targets (`mod common;`): deterministic randomness and time
//! for the engine, and the loop that feeds it the fuzzer's bytes.

use tls_core::{Clock, Connection, EntropyError, EntropySource, UnixTime};

/// Deterministic "randomness", so a crash reproduces byte for byte.
pub struct FixedEntropy;

impl EntropySource for FixedEntropy {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for (i, b) in dest.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(31).wrapping_add(7);
        }
        Ok(())
    }
}

/// A fixed time (2026-01-01).
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(1_767_225_600)
    }
}

/// Feeds `data` to `conn` as the peer's bytes. The first byte picks how the
/// rest is cut into `feed` calls (whole, or pieces of 1..=64 bytes), to
/// exercise record and handshake reassembly. Nothing here may panic; a fatal
/// error must poison the connection.
pub fn drive(conn: &mut Connection, data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else { return };
    let piece = if control & 0x80 == 0 { rest.len().max(1) } else { usize::from(control & 0x3f) + 1 };
    let mut buf = [0u8; 4096];
    for chunk in rest.chunks(piece) {
        let result = conn.feed(chunk);
        // Take whatever the engine wants to send, and any plaintext.
        let pending = conn.pending_tls().len();
        conn.consume_tls(pending);
        while conn.read(&mut buf) > 0 {}
        while conn.next_event().is_some() {}
        if let Err(e) = result {
            // Poisoned: every later call fails with the same error.
            assert_eq!(conn.feed(b"\x17\x03\x03\x00\x01\x00"), Err(e.clone()));
            assert_eq!(conn.write(b"after failure"), Err(e));
            return;
        }
    }
    // Exercise the sending side in whatever state the input left us.
    let _ = conn.write(b"0123456789");
    conn.close();
    let pending = conn.pending_tls().len();
    conn.consume_tls(pending);
    let _ = conn.negotiated();
    let _ = conn.is_handshaking();
}
