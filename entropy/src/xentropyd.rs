//! The xentropyd protocol: entropy from the Xen dom0 entropy daemon.
//!
//! xentropyd connects to each guest over a Xen console ("channel") named
//! `org.openmirage.entropy.1`. So that a guest that opened the wrong console
//! does not take other output for entropy, the two sides first exchange fixed
//! lines: the guest writes [`GREETING`] in one block, the daemon answers
//! [`ANSWER`], and every byte after the answer is entropy.
//!
//! [`Xentropyd`] speaks this over any [`Stream`] the caller opens: a console
//! device, a pipe, a Unix socket (`IoStream` adapts `std::io` types).
//! Replies are read into a buffer and matched byte for byte as they arrive, so
//! a wrong answer is caught at its first wrong byte, and entropy that arrives
//! in the same read as the answer is kept, not lost. A wrong answer, an early
//! end of stream, a timeout or a read error is a typed error, gives no output,
//! and poisons the source: every later read returns the same error.
//!
//! Timeouts belong to the stream (for example
//! `UnixStream::set_read_timeout`); a timed-out read is [`XentropydError::TimedOut`].
//!
//! The daemon's bytes come from dom0's kernel CSPRNG: add this source to a
//! pool as [`SourceKind::Conditioned`](crate::pool::SourceKind::Conditioned).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::pool::NoiseSource;
use crate::EntropyError;

/// What the guest sends first.
pub const GREETING: &[u8] = b"Hello, may I have some entropy?\r\n";

/// What the daemon answers; everything after it is entropy.
pub const ANSWER: &[u8] = b"You may treat everything following this message as entropy.\r\n";

/// The Xen console (channel) name xentropyd offers entropy on.
pub const CHANNEL_NAME: &str = "org.openmirage.entropy.1";

/// Size of the read buffer.
const BUFFER: usize = 4096;

/// A failed read or write on the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// The read or write did not complete in time.
    TimedOut,
    /// The peer reset or abandoned the connection.
    Reset,
    /// Any other failure, described.
    Other(&'static str),
    /// An I/O error of this kind (std).
    #[cfg(feature = "std")]
    Io(std::io::ErrorKind),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::TimedOut => f.write_str("timed out"),
            StreamError::Reset => f.write_str("connection reset"),
            StreamError::Other(s) => f.write_str(s),
            #[cfg(feature = "std")]
            StreamError::Io(kind) => write!(f, "i/o error: {kind}"),
        }
    }
}

/// A bidirectional byte stream to the daemon.
pub trait Stream: Send {
    /// Reads some bytes into `buf`; `Ok(0)` means the stream has ended.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError>;
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> Result<(), StreamError>;
}

/// Why xentropyd gave no entropy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XentropydError {
    /// The daemon's answer differed from the protocol's at this byte offset:
    /// not xentropyd, or the wrong console.
    WrongAnswer {
        /// Offset of the first differing byte in [`ANSWER`].
        offset: usize,
    },
    /// The stream ended before the whole answer arrived.
    ClosedDuringHandshake {
        /// How many bytes of the answer had arrived.
        received: usize,
    },
    /// The stream ended while entropy was being read (the daemon went away).
    Closed,
    /// The stream timed out (the daemon stopped sending).
    TimedOut,
    /// The stream failed.
    Stream(StreamError),
}

impl XentropydError {
    /// A fixed description, for [`EntropyError`].
    pub fn as_str(&self) -> &'static str {
        match self {
            XentropydError::WrongAnswer { .. } => "xentropyd: wrong answer to the greeting",
            XentropydError::ClosedDuringHandshake { .. } => "xentropyd: closed during handshake",
            XentropydError::Closed => "xentropyd: stream closed",
            XentropydError::TimedOut => "xentropyd: timed out",
            XentropydError::Stream(_) => "xentropyd: stream error",
        }
    }
}

