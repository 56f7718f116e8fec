//! The one adapter between tokio sockets and a tls-core [`Connection`]: a
//! small readiness-driven loop owning the connection and both sockets.
//!
//! Bytes are copied once on each side: sockets are read 64 KiB at a time
//! into a read buffer of the worker thread and handed to the engine (`feed`,
//! whose records are opened in place, or `write`, which seals in place);
//! records to send are written straight from [`Connection::pending_tls`], all
//! queued records in one write; decrypted plaintext is written straight from
//! [`Connection::peek_plaintext`]. Large reads measured better than the
//! engine's zero-copy `feed_with`/`write_with`, which read one record per
//! system call: the tunnel's cost is system calls, not the copy. Every buffer
//! is bounded, so a slow side stops us reading from the fast side
//! (backpressure) instead of growing memory. A connection owns no read
//! buffer (one per worker thread serves all), and the engine's buffers are
//! given back after [`RELEASE_AFTER`] without traffic, so an idle connection
//! holds almost no memory.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tls_core::{Connection, Error};
use tokio::time::{sleep_until, Instant, Sleep};

use crate::listen::Stream;

/// Plaintext bytes read at a time: four full records, so that one read
/// becomes four full-size records sent with one write.
const PLAIN_CHUNK: usize = 4 * 16 * 1024;
/// TLS bytes read at a time: four full records and their overhead.
const TLS_CHUNK: usize = 4 * (16 * 1024 + 256);

std::thread_local! {
    /// The read buffer of this worker thread, shared by all its connections:
    /// it is used only between a `try_read` and the engine call that copies
    /// out of it, never across an `.await`.
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; TLS_CHUNK.max(PLAIN_CHUNK)]);
}

/// Runs `f` on the first `len` bytes of this thread's read buffer.
fn with_read_buf<R>(len: usize, f: impl FnOnce(&mut [u8]) -> R) -> R {
    READ_BUF.with(|b| {
        let mut b = b.borrow_mut();
        let len = len.min(b.len());
        f(b.get_mut(..len).unwrap_or_default())
    })
}
/// Most encrypted bytes queued for the TLS peer before we stop reading plaintext.
const MAX_PENDING_TLS: usize = 64 * 1024;
/// Most decrypted bytes held for the plaintext side before we stop reading TLS.
const MAX_PENDING_PLAIN: usize = 64 * 1024;
/// Quiet time after which a connection's buffers are given back.
pub const RELEASE_AFTER: Duration = Duration::from_millis(500);

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Both directions finished cleanly.
    Closed,
    /// The TLS peer closed its transport without close_notify (data may be truncated).
    Truncated,
    /// No byte moved within the idle (or close) timeout.
    IdleTimeout,
    /// The connection reached its longest life (--max-conn-lifetime).
    MaxLifetime,
    /// The handshake did not finish in time.
    HandshakeTimeout,
    /// Closed before sending a complete ClientHello to make room for a newer
    /// connection (every handshake place was taken).
    Evicted,
    /// The TLS engine failed.
    Tls(Error),
    /// A socket failed.
    Io(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Closed => f.write_str("closed"),
            Outcome::Truncated => f.write_str("peer closed without close_notify"),
            Outcome::IdleTimeout => f.write_str("idle timeout"),
            Outcome::MaxLifetime => f.write_str("max connection lifetime reached"),
            Outcome::HandshakeTimeout => f.write_str("handshake timeout"),
            Outcome::Evicted => {
                f.write_str("evicted: no ClientHello yet and the handshake places were full")
            }
            Outcome::Tls(e) => write!(f, "tls: {e}"),
            Outcome::Io(e) => write!(f, "io: {e}"),
        }
    }
}

/// Counters of one relay.
#[derive(Debug, Default, Clone, Copy)]
pub struct Bytes {
    /// Plaintext received from the TLS peer and delivered.
    pub from_tls: u64,
    /// Plaintext read from the plaintext side and sent over TLS.
    pub to_tls: u64,
}

