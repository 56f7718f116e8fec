//! Test payloads and bounded transfer helpers.
//!
//! Payloads use only ASCII digits and '\n': `openssl s_server`/`s_client`
//! treat some letters at the start of a read as commands (Q, R, k, K), and
//! `gnutls-serv --echo` answers line by line.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// One mebibyte.
pub const MIB: usize = 1 << 20;

/// A deterministic payload of `len` bytes: lines of 7 digits and '\n'
/// (the last line may be cut short). Different seeds give different bytes.
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    while out.len() < len {
        // xorshift64*: cheap and deterministic.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let value = state.wrapping_mul(0x2545_f491_4f6c_dd1d) % 10_000_000;
        out.extend_from_slice(format!("{value:07}\n").as_bytes());
    }
    out.truncate(len);
    out
}

/// True if `data` holds only ASCII digits and '\n'.
pub fn is_digits_and_newlines(data: &[u8]) -> bool {
    data.iter().all(|&b| b.is_ascii_digit() || b == b'\n')
}

/// Panics unless `got == want`, with a short message (lengths and the first
/// differing offset) rather than a megabyte of bytes.
#[track_caller]
pub fn assert_same_bytes(what: &str, got: &[u8], want: &[u8]) {
    if got == want {
        return;
    }
    let first_diff = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    let around = |d: &[u8]| {
        let start = first_diff.saturating_sub(16);
        let end = (first_diff + 16).min(d.len());
        String::from_utf8_lossy(d.get(start..end).unwrap_or_default()).into_owned()
    };
    panic!(
        "{what}: got {} bytes, want {}; first difference at offset {first_diff}: got {:?}, want {:?}",
        got.len(),
        want.len(),
        around(got),
        around(want)
    );
}

/// Reads exactly `n` bytes, failing if the deadline passes or the stream
/// ends first. Each read is itself bounded by the transport's timeout.
pub fn read_exact_within(r: &mut impl Read, n: usize, timeout: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut out = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("read {filled} of {n} bytes before the deadline"),
            ));
        }
        match r.read(&mut out[filled..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("stream ended after {filled} of {n} bytes"),
                ))
            }
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Writes `data` in `chunk`-sized writes, flushing after each.
pub fn write_chunked(w: &mut impl Write, data: &[u8], chunk: usize) -> io::Result<()> {
    for piece in data.chunks(chunk.max(1)) {
        w.write_all(piece)?;
        w.flush()?;
    }
    Ok(())
}

/// Reads until the stream reports its end (`Ok(0)`: for a TLS stream, the
/// peer's close_notify), returning any bytes that came before it. Fails if
/// more than `max` bytes arrive or the deadline passes.
pub fn read_to_close(r: &mut impl Read, max: usize, timeout: Duration) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no close before the deadline",
            ));
        }
        match r.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(k) => {
                out.extend_from_slice(&buf[..k]);
                if out.len() > max {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{} bytes arrived where at most {max} were expected",
                            out.len()
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Sends `data` in `chunk`-sized pieces and reads each piece's echo before
/// sending the next (an echo server that answers line by line stays in
/// step). Returns everything echoed.
pub fn echo_lockstep(
    s: &mut (impl Read + Write),
    data: &[u8],
    chunk: usize,
    timeout: Duration,
) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut echoed = Vec::with_capacity(data.len());
    for piece in data.chunks(chunk.max(1)) {
        s.write_all(piece)?;
        s.flush()?;
        let left = deadline.saturating_duration_since(Instant::now());
        echoed.extend_from_slice(&read_exact_within(s, piece.len(), left)?);
    }
    Ok(echoed)
}
