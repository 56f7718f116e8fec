//! `protocol = socks` in server mode, as stunnel: the client speaks SOCKS 4,
//! 4a or 5 inside the TLS connection (so the destination is encrypted too),
//! and the tunnel connects where it asks. CONNECT only (no BIND or UDP), no
//! SOCKS authentication (the TLS client certificate is the access control),
//! the SOCKS 4 user id ignored. Unlike stunnel, the reply is sent once the
//! destination has answered, so a failed connect is reported to the client.

use std::time::Duration;

use tls_core::Connection;
use tokio::time::{sleep_until, Instant};

use crate::config::{Addr, NetOptions};
use crate::listen::{connect, Stream};

/// Why serving a SOCKS request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The TLS engine failed.
    Tls(tls_core::Error),
    /// Anything else, worded for the log.
    Io(String),
}

/// Longest SOCKS message read (a SOCKS 4a request with a long user id and
/// host name).
const MAX_REQUEST: usize = 1024;

/// What the client's bytes so far amount to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not a whole message yet.
    More,
    /// SOCKS 5 method selection done: send this and read the request.
    Greeted {
        /// The method-selection reply.
        reply: Vec<u8>,
        /// Bytes of the greeting.
        used: usize,
    },
    /// A CONNECT request.
    Connect {
        /// The SOCKS version (4 or 5).
        version: u8,
        /// `host:port` to connect to.
        target: String,
        /// Bytes of the request.
        used: usize,
    },
    /// Refused: send `reply` (may be empty) and close.
    Refuse {
        /// What to tell the client.
        reply: Vec<u8>,
        /// Why, for the log.
        reason: String,
    },
}

/// SOCKS 5 reply with a code and an empty IPv4 bound address.
fn reply5(code: u8) -> Vec<u8> {
    vec![5, code, 0, 1, 0, 0, 0, 0, 0, 0]
}

/// SOCKS 4 reply (90 granted, 91 rejected).
fn reply4(code: u8) -> Vec<u8> {
    vec![0, code, 0, 0, 0, 0, 0, 0]
}

/// The length of a NUL-terminated string at the start of `b`, if whole.
fn cstr(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| *c == 0)
}

/// Parses the client's next message: `greeted` says whether SOCKS 5
/// method selection is already done.
pub fn parse(buf: &[u8], greeted: bool) -> Step {
    let refuse = |reply: Vec<u8>, reason: String| Step::Refuse { reply, reason };
    match buf {
        [] => Step::More,
        [4, rest @ ..] if !greeted => {
            let [cmd, p1, p2, a, b, c, d, tail @ ..] = rest else {
                return Step::More;
            };
            let Some(user) = cstr(tail) else {
                return Step::More;
            };
            let port = u16::from_be_bytes([*p1, *p2]);
            if *cmd != 1 {
                return refuse(reply4(91), format!("SOCKS 4 command {cmd} (only CONNECT)"));
            }
            let after_user = tail.get(user + 1..).unwrap_or_default();
            // 0.0.0.x with x != 0: SOCKS 4a, a host name follows.
            let (target, used) = if [*a, *b, *c] == [0, 0, 0] && *d != 0 {
                let Some(host) = cstr(after_user) else {
                    return Step::More;
                };
                let name = String::from_utf8_lossy(after_user.get(..host).unwrap_or_default());
                if name.is_empty() || name.contains(|c: char| c == ':' || c.is_whitespace()) {
                    return refuse(reply4(91), format!("bad SOCKS 4a host name {name:?}"));
                }
                (format!("{name}:{port}"), 8 + user + 1 + host + 1)
            } else {
                (format!("{a}.{b}.{c}.{d}:{port}"), 8 + user + 1)
            };
            Step::Connect {
                version: 4,
                target,
                used,
            }
        }
        [5, n, methods @ ..] if !greeted => {
            let Some(methods) = methods.get(..usize::from(*n)) else {
                return Step::More;
            };
            if methods.contains(&0) {
                Step::Greeted {
                    reply: vec![5, 0],
                    used: 2 + methods.len(),
                }
            } else {
                refuse(
                    vec![5, 0xff],
                    "no SOCKS 5 method without authentication".into(),
                )
            }
        }
        [5, cmd, _, atyp, rest @ ..] if greeted => {
            let (host, len) = match atyp {
                1 => match rest.get(..4).and_then(|a| <[u8; 4]>::try_from(a).ok()) {
                    Some(a) => (std::net::Ipv4Addr::from(a).to_string(), 4),
                    None => return Step::More,
                },
                3 => {
                    let Some((n, name)) = rest.split_first() else {
                        return Step::More;
                    };
                    let Some(name) = name.get(..usize::from(*n)) else {
                        return Step::More;
                    };
                    let name = String::from_utf8_lossy(name).into_owned();
                    if name.is_empty() || name.contains(|c: char| c == ':' || c.is_whitespace()) {
                        return refuse(reply5(1), format!("bad SOCKS 5 host name {name:?}"));
                    }
                    (name, 1 + usize::from(*n))
                }
                4 => match rest.get(..16).and_then(|a| <[u8; 16]>::try_from(a).ok()) {
                    Some(a) => (format!("[{}]", std::net::Ipv6Addr::from(a)), 16),
                    None => return Step::More,
                },
                other => {
                    return refuse(reply5(8), format!("SOCKS 5 address type {other}"));
                }
            };
            let Some(&[hi, lo]) = rest.get(len..len + 2) else {
                return Step::More;
            };
            if *cmd != 1 {
                return refuse(reply5(7), format!("SOCKS 5 command {cmd} (only CONNECT)"));
            }
            Step::Connect {
                version: 5,
                target: format!("{host}:{}", u16::from_be_bytes([hi, lo])),
                used: 4 + len + 2,
            }
        }
        [v, ..] => refuse(
            Vec::new(),
            format!("not a SOCKS 4 or 5 message (first byte {v})"),
        ),
    }
}