/// Feeds what a read returned (nothing at end of stream).
fn feed_some(conn: &mut Connection, tls: &[u8]) -> Result<(), Error> {
    if tls.is_empty() {
        return Ok(());
    }
    conn.feed(tls)
}

/// Seals what a read returned (nothing at end of stream).
fn write_some(conn: &mut Connection, plaintext: &[u8]) -> Result<(), Error> {
    if plaintext.is_empty() {
        return Ok(());
    }
    conn.write(plaintext)
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Sends what the engine queued, best effort and bounded by `deadline` (used
/// to deliver a fatal alert before closing).
async fn flush_until(conn: &mut Connection, tls: &Stream, deadline: Instant) {
    while conn.wants_write() {
        tokio::select! {
            _ = sleep_until(deadline) => return,
            r = tls.writable() => if r.is_err() { return },
        }
        match tls.try_write(conn.pending_tls()) {
            Ok(n) => conn.consume_tls(n),
            Err(e) if would_block(&e) => {}
            Err(_) => return,
        }
    }
}

/// `base + d`, or a far future when that cannot be represented (a limit
/// validated by the configuration never gets there).
pub fn later(base: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    base.checked_add(d)
        .or_else(|| base.checked_add(FAR))
        .unwrap_or(base)
}

/// Watches the first bytes read from a peer for the end of its first record
/// (a client's ClientHello): read from the record header, before the engine
/// spends any work on it.
#[derive(Debug, Default)]
struct FirstRecord {
    header: [u8; 5],
    seen: usize,
}

impl FirstRecord {
    /// Notes bytes read; true once the first record is complete.
    fn note(&mut self, bytes: &[u8]) -> bool {
        for (i, b) in bytes
            .iter()
            .enumerate()
            .take(5usize.saturating_sub(self.seen))
        {
            if let Some(slot) = self.header.get_mut(self.seen.saturating_add(i)) {
                *slot = *b;
            }
        }
        self.seen = self.seen.saturating_add(bytes.len());
        let len = usize::from(u16::from_be_bytes([self.header[3], self.header[4]]));
        self.seen >= 5 && self.seen >= 5 + len
    }
}

/// Runs the handshake over `tls` within `timeout`. On failure the alert (if
/// any) has been sent. `hello` is called once the peer's first record (a
/// client's ClientHello) has arrived whole.
pub async fn handshake(
    conn: &mut Connection,
    tls: &Stream,
    timeout: Duration,
    mut hello: impl FnMut(),
) -> Result<(), Outcome> {
    let deadline = later(Instant::now(), timeout);
    let mut first = FirstRecord::default();
    while conn.is_handshaking() {
        tokio::select! {
            biased;
            _ = sleep_until(deadline) => return Err(Outcome::HandshakeTimeout),
            r = tls.writable(), if conn.wants_write() => {
                r.map_err(|e| Outcome::Io(e.to_string()))?;
                match tls.try_write(conn.pending_tls()) {
                    Ok(n) => conn.consume_tls(n),
                    Err(e) if would_block(&e) => {}
                    Err(e) => return Err(Outcome::Io(e.to_string())),
                }
            }
            r = tls.readable() => {
                r.map_err(|e| Outcome::Io(e.to_string()))?;
                let fed = with_read_buf(TLS_CHUNK, |buf| {
                    tls.try_read(buf).map(|n| {
                        let got = buf.get(..n).unwrap_or_default();
                        if first.note(got) {
                            hello();
                        }
                        (n, feed_some(conn, got))
                    })
                });
                let fed = match fed {
                    Ok((0, _)) => return Err(Outcome::Tls(Error::UnexpectedEof)),
                    Ok((_, fed)) => fed,
                    Err(e) if would_block(&e) => continue,
                    Err(e) => return Err(Outcome::Io(e.to_string())),
                };
                if let Err(e) = fed {
                    flush_until(conn, tls, deadline.min(later(Instant::now(), Duration::from_secs(1)))).await;
                    return Err(Outcome::Tls(e));
                }
            }
        }
    }
    if let Some(e) = conn.error() {
        let e = e.clone();
        flush_until(conn, tls, deadline).await;
        return Err(Outcome::Tls(e));
    }
    Ok(())
}

/// Time limits of the relay phase.
#[derive(Debug, Clone, Copy)]
pub struct RelayLimits {
    /// Longest time without traffic.
    pub idle: Duration,
    /// Longest time without traffic once one direction has finished.
    pub close: Duration,
    /// Longest time in the relay, traffic or not; `None`: no limit.
    pub lifetime: Option<Duration>,
}

/// What woke the relay: its one timer, or a socket ready for a direction
/// it wants to move.
enum Wake {
    /// The earliest of the idle deadline, the end of life and (until the
    /// buffers are given back) the release time.
    Timer,
    TlsWrite(io::Result<()>),
    PlainWrite(io::Result<()>),
    TlsRead(io::Result<()>),
    PlainRead(io::Result<()>),
}

/// Waits for the timer or for one of the wanted directions (`want`: TLS
/// write, plaintext write, TLS read, plaintext read), trying them from
/// `first` round, so that a busy direction does not starve the others.
/// Readiness is polled in place: an idle relay keeps no future per socket.
async fn wake(
    mut timer: Pin<&mut Sleep>,
    tls: &Stream,
    plain: &Stream,
    want: [bool; 4],
    first: usize,
) -> Wake {
    std::future::poll_fn(|cx| {
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Wake::Timer);
        }
        for i in 0..want.len() {
            let k = first.wrapping_add(i) % want.len();
            if !want.get(k).copied().unwrap_or(false) {
                continue;
            }
            let (poll, wake): (_, fn(io::Result<()>) -> Wake) = match k {
                0 => (tls.poll_write_ready(cx), Wake::TlsWrite),
                1 => (plain.poll_write_ready(cx), Wake::PlainWrite),
                2 => (tls.poll_read_ready(cx), Wake::TlsRead),
                _ => (plain.poll_read_ready(cx), Wake::PlainRead),
            };
            if let Poll::Ready(r) = poll {
                return Poll::Ready(wake(r));
            }
        }
        Poll::Pending
    })
    .await
}

