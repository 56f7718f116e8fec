//! TLS for tokio, on the sans-IO engine [`tls_core`].
//!
//! A [`TlsConnector`] (client) or [`TlsAcceptor`] (server) is made from a
//! shared [`tls_core::ClientConfig`] or [`tls_core::ServerConfig`]; its
//! `connect` or `accept` runs the handshake over any tokio transport (a
//! `TcpStream`, a `UnixStream`, a `DuplexStream`) and yields a [`TlsStream`]:
//! `AsyncRead + AsyncWrite`, so it goes wherever a socket goes (hyper through
//! hyper-util's `TokioIo`, tonic, `tokio::io::copy`).
//!
//! # Example
//!
//! A server and a client over an in-memory pipe:
//!
//! ```
//! use std::sync::Arc;
//! use tls_core::{CertifiedKey, ClientConfig, ServerConfig};
//! use tls_tokio::{TlsAcceptor, TlsConnector};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Any certificate chain and key do; this one is self-signed.
//! let key = rcgen::KeyPair::generate()?;
//! let cert = rcgen::CertificateParams::new(vec!["localhost".into()])?.self_signed(&key)?;
//! let identity = CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
//! let acceptor = TlsAcceptor::from(Arc::new(ServerConfig::with_single_cert(identity)));
//! let connector =
//!     TlsConnector::from(Arc::new(ClientConfig::with_pinned_certs(vec![cert.der().to_vec()])));
//!
//! let (client_io, server_io) = tokio::io::duplex(64 * 1024);
//! let server = tokio::spawn(async move {
//!     let mut tls = acceptor.accept(server_io).await?;
//!     let mut request = [0u8; 4];
//!     tls.read_exact(&mut request).await?;
//!     tls.write_all(b"pong").await?;
//!     tls.shutdown().await?; // close_notify
//!     Ok::<_, std::io::Error>(request)
//! });
//!
//! let mut tls = connector.connect("localhost", client_io).await?;
//! tls.write_all(b"ping").await?;
//! let mut reply = Vec::new();
//! tls.read_to_end(&mut reply).await?; // ends at the server's close_notify
//! assert_eq!(reply, b"pong");
//! assert_eq!(&server.await??, b"ping");
//! assert_eq!(tls.protocol_version(), Some(tls_core::ProtocolVersion::Tls13));
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! Everything is an [`std::io::Error`]. TLS failures carry the
//! [`tls_core::Error`] inside (`err.get_ref()` and `downcast_ref`), with
//! kind `InvalidData`, `UnexpectedEof` for a transport that ended without
//! close_notify, or `BrokenPipe` for a write after shutdown. The alert for a
//! fatal error is sent to the peer before the error is returned.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod stream;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tls_core::{ClientConfig, Connection, ServerConfig, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use stream::to_io;
pub use stream::TlsStream;

/// Opens client connections with one [`ClientConfig`].
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl From<Arc<ClientConfig>> for TlsConnector {
    fn from(config: Arc<ClientConfig>) -> Self {
        TlsConnector { config }
    }
}

impl TlsConnector {
    /// Runs a client handshake over `io` for `server_name`: a
    /// [`ServerName`], or text made into one (`"example.com"`,
    /// `"192.0.2.1"`). A DNS name is sent as SNI and checked against the
    /// certificate; an IP address is checked only. The future resolves once
    /// the handshake is complete.
    ///
    /// # Errors
    ///
    /// The future fails with the handshake's error (the certificate refused,
    /// no common parameters, the peer's alert, the transport's error or EOF),
    /// or at once, before anything is sent, with `InvalidInput` for a name
    /// that is neither a DNS name nor an IP address.
    pub fn connect<N, IO>(&self, server_name: N, io: IO) -> Connect<IO>
    where
        N: TryInto<ServerName>,
        N::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let invalid = |e| io::Error::new(io::ErrorKind::InvalidInput, e);
        let state = match server_name.try_into() {
            Ok(name) => match Connection::client(self.config.clone(), Some(&name.as_str())) {
                Ok(conn) => Handshake::Running(Box::new(TlsStream::new(io, conn))),
                Err(e) => Handshake::Failed(invalid(e.into())),
            },
            Err(e) => Handshake::Failed(invalid(e.into())),
        };
        Connect(state)
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

/// Accepts server connections with one [`ServerConfig`].
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
}

impl From<Arc<ServerConfig>> for TlsAcceptor {
    fn from(config: Arc<ServerConfig>) -> Self {
        TlsAcceptor { config }
    }
}

impl TlsAcceptor {
    /// Runs a server handshake over `io`. The future resolves once the
    /// handshake is complete.
    ///
    /// # Errors
    ///
    /// The future fails with the handshake's error (no common parameters, a
    /// client certificate refused, the peer's alert, the transport's error or
    /// EOF).
    pub fn accept<IO>(&self, io: IO) -> Accept<IO>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        Accept(Handshake::Running(Box::new(TlsStream::new(
            io,
            Connection::server(self.config.clone()),
        ))))
    }

    /// The configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }
}

/// The client handshake: resolves to the [`TlsStream`].
#[must_use = "the handshake runs only when the future is awaited"]
pub struct Connect<IO>(Handshake<IO>);

/// The server handshake: resolves to the [`TlsStream`].
#[must_use = "the handshake runs only when the future is awaited"]
pub struct Accept<IO>(Handshake<IO>);

impl<IO: AsyncRead + AsyncWrite + Unpin> Future for Connect<IO> {
    type Output = io::Result<TlsStream<IO>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll(cx)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Future for Accept<IO> {
    type Output = io::Result<TlsStream<IO>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll(cx)
    }
}

/// A handshake in progress, shared by [`Connect`] and [`Accept`].
enum Handshake<IO> {
    Running(Box<TlsStream<IO>>),
    Failed(io::Error),
    Done,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Handshake<IO> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<TlsStream<IO>>> {
        let stream = match self {
            Handshake::Running(stream) => stream,
            Handshake::Failed(_) | Handshake::Done => {
                return match std::mem::replace(self, Handshake::Done) {
                    Handshake::Failed(e) => Poll::Ready(Err(e)),
                    _ => Poll::Ready(Err(io::Error::other("handshake polled after it ended"))),
                };
            }
        };
        loop {
            // Our flight goes out before we wait for the peer's; the last one
            // (the client's Finished) before the stream is handed over.
            match stream.poll_flush_tls(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return self.finish(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            if let Some(e) = stream.connection().error().cloned() {
                return self.finish(Err(to_io(e)));
            }
            if !stream.connection().is_handshaking() {
                return self.finish(Ok(()));
            }
            match stream.poll_read_tls(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return self.finish(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            if stream.transport_eof() && stream.connection().is_handshaking() {
                return self.finish(Err(to_io(tls_core::Error::UnexpectedEof)));
            }
        }
    }

    /// Ends the handshake: the stream on success, else the error.
    fn finish(&mut self, result: io::Result<()>) -> Poll<io::Result<TlsStream<IO>>> {
        match (std::mem::replace(self, Handshake::Done), result) {
            (Handshake::Running(stream), Ok(())) => Poll::Ready(Ok(*stream)),
            (_, Err(e)) => Poll::Ready(Err(e)),
            (_, Ok(())) => Poll::Ready(Err(io::Error::other("handshake ended twice"))),
        }
    }
}