impl fmt::Display for XentropydError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XentropydError::WrongAnswer { offset } => {
                write!(
                    f,
                    "xentropyd: wrong answer to the greeting at byte {offset}"
                )
            }
            XentropydError::ClosedDuringHandshake { received } => write!(
                f,
                "xentropyd: stream closed after {received} of {} answer bytes",
                ANSWER.len()
            ),
            XentropydError::Closed => f.write_str("xentropyd: stream closed"),
            XentropydError::TimedOut => f.write_str("xentropyd: timed out"),
            XentropydError::Stream(e) => write!(f, "xentropyd: {e}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for XentropydError {}

impl From<StreamError> for XentropydError {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::TimedOut => XentropydError::TimedOut,
            #[cfg(feature = "std")]
            StreamError::Io(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                XentropydError::TimedOut
            }
            other => XentropydError::Stream(other),
        }
    }
}

impl From<XentropydError> for EntropyError {
    fn from(e: XentropydError) -> Self {
        EntropyError(e.as_str())
    }
}

/// A source that has completed the handshake with xentropyd.
pub struct Xentropyd<S> {
    stream: S,
    buf: Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
    failed: Option<XentropydError>,
}

impl<S> fmt::Debug for Xentropyd<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xentropyd")
            .field("buffered", &(self.end - self.start))
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<S: Stream> Xentropyd<S> {
    /// Sends the greeting and checks the answer. Bytes that follow the answer
    /// in the same read are kept as the first entropy.
    pub fn handshake(stream: S) -> Result<Xentropyd<S>, XentropydError> {
        let mut x = Xentropyd {
            stream,
            buf: Zeroizing::new(vec![0u8; BUFFER]),
            start: 0,
            end: 0,
            failed: None,
        };
        x.stream.write_all(GREETING)?;
        let mut matched = 0;
        while matched < ANSWER.len() {
            let n = x.stream.read(&mut x.buf[..])?;
            if n == 0 {
                return Err(XentropydError::ClosedDuringHandshake { received: matched });
            }
            let n = n.min(BUFFER);
            let take = n.min(ANSWER.len() - matched);
            let expected = &ANSWER[matched..matched + take];
            if let Some(i) = x.buf[..take].iter().zip(expected).position(|(a, b)| a != b) {
                return Err(XentropydError::WrongAnswer {
                    offset: matched + i,
                });
            }
            matched += take;
            x.start = take;
            x.end = n;
        }
        Ok(x)
    }

    /// Fills `dest` with entropy from the daemon, or fails with `dest` zeroed.
    /// After a failure every call fails the same way.
    pub fn read_entropy(&mut self, dest: &mut [u8]) -> Result<(), XentropydError> {
        if let Some(e) = self.failed {
            dest.zeroize();
            return Err(e);
        }
        let result = self.read_inner(dest);
        if let Err(e) = result {
            self.failed = Some(e);
            dest.zeroize();
            self.buf.zeroize();
            self.start = 0;
            self.end = 0;
        }
        result
    }

    fn read_inner(&mut self, dest: &mut [u8]) -> Result<(), XentropydError> {
        let mut filled = 0;
        while filled < dest.len() {
            if self.start == self.end {
                let n = self.stream.read(&mut self.buf[..])?;
                if n == 0 {
                    return Err(XentropydError::Closed);
                }
                self.start = 0;
                self.end = n.min(BUFFER);
            }
            let take = (self.end - self.start).min(dest.len() - filled);
            dest[filled..filled + take].copy_from_slice(&self.buf[self.start..self.start + take]);
            self.buf[self.start..self.start + take].zeroize();
            self.start += take;
            filled += take;
        }
        Ok(())
    }

    /// The stream, for example to change its timeouts.
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }
}

impl<S: Stream> NoiseSource for Xentropyd<S> {
    fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.read_entropy(dest).map_err(EntropyError::from)
    }
}

/// Adapts a `std::io` reader/writer (a `UnixStream`, a `File` opened on a
/// console device or a FIFO pair) to [`Stream`]. Interrupted reads are retried.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct IoStream<T>(pub T);

#[cfg(feature = "std")]
fn io_error(e: &std::io::Error) -> StreamError {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => StreamError::TimedOut,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            StreamError::Reset
        }
        kind => StreamError::Io(kind),
    }
}

#[cfg(feature = "std")]
impl<T: std::io::Read + std::io::Write + Send> Stream for IoStream<T> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
        loop {
            match self.0.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(&e)),
            }
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> Result<(), StreamError> {
        std::io::Write::write_all(&mut self.0, buf)
            .and_then(|()| std::io::Write::flush(&mut self.0))
            .map_err(|e| io_error(&e))
    }
}

