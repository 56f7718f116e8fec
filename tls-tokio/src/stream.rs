//! [`TlsStream`]: a handshaken [`Connection`] over a tokio transport, itself
//! `AsyncRead + AsyncWrite`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use tls_core::{CipherSuite, Connection, Error, Negotiated, ProtocolVersion};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes asked of the transport per read: one full record with its header
/// and the largest AEAD expansion, so a read takes a whole record.
const READ_CHUNK: usize = 16 * 1024 + 512;

/// Sealed bytes queued for the transport before a write waits for it to
/// drain: the bound on what a slow peer makes us hold.
pub(crate) const WRITE_BUFFER_LIMIT: usize = 64 * 1024;

/// Plaintext sealed per `poll_write` call, at most (four full records).
const WRITE_CHUNK: usize = 64 * 1024;

/// Largest plaintext of one record.
const MAX_RECORD: usize = 16 * 1024;

/// A TLS connection over a tokio transport `IO`, after its handshake.
///
/// Reading returns the peer's application data, and `Ok(0)` bytes (EOF) once
/// the peer has sent close_notify; the transport ending without one is an
/// [`io::ErrorKind::UnexpectedEof`] error. After the peer's close_notify we can
/// still write (half-close). Shutting down (`poll_shutdown`, tokio's
/// `AsyncWriteExt::shutdown`) sends our close_notify,
/// then shuts the transport's write half; reading still works after it.
///
/// Writes are sealed into records at once and queued; a write waits for the
/// transport once more than 64 KiB is queued, so a slow peer holds back the
/// writer instead of growing a buffer. Reads take one record at a time from
/// the transport, and only when the previous plaintext has been read.
///
/// TLS errors come back as [`io::Error`]s whose inner error is the
/// [`tls_core::Error`] (get it with `io::Error::get_ref` and `downcast_ref`);
/// a fatal error's alert is sent to the peer first.
#[derive(Debug)]
pub struct TlsStream<IO> {
    io: IO,
    conn: Connection,
    /// The transport returned EOF.
    transport_eof: bool,
    /// Our close_notify is queued (shutdown started).
    closing: bool,
}

impl<IO> TlsStream<IO> {
    pub(crate) fn new(io: IO, conn: Connection) -> Self {
        TlsStream {
            io,
            conn,
            transport_eof: false,
            closing: false,
        }
    }

