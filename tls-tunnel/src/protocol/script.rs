//! Running a prelude on fixed bytes, without sockets: each side is a
//! [`Script`] that reads what it was given and records what is written.
//! Used by the unit tests and the fuzz targets.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{client, server, smtp_auth, Failure, Protocol};
use crate::config::Mode;

/// One side of a scripted prelude: reads come from `input` (then end of
/// file), writes are appended to `output`.
#[derive(Debug, Default)]
pub struct Script {
    input: Vec<u8>,
    read: usize,
    /// Everything written to this side.
    pub output: Vec<u8>,
}

impl Script {
    /// A side that will read `input`.
    pub fn new(input: &[u8]) -> Script {
        Script {
            input: input.to_vec(),
            ..Script::default()
        }
    }
}

impl AsyncRead for Script {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let rest = self.input.get(self.read..).unwrap_or_default();
        let n = rest.len().min(buf.remaining());
        buf.put_slice(rest.get(..n).unwrap_or_default());
        self.read += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Script {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.output.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A waker nothing waits on (scripts are always ready).
struct NoWake;

impl std::task::Wake for NoWake {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// Runs `p`'s prelude in `mode` with the plaintext-side peer (`local`) and
/// the far peer (`remote`) reading their scripts. Scripts never wait, so
/// the prelude finishes in one poll. In client mode what the tunnel says
/// inside TLS once it is up (SMTP AUTH) follows on `remote`, as if the
/// handshake were transparent.
pub fn run(
    p: &Protocol,
    mode: Mode,
    local: &mut Script,
    remote: &mut Script,
) -> Result<(), Failure> {
    let waker = Waker::from(std::sync::Arc::new(NoWake));
    let mut cx = Context::from_waker(&waker);
    let mut fut: Pin<Box<dyn std::future::Future<Output = Result<(), Failure>> + '_>> = match mode {
        Mode::Client => Box::pin(async move {
            client(p, local, remote).await?;
            smtp_auth::after_handshake(p, remote).await
        }),
        Mode::Server => Box::pin(server(p, local, Some(remote))),
    };
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(r) => r,
        Poll::Pending => Err(Failure::new("prelude waited on a script")),
    }
}
