//! `protocol = socks` in server mode, as stunnel: the client speaks SOCKS 4,
//! 4a or 5 inside the TLS connection (so the destination is encrypted too),
//! and the tunnel connects where it asks. CONNECT only (no BIND or UDP), no
//! SOCKS authentication (the TLS client certificate is the access control),
//! the SOCKS 4 user id ignored. As stunnel, a destination on the loopback
//! interface is refused (a SOCKS client must not reach the services of the
//! tunnel's own host), replies carry the requested address, and a refusal
//! is a reply (when the protocol has one) and a clean TLS close. Unlike
//! stunnel, the reply is sent once the destination has answered, so a
//! failed connect is reported to the client.

use std::net::{IpAddr, SocketAddr};
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
        /// The address the request names, for the replies: SOCKS 4's
        /// DSTIP and DSTPORT as they came (0.0.0.x for SOCKS 4a), SOCKS 5's
        /// IP address and port (none for a host name).
        requested: Option<SocketAddr>,
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

/// SOCKS 5 reply with a code (RFC 1928, section 6) and `addr` as the bound
/// address (as stunnel: the address requested or connected to), else an
/// empty IPv4 one.
fn reply5(code: u8, addr: Option<SocketAddr>) -> Vec<u8> {
    let mut reply = vec![5, code, 0];
    match addr.map(|a| (a.ip(), a.port())) {
        Some((IpAddr::V4(ip), port)) => {
            reply.push(1);
            reply.extend_from_slice(&ip.octets());
            reply.extend_from_slice(&port.to_be_bytes());
        }
        Some((IpAddr::V6(ip), port)) => {
            reply.push(4);
            reply.extend_from_slice(&ip.octets());
            reply.extend_from_slice(&port.to_be_bytes());
        }
        None => reply.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0]),
    }
    reply
}

/// SOCKS 4 reply (90 granted, 91 rejected) echoing the request's DSTPORT
/// and DSTIP, as stunnel does.
fn reply4(code: u8, port: [u8; 2], ip: [u8; 4]) -> Vec<u8> {
    let mut reply = vec![0, code];
    reply.extend_from_slice(&port);
    reply.extend_from_slice(&ip);
    reply
}

/// SOCKS 5's "general SOCKS server failure".
const GENERAL_FAILURE: u8 = 1;
/// SOCKS 5's "connection not allowed by ruleset": a loopback destination.
const NOT_ALLOWED: u8 = 2;
/// SOCKS 5's "host unreachable": a host name that does not resolve.
const HOST_UNREACHABLE: u8 = 4;
/// SOCKS 5's "connection refused": the destination did not accept.
const REFUSED: u8 = 5;
/// SOCKS 5's "command not supported".
const BAD_COMMAND: u8 = 7;
/// SOCKS 5's "address type not supported".
const BAD_ADDRESS_TYPE: u8 = 8;

