//! stunnel's `transparent` (Linux): `source` makes each connection to the
//! target come from the client's address (IP_TRANSPARENT on the outgoing
//! socket, bound to the client's IP), `destination` makes the target the
//! original destination of a connection that netfilter redirected to us
//! (SO_ORIGINAL_DST), `both` does both. Both need policy routing or NAT
//! rules around the tunnel (see stunnel's manual); `source` also needs
//! CAP_NET_ADMIN for every connection, which is checked at start.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, SockRef, Socket, Type};

use crate::config::{Addr, NetOptions};
use crate::listen::Stream;

/// Checks at start that this process may use IP_TRANSPARENT, which
/// `transparent = source` sets on every outgoing socket, and will keep the
/// right after start (`setuid` gives it up); the error is the one line an
/// operator needs.
pub fn check_source_privilege(net: &NetOptions, setuid: bool) -> Result<(), String> {
    if !net.transparent.source {
        return Ok(());
    }
    if setuid {
        return Err(
            "transparent = source needs the CAP_NET_ADMIN capability at every connection, \
             which setuid gives up: run as root without setuid (as stunnel's manual says)"
                .into(),
        );
    }
    let probe = Socket::new(Domain::IPV4, Type::STREAM, None)
        .map_err(|e| format!("transparent = source: cannot create a socket: {e}"))?;
    match probe.set_ip_transparent_v4(true) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(
            "transparent = source needs the CAP_NET_ADMIN capability (IP_TRANSPARENT): run as \
             root (as stunnel's manual says), or grant it (systemd: \
             AmbientCapabilities=CAP_NET_ADMIN)"
                .into(),
        ),
        Err(e) => Err(format!("transparent = source: IP_TRANSPARENT: {e}")),
    }
}

/// The address connections to the target are bound to: `local` when set
/// (as in stunnel, it wins), else with `transparent = source` the client's
/// IP address (any port).
pub fn source_for(
    net: &NetOptions,
    client: Option<SocketAddr>,
) -> io::Result<Option<std::net::IpAddr>> {
    if net.source.is_some() || !net.transparent.source {
        return Ok(net.source);
    }
    match client {
        Some(c) => Ok(Some(c.ip())),
        None => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "transparent = source: the client has no IP address (a Unix socket)",
        )),
    }
}

/// `transparent = destination`: where the client meant to connect before
/// netfilter redirected it here (REDIRECT or DNAT), as the one target.
/// A connection that was not redirected would lead back to this listener,
/// so it is refused.
pub fn original_destination(stream: &Stream) -> io::Result<Addr> {
    let Stream::Tcp(tcp) = stream else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "transparent = destination: not a TCP connection",
        ));
    };
    let sock = SockRef::from(tcp);
    let local = tcp.local_addr()?;
    let original = match local {
        SocketAddr::V4(_) => sock.original_dst_v4(),
        SocketAddr::V6(_) => sock.original_dst_v6(),
    }
    .map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("transparent = destination: no original destination (SO_ORIGINAL_DST): {e}"),
        )
    })?
    .as_socket()
    .ok_or_else(|| io::Error::other("transparent = destination: not an IP address"))?;
    if original == local {
        return Err(io::Error::other(format!(
            "transparent = destination: the connection was not redirected (its destination \
             {original} is this service's own address)"
        )));
    }
    Ok(Addr::Tcp(original.to_string()))
}