    /// What the handshake agreed on: version, suite, group, ALPN, SNI, the
    /// peer's certificates.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.conn.negotiated()
    }

    /// The protocol version in use.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.negotiated().map(|n| n.version)
    }

    /// The cipher suite in use.
    pub fn cipher_suite(&self) -> Option<CipherSuite> {
        self.negotiated().map(|n| n.suite)
    }

    /// The ALPN protocol agreed, if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.negotiated().and_then(|n| n.alpn.as_deref())
    }

    /// The SNI name the client sent (on both sides).
    pub fn server_name(&self) -> Option<&str> {
        self.negotiated().and_then(|n| n.server_name.as_deref())
    }

    /// The peer's certificate chain (DER, end-entity first); empty when the
    /// peer sent none.
    pub fn peer_certificates(&self) -> &[Vec<u8>] {
        self.negotiated()
            .map(|n| n.peer_certificates.as_slice())
            .unwrap_or_default()
    }

    /// The TLS connection, e.g. for [`Connection::export_keying_material`].
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The TLS connection, mutably, e.g. for [`Connection::update_keys`]
    /// (what it queues is sent on the next write or flush).
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The transport, mutably. Reading or writing it directly corrupts the
    /// TLS stream.
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// The transport and the connection, taken apart. Sealed bytes not yet
    /// written to the transport stay in the connection's
    /// [`Connection::pending_tls`].
    pub fn into_inner(self) -> (IO, Connection) {
        (self.io, self.conn)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    /// True once the transport has returned EOF.
    pub(crate) fn transport_eof(&self) -> bool {
        self.transport_eof
    }

    /// Writes queued TLS bytes to the transport until none are left, or it
    /// would block.
    pub(crate) fn poll_flush_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            let n = match Pin::new(&mut self.io).poll_write(cx, self.conn.pending_tls()) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.consume_tls(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Reads once from the transport straight into the engine and processes
    /// what arrived. `Ready(Ok(()))` after progress or EOF (recorded in
    /// `transport_eof`); a fatal TLS error's alert is queued, and sent when
    /// the transport takes it now.
    pub(crate) fn poll_read_tls(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let io = &mut self.io;
        let fed = self.conn.feed_with(READ_CHUNK, |dst| {
            let mut buf = ReadBuf::new(dst);
            match Pin::new(&mut *io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => Ok(buf.filled().len()),
                Poll::Ready(Err(e)) => Err(Some(e)),
                Poll::Pending => Err(None),
            }
        });
        match fed {
            Ok(Ok(0)) => {
                self.transport_eof = true;
                Poll::Ready(Ok(()))
            }
            Ok(Ok(_)) => Poll::Ready(Ok(())),
            Ok(Err(Some(e))) => Poll::Ready(Err(e)),
            Ok(Err(None)) => Poll::Pending,
            Err(e) => {
                // Best effort: the alert goes out if the transport takes it now.
                let _ = self.poll_flush_tls(cx);
                Poll::Ready(Err(to_io(e)))
            }
        }
    }

    /// Seals as much of `bufs` as fits in [`WRITE_CHUNK`], filling whole
    /// records from consecutive slices. Returns the bytes taken.
    fn seal(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).fold(0, usize::saturating_add);
        let mut budget = total.min(WRITE_CHUNK);
        let mut taken = 0usize;
        // Position in `bufs`: slice index and offset into it.
        let (mut index, mut offset) = (0usize, 0usize);
        while budget > 0 {
            let sealed = self.conn.write_with(budget.min(MAX_RECORD), |dst| {
                let mut filled = 0;
                while filled < dst.len() {
                    let Some(src) = bufs.get(index).and_then(|b| b.get(offset..)) else {
                        break;
                    };
                    let n = src.len().min(dst.len() - filled);
                    if let (Some(d), Some(s)) = (dst.get_mut(filled..filled + n), src.get(..n)) {
                        d.copy_from_slice(s);
                    }
                    filled += n;
                    offset += n;
                    if bufs.get(index).is_some_and(|b| offset >= b.len()) {
                        index += 1;
                        offset = 0;
                    }
                }
                Ok::<usize, core::convert::Infallible>(filled)
            });
            let n = match sealed.map_err(to_io)? {
                Ok(n) => n,
                Err(never) => match never {},
            };
            if n == 0 {
                break;
            }
            taken += n;
            budget = budget.saturating_sub(n);
        }
        Ok(taken)
    }

    /// The write path of `poll_write` and `poll_write_vectored`.
    fn poll_write_slices(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.conn.error() {
            return Poll::Ready(Err(to_io(e.clone())));
        }
        // Backpressure: wait for the transport before queueing more.
        if self.conn.pending_tls().len() >= WRITE_BUFFER_LIMIT {
            match self.poll_flush_tls(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending if self.conn.pending_tls().len() >= WRITE_BUFFER_LIMIT => {
                    return Poll::Pending
                }
                Poll::Pending => {}
            }
        }
        let n = self.seal(bufs)?;
        // Start sending; what the transport does not take now stays queued
        // (bounded above) for the next write or flush.
        if let Poll::Ready(Err(e)) = self.poll_flush_tls(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let available = this.conn.peek_plaintext();
            if !available.is_empty() {
                let n = available.len().min(buf.remaining());
                if let Some(src) = available.get(..n) {
                    buf.put_slice(src);
                }
                this.conn.consume_plaintext(n);
                return Poll::Ready(Ok(()));
            }
            if buf.remaining() == 0 || this.conn.peer_closed() {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = this.conn.error() {
                return Poll::Ready(Err(to_io(e.clone())));
            }
            if this.transport_eof {
                return Poll::Ready(Err(to_io(Error::UnexpectedEof)));
            }
            // Answers the engine queued (a KeyUpdate, an alert) go out with
            // the reads; a transport that cannot take them now does not stop
            // the read, and a write error shows on the next write.
            let _ = this.poll_flush_tls(cx);
            match this.poll_read_tls(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_flush_tls(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_flush(cx),
            other => other,
        }
    }

    /// Sends close_notify (once), flushes it, then shuts down the
    /// transport's write half. Reading still works afterwards.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.closing {
            this.conn.close();
            this.closing = true;
        }
        match this.poll_flush_tls(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.io).poll_shutdown(cx),
            other => other,
        }
    }
}

/// A TLS error as an `io::Error` that downcasts back to [`Error`].
pub(crate) fn to_io(e: Error) -> io::Error {
    let kind = match e {
        Error::UnexpectedEof => io::ErrorKind::UnexpectedEof,
        Error::Closed => io::ErrorKind::BrokenPipe,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}
