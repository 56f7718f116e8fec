//! SMTP AUTH by the tunnel: stunnel's `protocolUsername`/`protocolPassword`
//! with `protocol = smtp` in client mode. Once TLS is up (after STARTTLS and
//! the handshake, so the credentials only ever travel inside TLS to a
//! verified server), the tunnel greets the server again and authenticates
//! with PLAIN (one line with the initial response, RFC 4954 and RFC 4616)
//! or LOGIN (user name and password each answering a 334 challenge), then
//! relays the plaintext client, which was greeted before the handshake and
//! goes on with its own EHLO.
//!
//! stunnel 5.68 greets with `HELO`, which servers holding to RFC 4954
//! (aiosmtpd, Exim) answer AUTH after with 500/503; the tunnel says `EHLO`,
//! with the same name (`protocolHost`, else `localhost`). Any reply but the
//! expected one ends the connection, naming the reply and the user (never
//! the password).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tls_core::Connection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::connect::base64;
use super::{fail, quoted, read_line, write_line, Credentials, Failure, Kind, Mechanism, Protocol};
use super::{Stream, MAX_LINES};

/// Reads one SMTP reply (RFC 5321, section 4.2: lines `NNN-` then `NNN `),
/// at most [`MAX_LINES`]; returns its last line.
async fn reply<R: AsyncRead + Unpin>(r: &mut R) -> Result<String, Failure> {
    for _ in 0..MAX_LINES {
        let line = read_line(r).await?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(line);
        }
    }
    fail(format!("reply longer than {MAX_LINES} lines"))
}

/// Whether `line` is the last line of a reply with `code`.
fn is(line: &str, code: &str) -> bool {
    line.get(..3) == Some(code) && matches!(line.as_bytes().get(3), None | Some(b' '))
}

/// The AUTH dialogue on `tls` (the server, inside TLS): `EHLO`, then PLAIN
/// or LOGIN with `c`.
pub(super) async fn authenticate<T>(
    host: Option<&str>,
    c: &Credentials,
    tls: &mut T,
) -> Result<(), Failure>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    write_line(tls, &format!("EHLO {}", host.unwrap_or("localhost"))).await?;
    let ehlo = reply(tls).await?;
    if !is(&ehlo, "250") {
        return fail(format!(
            "server refused EHLO after STARTTLS: {}",
            quoted(&ehlo)
        ));
    }
    let user = &c.username;
    match c.mechanism {
        Mechanism::Plain => {
            let token = base64(format!("\0{user}\0{}", c.password).as_bytes());
            write_line(tls, &format!("AUTH PLAIN {token}")).await?;
        }
        Mechanism::Basic => return fail("Basic is not an SMTP AUTH mechanism"),
        Mechanism::Login => {
            write_line(tls, "AUTH LOGIN").await?;
            let challenge = reply(tls).await?;
            if !is(&challenge, "334") {
                return fail(format!("server refused AUTH LOGIN: {}", quoted(&challenge)));
            }
            write_line(tls, &base64(user.as_bytes())).await?;
            let challenge = reply(tls).await?;
            if !is(&challenge, "334") {
                return fail(format!(
                    "server refused user {user:?} (AUTH LOGIN): {}",
                    quoted(&challenge)
                ));
            }
            write_line(tls, &base64(c.password.as_bytes())).await?;
        }
    }
    let done = reply(tls).await?;
    if !is(&done, "235") {
        return fail(format!(
            "server refused AUTH {} for user {user:?}: {}",
            c.mechanism,
            quoted(&done)
        ));
    }
    Ok(())
}

/// Client mode, once TLS with the server is up: the AUTH dialogue when `p`
/// is smtp with credentials, else nothing.
pub(super) async fn after_handshake<T>(p: &Protocol, tls: &mut T) -> Result<(), Failure>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    match (p.kind, &p.credentials) {
        (Kind::Smtp, Some(c)) => authenticate(p.host.as_deref(), c, tls).await,
        _ => Ok(()),
    }
}

/// Client mode, in the connection path: [`after_handshake`] over the
/// established `conn` on `tls`, within `limit`. What the server sends after
/// its 235 stays in `conn` for the relay.
pub async fn run_client_after_handshake(
    p: &Protocol,
    conn: &mut Connection,
    tls: &mut Stream,
    limit: Duration,
) -> Result<(), Failure> {
    let Some(c) = p.credentials.as_ref().filter(|_| p.kind == Kind::Smtp) else {
        return Ok(());
    };
    let mut inside = InsideTls {
        conn,
        tls,
        buf: vec![0u8; 16 * 1024 + 256],
    };
    match tokio::time::timeout(limit, after_handshake(p, &mut inside)).await {
        Ok(Ok(())) => {
            tracing::debug!(user = %c.username, mechanism = %c.mechanism, "SMTP AUTH accepted");
            Ok(())
        }
        Ok(Err(e)) => Err(Failure {
            message: format!("smtp AUTH: {e}"),
            ..e
        }),
        Err(_) => Err(Failure::new("smtp AUTH: timed out")),
    }
}

/// The plaintext of an established TLS connection as a byte stream: reads
/// open records from the socket as needed, writes are sealed and sent on
/// flush.
struct InsideTls<'a> {
    conn: &'a mut Connection,
    tls: &'a mut Stream,
    /// Encrypted bytes read from the socket, fed to `conn` at once.
    buf: Vec<u8>,
}

impl AsyncRead for InsideTls<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.conn.plaintext_len() > 0 {
                let n = this.conn.read(out.initialize_unfilled());
                out.advance(n);
                return Poll::Ready(Ok(()));
            }
            if this.conn.peer_closed() {
                return Poll::Ready(Ok(()));
            }
            let mut read = ReadBuf::new(&mut this.buf);
            ready!(Pin::new(&mut *this.tls).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
            this.conn
                .feed(read.filled())
                .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
        }
    }
}

impl AsyncWrite for InsideTls<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.conn
            .write(buf)
            .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.conn.wants_write() {
            let n = ready!(Pin::new(&mut *this.tls).poll_write(cx, this.conn.pending_tls()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            this.conn.consume_tls(n);
        }
        Pin::new(&mut *this.tls).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