/// Reads TLS records until `conn` holds more plaintext than before.
async fn more(conn: &mut Connection, tls: &Stream, deadline: Instant) -> Result<(), Outcome> {
    let before = conn.plaintext_len();
    let mut buf = vec![0u8; 16 * 1024 + 256];
    while conn.plaintext_len() == before {
        if conn.peer_closed() {
            return Err(Outcome::Io(
                "socks: client closed before its request".into(),
            ));
        }
        flush(conn, tls, deadline).await?;
        tokio::select! {
            _ = sleep_until(deadline) => return Err(Outcome::Io("socks: request timed out".into())),
            r = tls.readable() => {
                r.map_err(|e| Outcome::Io(e.to_string()))?;
                match tls.try_read(&mut buf) {
                    Ok(0) => return Err(Outcome::Io("socks: client closed before its request".into())),
                    Ok(n) => conn.feed(buf.get(..n).unwrap_or_default()).map_err(Outcome::Tls)?,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(Outcome::Io(e.to_string())),
                }
            }
        }
    }
    Ok(())
}

/// Sends what `conn` has queued.
async fn flush(conn: &mut Connection, tls: &Stream, deadline: Instant) -> Result<(), Outcome> {
    while conn.wants_write() {
        tokio::select! {
            _ = sleep_until(deadline) => return Err(Outcome::Io("socks: reply timed out".into())),
            r = tls.writable() => {
                r.map_err(|e| Outcome::Io(e.to_string()))?;
                match tls.try_write(conn.pending_tls()) {
                    Ok(n) => conn.consume_tls(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(Outcome::Io(e.to_string())),
                }
            }
        }
    }
    Ok(())
}

/// Sends `reply` inside TLS.
async fn send(
    conn: &mut Connection,
    tls: &Stream,
    reply: &[u8],
    deadline: Instant,
) -> Result<(), Outcome> {
    conn.write(reply).map_err(Outcome::Tls)?;
    flush(conn, tls, deadline).await
}

/// Serves one SOCKS request on an established TLS connection: reads it
/// (within `limit`), connects where it asks (within `connect_limit`) and
/// answers. Bytes the client sent after its request stay in `conn`.
pub async fn serve(
    conn: &mut Connection,
    tls: &Stream,
    limit: Duration,
    connect_limit: Duration,
    net: &NetOptions,
) -> Result<Stream, Outcome> {
    let deadline = Instant::now() + limit;
    let mut greeted = false;
    loop {
        let step = parse(conn.peek_plaintext(), greeted);
        match step {
            Step::More if conn.plaintext_len() >= MAX_REQUEST => {
                return Err(Outcome::Io(format!(
                    "socks: request over {MAX_REQUEST} bytes"
                )));
            }
            Step::More => more(conn, tls, deadline).await?,
            Step::Greeted { reply, used } => {
                conn.consume_plaintext(used);
                greeted = true;
                send(conn, tls, &reply, deadline).await?;
            }
            Step::Refuse { reply, reason } => {
                if !reply.is_empty() {
                    send(conn, tls, &reply, deadline).await?;
                }
                return Err(Outcome::Io(format!("socks: {reason}")));
            }
            Step::Connect {
                version,
                target,
                used,
            } => {
                conn.consume_plaintext(used);
                let addr = Addr::parse(&target)
                    .map_err(|e| Outcome::Io(format!("socks: destination {target}: {e}")))?;
                let (ok, fail) = if version == 4 {
                    (reply4(90), reply4(91))
                } else {
                    (reply5(0), reply5(5))
                };
                return match connect(std::slice::from_ref(&addr), connect_limit, net, 0, |_| {})
                    .await
                {
                    Ok(stream) => {
                        send(conn, tls, &ok, deadline).await?;
                        tracing::debug!(%target, "socks: connected");
                        Ok(stream)
                    }
                    Err(e) => {
                        send(conn, tls, &fail, deadline).await?;
                        Err(Outcome::Io(format!("socks: destination {e}")))
                    }
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socks4_and_4a() {
        assert_eq!(parse(&[4, 1, 0, 80, 10, 0, 0, 1, b'u'], false), Step::More);
        assert_eq!(
            parse(&[4, 1, 0, 80, 10, 0, 0, 1, b'u', 0, 9], false),
            Step::Connect {
                version: 4,
                target: "10.0.0.1:80".into(),
                used: 10
            }
        );
        let mut a = vec![4, 1, 1, 187, 0, 0, 0, 1, 0];
        assert_eq!(parse(&a, false), Step::More);
        a.extend_from_slice(b"example.org\0");
        assert_eq!(
            parse(&a, false),
            Step::Connect {
                version: 4,
                target: "example.org:443".into(),
                used: a.len()
            }
        );
        assert!(matches!(
            parse(&[4, 2, 0, 80, 1, 2, 3, 4, 0], false),
            Step::Refuse { .. }
        ));
    }

    #[test]
    fn socks5() {
        assert_eq!(parse(&[5, 2, 2], false), Step::More);
        assert_eq!(
            parse(&[5, 2, 2, 0], false),
            Step::Greeted {
                reply: vec![5, 0],
                used: 4
            }
        );
        assert!(
            matches!(parse(&[5, 1, 2], false), Step::Refuse { reply, .. } if reply == [5, 0xff])
        );
        let mut req = vec![5, 1, 0, 3, 9];
        req.extend_from_slice(b"localhost");
        assert_eq!(parse(&req, true), Step::More);
        req.extend_from_slice(&[0x1f, 0x90]);
        assert_eq!(
            parse(&req, true),
            Step::Connect {
                version: 5,
                target: "localhost:8080".into(),
                used: req.len()
            }
        );
        let mut v6 = vec![5, 1, 0, 4];
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0, 22]);
        assert!(matches!(parse(&v6, true), Step::Connect { target, .. } if target == "[::1]:22"));
        assert!(matches!(
            parse(&[5, 2, 0, 1, 1, 2, 3, 4, 0, 80], true),
            Step::Refuse { .. }
        ));
        assert!(matches!(parse(&[5, 1, 0, 9, 0], true), Step::Refuse { .. }));
        assert!(matches!(
            parse(b"GET / HTTP/1.1", false),
            Step::Refuse { .. }
        ));
    }
}