#[cfg(all(feature = "std", unix))]
impl Xentropyd<IoStream<std::os::unix::net::UnixStream>> {
    /// Connects to a Unix socket speaking the xentropyd protocol and completes
    /// the handshake, with `timeout` on every read and write.
    pub fn connect_unix(
        path: impl AsRef<std::path::Path>,
        timeout: std::time::Duration,
    ) -> Result<Self, XentropydError> {
        let sock = std::os::unix::net::UnixStream::connect(path).map_err(|e| io_error(&e))?;
        sock.set_read_timeout(Some(timeout))
            .and_then(|()| sock.set_write_timeout(Some(timeout)))
            .map_err(|e| io_error(&e))?;
        Xentropyd::handshake(IoStream(sock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::VecDeque;

    /// Replays scripted chunks; records what was written. Reading past the
    /// script is a test failure unless `eof_after` is set.
    struct Script {
        chunks: VecDeque<Vec<u8>>,
        written: Vec<u8>,
        eof_after: bool,
    }

    impl Script {
        fn new(chunks: &[&[u8]], eof_after: bool) -> Script {
            Script {
                chunks: chunks.iter().map(|c| c.to_vec()).collect(),
                written: Vec::new(),
                eof_after,
            }
        }
    }

    impl Stream for Script {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, StreamError> {
            match self.chunks.pop_front() {
                Some(mut c) => {
                    let n = c.len().min(buf.len());
                    buf[..n].copy_from_slice(&c[..n]);
                    if n < c.len() {
                        c.drain(..n);
                        self.chunks.push_front(c);
                    }
                    Ok(n)
                }
                None if self.eof_after => Ok(0),
                None => panic!("read past the end of the script"),
            }
        }

        fn write_all(&mut self, buf: &[u8]) -> Result<(), StreamError> {
            self.written.extend_from_slice(buf);
            Ok(())
        }
    }

    #[test]
    fn answer_and_entropy_in_one_read() {
        let mut first = ANSWER.to_vec();
        first.extend_from_slice(b"0123");
        let mut x = Xentropyd::handshake(Script::new(&[&first, b"4567"], false)).unwrap();
        assert_eq!(x.stream.written, GREETING);
        let mut out = [0u8; 6];
        x.read_entropy(&mut out).unwrap();
        assert_eq!(&out, b"012345");
        let mut out = [0u8; 2];
        x.read_entropy(&mut out).unwrap();
        assert_eq!(&out, b"67");
    }

    #[test]
    fn answer_split_at_every_byte() {
        let chunks: Vec<&[u8]> = ANSWER.chunks(1).chain([&b"xy"[..]]).collect();
        let mut x = Xentropyd::handshake(Script::new(&chunks, false)).unwrap();
        let mut out = [0u8; 2];
        x.read_entropy(&mut out).unwrap();
        assert_eq!(&out, b"xy");
    }

    #[test]
    fn wrong_answer_is_caught_at_its_first_byte() {
        // Nothing follows the wrong chunk: the script panics if the client
        // waits for the rest of the answer.
        let err = Xentropyd::handshake(Script::new(&[b"You may not"], false)).unwrap_err();
        assert_eq!(err, XentropydError::WrongAnswer { offset: 8 });
        let err = Xentropyd::handshake(Script::new(&[b"login: "], false)).unwrap_err();
        assert_eq!(err, XentropydError::WrongAnswer { offset: 0 });
    }

    #[test]
    fn early_end_during_handshake() {
        let err = Xentropyd::handshake(Script::new(&[&ANSWER[..10]], true)).unwrap_err();
        assert_eq!(err, XentropydError::ClosedDuringHandshake { received: 10 });
    }

    #[test]
    fn early_end_during_entropy_gives_nothing_and_poisons() {
        let mut x = Xentropyd::handshake(Script::new(&[ANSWER, b"abc"], true)).unwrap();
        let mut out = [0xffu8; 8];
        assert_eq!(x.read_entropy(&mut out), Err(XentropydError::Closed));
        assert_eq!(out, [0; 8]);
        let mut one = [0u8; 1];
        assert_eq!(x.read_entropy(&mut one), Err(XentropydError::Closed));
    }
}
