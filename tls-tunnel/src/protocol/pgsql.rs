//! PostgreSQL's SSLRequest (protocol documentation, "SSL Session
//! Encryption"): the client sends the 8-byte request, the server answers one
//! byte, `S` to start TLS or `N` to refuse.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{fail, Failure};

/// SSLRequest: length 8, then the code 80877103.
pub const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
/// GSSENCRequest: length 8, then the code 80877104; a client may send it
/// before SSLRequest.
pub const GSSENC_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30];

/// Client: SSLRequest, then `S`.
pub async fn client<R: AsyncRead + AsyncWrite + Unpin>(remote: &mut R) -> Result<(), Failure> {
    remote.write_all(&SSL_REQUEST).await?;
    remote.flush().await?;
    match remote.read_u8().await? {
        b'S' => Ok(()),
        b'N' => fail("server refused TLS (answered N to SSLRequest)"),
        b => fail(format!("unexpected answer 0x{b:02x} to SSLRequest")),
    }
}

/// Server: expect SSLRequest (a GSSENCRequest first is refused with `N`, as
/// a server without GSSAPI does), answer `S`. A client that does not ask
/// for TLS is dropped: there is no way to report an error before startup.
pub async fn server<L: AsyncRead + AsyncWrite + Unpin>(local: &mut L) -> Result<(), Failure> {
    let mut req = [0u8; 8];
    local.read_exact(&mut req).await?;
    if req == GSSENC_REQUEST {
        local.write_all(b"N").await?;
        local.flush().await?;
        local.read_exact(&mut req).await?;
    }
    if req != SSL_REQUEST {
        return fail("client did not send SSLRequest (it must use sslmode=require or stronger)");
    }
    local.write_all(b"S").await?;
    local.flush().await?;
    Ok(())
}