/// The destination of a SOCKS 5 request.
enum Host {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A host name, resolved by the tunnel.
    Name(String),
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
            let rejected = reply4(91, [*p1, *p2], [*a, *b, *c, *d]);
            if *cmd != 1 {
                return refuse(rejected, format!("SOCKS 4 command {cmd} (only CONNECT)"));
            }
            let after_user = tail.get(user + 1..).unwrap_or_default();
            // 0.0.0.x with x != 0: SOCKS 4a, a host name follows.
            let (target, used) = if [*a, *b, *c] == [0, 0, 0] && *d != 0 {
                let Some(host) = cstr(after_user) else {
                    return Step::More;
                };
                let name = String::from_utf8_lossy(after_user.get(..host).unwrap_or_default());
                if name.is_empty() || name.contains(|c: char| c == ':' || c.is_whitespace()) {
                    return refuse(rejected, format!("bad SOCKS 4a host name {name:?}"));
                }
                (format!("{name}:{port}"), 8 + user + 1 + host + 1)
            } else {
                (format!("{a}.{b}.{c}.{d}:{port}"), 8 + user + 1)
            };
            Step::Connect {
                version: 4,
                target,
                requested: Some(SocketAddr::from(([*a, *b, *c, *d], port))),
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
                    Some(a) => (Host::Ip(IpAddr::from(a)), 4),
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
                        // A name nothing resolves, as stunnel answers it.
                        return refuse(
                            reply5(HOST_UNREACHABLE, None),
                            format!("bad SOCKS 5 host name {name:?}"),
                        );
                    }
                    (Host::Name(name), 1 + usize::from(*n))
                }
                4 => match rest.get(..16).and_then(|a| <[u8; 16]>::try_from(a).ok()) {
                    Some(a) => (Host::Ip(IpAddr::from(a)), 16),
                    None => return Step::More,
                },
                other => {
                    return refuse(
                        reply5(BAD_ADDRESS_TYPE, None),
                        format!("SOCKS 5 address type {other}"),
                    );
                }
            };
            let Some(&[hi, lo]) = rest.get(len..len + 2) else {
                return Step::More;
            };
            if *cmd != 1 {
                return refuse(
                    reply5(BAD_COMMAND, None),
                    format!("SOCKS 5 command {cmd} (only CONNECT)"),
                );
            }
            let port = u16::from_be_bytes([hi, lo]);
            let (target, requested) = match host {
                Host::Ip(ip) => {
                    let addr = SocketAddr::new(ip, port);
                    (addr.to_string(), Some(addr))
                }
                Host::Name(name) => (format!("{name}:{port}"), None),
            };
            Step::Connect {
                version: 5,
                target,
                requested,
                used: 4 + len + 2,
            }
        }
        // After method selection, anything but a SOCKS 5 request: stunnel
        // answers it with a general failure.
        [v, ..] if greeted => refuse(
            reply5(GENERAL_FAILURE, None),
            format!("not a SOCKS 5 request (version byte {v})"),
        ),
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
                let why = format!("request over {MAX_REQUEST} bytes");
                return Err(refuse(conn, tls, &[], why, deadline).await);
            }
            Step::More => more(conn, tls, deadline).await?,
            Step::Greeted { reply, used } => {
                conn.consume_plaintext(used);
                greeted = true;
                send(conn, tls, &reply, deadline).await?;
            }
            Step::Refuse { reply, reason } => {
                return Err(refuse(conn, tls, &reply, reason, deadline).await);
            }
            Step::Connect {
                version,
                target,
                requested,
                used,
            } => {
                conn.consume_plaintext(used);
                let reply = |code: u8, bound: Option<SocketAddr>| match requested {
                    Some(SocketAddr::V4(a)) if version == 4 => {
                        reply4(code, a.port().to_be_bytes(), a.ip().octets())
                    }
                    _ => reply5(code, requested.or(bound)),
                };
                let (refused, unreachable, not_allowed) = if version == 4 {
                    (91, 91, 91)
                } else {
                    (REFUSED, HOST_UNREACHABLE, NOT_ALLOWED)
                };
                let addrs = match resolve(&target, connect_limit).await {
                    Ok(addrs) => addrs,
                    Err(why) => {
                        let why = format!("destination {target}: {why}");
                        return Err(
                            refuse(conn, tls, &reply(unreachable, None), why, deadline).await
                        );
                    }
                };
                if addrs.iter().any(|a| a.ip().to_canonical().is_loopback()) {
                    let why = format!(
                        "destination {target} is on the loopback interface (refused, as stunnel \
                         does)"
                    );
                    return Err(refuse(conn, tls, &reply(not_allowed, None), why, deadline).await);
                }
                let targets: Vec<Addr> = addrs.iter().map(|a| Addr::Tcp(a.to_string())).collect();
                return match connect(&targets, connect_limit, net, 0, |_| {}).await {
                    Ok(stream) => {
                        let bound = stream.peer_addr();
                        send(conn, tls, &reply(granted(version), bound), deadline).await?;
                        tracing::debug!(%target, "socks: connected");
                        Ok(stream)
                    }
                    Err(e) => {
                        let why = format!("destination {target}: {e}");
                        Err(refuse(conn, tls, &reply(refused, None), why, deadline).await)
                    }
                };
            }
        }
    }
}

/// Refuses the request: sends `reply` (none where the protocol has no
/// reply), then close_notify, so that the client sees a complete answer
/// rather than a truncated connection; the outcome says `why`.
async fn refuse(
    conn: &mut Connection,
    tls: &Stream,
    reply: &[u8],
    why: String,
    deadline: Instant,
) -> Outcome {
    let written = if reply.is_empty() {
        Ok(())
    } else {
        conn.write(reply).map(|_| ()).map_err(Outcome::Tls)
    };
    let sent = match written {
        Ok(()) => {
            conn.close();
            flush(conn, tls, deadline).await
        }
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => Outcome::Io(format!("socks: {why}")),
        Err(e) => e,
    }
}

/// The success code of SOCKS `version`.
fn granted(version: u8) -> u8 {
    if version == 4 {
        90
    } else {
        0
    }
}

/// The addresses of `target` (`host:port`), looked up within `limit`.
async fn resolve(target: &str, limit: Duration) -> Result<Vec<SocketAddr>, String> {
    match tokio::time::timeout(limit, tokio::net::lookup_host(target)).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err("no address".into())
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("name lookup timed out".into()),
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
                requested: Some("10.0.0.1:80".parse().unwrap()),
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
                requested: Some("0.0.0.1:443".parse().unwrap()),
                used: a.len()
            }
        );
        // A refusal echoes DSTPORT and DSTIP, as stunnel's.
        assert!(matches!(
            parse(&[4, 2, 0, 80, 1, 2, 3, 4, 0], false),
            Step::Refuse { reply, .. } if reply == [0, 91, 0, 80, 1, 2, 3, 4]
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
                requested: None,
                used: req.len()
            }
        );
        let mut v6 = vec![5, 1, 0, 4];
        v6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0, 22]);
        assert!(matches!(parse(&v6, true), Step::Connect { target, .. } if target == "[::1]:22"));
        let refused = |buf: &[u8]| match parse(buf, true) {
            Step::Refuse { reply, .. } => reply,
            other => panic!("{other:?}"),
        };
        assert_eq!(refused(&[5, 2, 0, 1, 1, 2, 3, 4, 0, 80]), reply5(7, None));
        assert_eq!(refused(&[5, 1, 0, 9, 0]), reply5(8, None));
        assert_eq!(refused(&[5, 1, 0, 3, 0, 0, 80]), reply5(4, None));
        assert_eq!(refused(&[4, 1, 0, 80, 1, 2, 3, 4, 0]), reply5(1, None));
        assert_eq!(
            reply5(0, Some("[::1]:22".parse().unwrap())),
            [[5, 0, 0, 4].as_slice(), &[0; 15], &[1, 0, 22]].concat()
        );
        assert!(matches!(
            parse(b"GET / HTTP/1.1", false),
            Step::Refuse { .. }
        ));
    }
}
