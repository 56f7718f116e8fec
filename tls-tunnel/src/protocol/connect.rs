//! HTTP CONNECT through a proxy (RFC 9110, section 9.3.6): the tunnel
//! connects to the proxy (`connect`), asks it for `protocolHost`, optionally
//! with Basic credentials (RFC 7617), and starts TLS once the proxy answers
//! 2xx and its header block ends.

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{fail, has_prefix, quoted, read_line, Failure, Protocol, MAX_LINES};

/// Standard base64 with padding (RFC 4648, section 4).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(
                    ALPHABET.get(idx as usize).copied().unwrap_or(b'='),
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The request the tunnel sends.
pub fn request(p: &Protocol) -> String {
    let host = p.host.as_deref().unwrap_or_default();
    let mut req = format!("CONNECT {host} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(c) = &p.credentials {
        let token = base64(format!("{}:{}", c.username, c.password).as_bytes());
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    for h in &p.headers {
        req.push_str(h.trim());
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req
}

/// Sends the request, expects `HTTP/1.x 2xx` and reads the headers to the
/// empty line.
pub async fn client<R: AsyncRead + AsyncWrite + Unpin>(
    p: &Protocol,
    remote: &mut R,
) -> Result<(), Failure> {
    remote.write_all(request(p).as_bytes()).await?;
    remote.flush().await?;
    let status = read_line(remote).await?;
    let code = status.as_bytes().get(9..12).unwrap_or_default();
    let accepted = (has_prefix(&status, "HTTP/1.0 2") || has_prefix(&status, "HTTP/1.1 2"))
        && code.iter().all(u8::is_ascii_digit)
        && status.as_bytes().get(12).is_none_or(|b| *b == b' ');
    for n in 0.. {
        if n >= MAX_LINES {
            return fail(format!("proxy sent more than {MAX_LINES} header lines"));
        }
        if read_line(remote).await?.is_empty() {
            break;
        }
    }
    if !accepted {
        return fail(format!("proxy refused CONNECT: {}", quoted(&status)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }
}
