//! Sockets: TCP (IPv4 and IPv6) and Unix stream sockets, for listening and
//! for connecting to targets, behind one [`Stream`] type.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

use crate::config::Addr;

/// A connected stream socket.
#[derive(Debug)]
pub enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix stream socket.
    Unix(UnixStream),
}

macro_rules! both {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Stream::Tcp($s) => $e,
            Stream::Unix($s) => $e,
        }
    };
}

impl Stream {
    /// Waits until a read may make progress.
    pub async fn readable(&self) -> io::Result<()> {
        both!(self, s => s.readable().await)
    }

    /// Waits until a write may make progress.
    pub async fn writable(&self) -> io::Result<()> {
        both!(self, s => s.writable().await)
    }

    /// Reads without waiting (`WouldBlock` when nothing is there).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        both!(self, s => s.try_read(buf))
    }

    /// Writes without waiting (`WouldBlock` when the socket is full).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        both!(self, s => s.try_write(buf))
    }

    /// Reads exactly `buf.len()` bytes.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        both!(self, s => s.read_exact(buf).await.map(|_| ()))
    }

    /// Writes all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        both!(self, s => s.write_all(buf).await)
    }

    /// Shuts down the sending direction (the peer reads end-of-file).
    pub async fn shutdown_write(&mut self) -> io::Result<()> {
        both!(self, s => s.shutdown().await)
    }

    /// The peer's address (TCP only).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok(),
            Stream::Unix(_) => None,
        }
    }

    /// Our address (TCP only).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(s) => s.local_addr().ok(),
            Stream::Unix(_) => None,
        }
    }
}

// The protocol preludes (`crate::protocol`) read and write a `Stream`
// through tokio's traits.
impl tokio::io::AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        both!(self.get_mut(), s => std::pin::Pin::new(s).poll_read(cx, buf))
    }
}

impl tokio::io::AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        both!(self.get_mut(), s => std::pin::Pin::new(s).poll_write(cx, buf))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        both!(self.get_mut(), s => std::pin::Pin::new(s).poll_flush(cx))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        both!(self.get_mut(), s => std::pin::Pin::new(s).poll_shutdown(cx))
    }
}

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A Unix stream socket, with its path (removed on drop).
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Binds `addr`. A leftover Unix socket file is replaced.
    pub async fn bind(addr: &Addr) -> io::Result<Listener> {
        match addr {
            Addr::Tcp(s) => match TcpListener::bind(s.as_str()).await {
                // A bare port means all interfaces: fall back to IPv4 on a host without IPv6.
                Err(e) if s.starts_with("[::]:") => {
                    let v4 = s.replacen("[::]", "0.0.0.0", 1);
                    TcpListener::bind(v4.as_str())
                        .await
                        .map(Listener::Tcp)
                        .map_err(|_| e)
                }
                other => other.map(Listener::Tcp),
            },
            Addr::Unix(path) => {
                use std::os::unix::fs::FileTypeExt;
                if let Ok(meta) = std::fs::symlink_metadata(path) {
                    if meta.file_type().is_socket() {
                        let _ = std::fs::remove_file(path);
                    }
                }
                Ok(Listener::Unix(UnixListener::bind(path)?, path.clone()))
            }
        }
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<Stream> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok(Stream::Tcp(s))
            }
            Listener::Unix(l, _) => Ok(Stream::Unix(l.accept().await?.0)),
        }
    }

    /// The bound address, for logs.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string()),
            Listener::Unix(_, p) => format!("unix:{}", p.display()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Connects to the first of `targets` that answers within `timeout` each.
pub async fn connect(targets: &[Addr], timeout: Duration) -> io::Result<Stream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no target");
    for target in targets {
        let attempt = async {
            match target {
                Addr::Tcp(s) => {
                    let s = TcpStream::connect(s.as_str()).await?;
                    let _ = s.set_nodelay(true);
                    Ok(Stream::Tcp(s))
                }
                Addr::Unix(p) => UnixStream::connect(p).await.map(Stream::Unix),
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err(e)) => last = io::Error::new(e.kind(), format!("{target}: {e}")),
            Err(_) => {
                last = io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{target}: connect timed out"),
                )
            }
        }
    }
    Err(last)
}