/// Moves data both ways until both directions have finished, honouring
/// half-close: end-of-file from the plaintext side becomes close_notify, and
/// the peer's close_notify becomes a write shutdown on the plaintext side.
///
/// Its state is kept small, as every idle connection holds it: one timer
/// (reset to the next of its deadlines) and socket readiness polled in
/// place, rather than a future per wait.
pub async fn relay(
    conn: &mut Connection,
    tls: &Stream,
    plain: &mut Stream,
    limits: RelayLimits,
    bytes: &mut Bytes,
) -> Outcome {
    let mut released = false;
    conn.release_buffers();

    // close_notify may have come with the last handshake flight.
    let mut tls_open = !conn.peer_closed(); // the TLS peer may still send
    let mut plain_open = true; // the plaintext side may still send
    let mut plain_shut = false; // we shut down writing to the plaintext side
    let mut truncated = false;
    let mut last_activity = Instant::now();
    let end_of_life = limits.lifetime.map(|d| later(last_activity, d));
    let timer = sleep_until(later(last_activity, limits.idle));
    tokio::pin!(timer);
    let mut turn = 0usize;

    loop {
        // Propagate end-of-stream once everything before it is delivered.
        if !tls_open && !plain_shut && conn.plaintext_len() == 0 {
            let _ = plain.shutdown_write().await;
            plain_shut = true;
        }
        if !plain_open && !conn.wants_write() && plain_shut {
            return if truncated {
                Outcome::Truncated
            } else {
                Outcome::Closed
            };
        }
        let idle = if tls_open && plain_open {
            limits.idle
        } else {
            limits.idle.min(limits.close)
        };
        let deadline = later(last_activity, idle);
        let mut next = end_of_life.map_or(deadline, |e| e.min(deadline));
        if !released {
            next = next.min(later(last_activity, RELEASE_AFTER));
        }
        if timer.deadline() != next {
            timer.as_mut().reset(next);
        }

        let want = [
            conn.wants_write(),
            !plain_shut && conn.plaintext_len() > 0,
            tls_open && conn.plaintext_len() < MAX_PENDING_PLAIN,
            plain_open && conn.pending_tls().len() < MAX_PENDING_TLS,
        ];
        turn = turn.wrapping_add(1);

        match wake(timer.as_mut(), tls, plain, want, turn).await {
            Wake::Timer if next == deadline => return Outcome::IdleTimeout,
            Wake::Timer if Some(next) == end_of_life => return Outcome::MaxLifetime,
            Wake::Timer => {
                conn.release_buffers();
                released = true;
            }
            Wake::TlsWrite(r) => {
                if let Err(e) = r {
                    return Outcome::Io(e.to_string());
                }
                match tls.try_write(conn.pending_tls()) {
                    Ok(n) => {
                        conn.consume_tls(n);
                        last_activity = Instant::now();
                        released = false;
                    }
                    Err(e) if would_block(&e) => {}
                    Err(_) if truncated => return Outcome::Truncated,
                    Err(e) => return Outcome::Io(format!("tls side: {e}")),
                }
            }
            Wake::PlainWrite(r) => {
                if let Err(e) = r {
                    return Outcome::Io(e.to_string());
                }
                match plain.try_write(conn.peek_plaintext()) {
                    Ok(n) => {
                        conn.consume_plaintext(n);
                        bytes.from_tls = bytes.from_tls.saturating_add(n as u64);
                        last_activity = Instant::now();
                        released = false;
                    }
                    Err(e) if would_block(&e) => {}
                    Err(e) => return Outcome::Io(format!("plaintext side: {e}")),
                }
            }
            Wake::TlsRead(r) => {
                if let Err(e) = r {
                    return Outcome::Io(e.to_string());
                }
                released = false;
                let fed = with_read_buf(TLS_CHUNK, |buf| {
                    tls.try_read(buf)
                        .map(|n| (n, feed_some(conn, buf.get(..n).unwrap_or_default())))
                });
                match fed {
                    Ok((0, _)) => {
                        tls_open = false;
                        // Treated as a half-close; a peer that is gone entirely
                        // shows up as a write error below.
                        truncated = !conn.peer_closed();
                    }
                    Ok((_, Ok(()))) => {
                        last_activity = Instant::now();
                        if conn.peer_closed() {
                            tls_open = false;
                        }
                    }
                    Ok((_, Err(e))) => {
                        // Boxed: the error path's future is not part of
                        // every idle connection's state.
                        let until = later(Instant::now(), Duration::from_secs(1));
                        Box::pin(flush_until(conn, tls, until)).await;
                        return Outcome::Tls(e);
                    }
                    Err(e) if would_block(&e) => {}
                    Err(e) => return Outcome::Io(format!("tls side: {e}")),
                }
            }
            Wake::PlainRead(r) => {
                if let Err(e) = r {
                    return Outcome::Io(e.to_string());
                }
                released = false;
                let sealed = with_read_buf(PLAIN_CHUNK, |buf| {
                    plain
                        .try_read(buf)
                        .map(|n| (n, write_some(conn, buf.get(..n).unwrap_or_default())))
                });
                match sealed {
                    Ok((0, _)) => {
                        plain_open = false;
                        conn.close();
                    }
                    Ok((n, Ok(()))) => {
                        last_activity = Instant::now();
                        bytes.to_tls = bytes.to_tls.saturating_add(n as u64);
                    }
                    Ok((_, Err(e))) => return Outcome::Tls(e),
                    Err(e) if would_block(&e) => {}
                    Err(e) => return Outcome::Io(format!("plaintext side: {e}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_record_ends_where_its_header_says() {
        let mut r = FirstRecord::default();
        assert!(!r.note(&[0x16, 0x03]));
        assert!(!r.note(&[0x01, 0x00, 0x04, 1, 2]));
        assert!(r.note(&[3, 4, 9]));
        assert!(!FirstRecord::default().note(&[]));
    }

    #[test]
    fn deadlines_never_overflow() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now);
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
    }
}
