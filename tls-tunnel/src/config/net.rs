//! Network settings beyond addresses: socket options on the listening,
//! accepted and outgoing sockets, the source address of outgoing
//! connections, and how a target is chosen among several (stunnel's
//! `socket`, `local` and `failover`).

use std::net::IpAddr;

/// How a connection picks among several targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Failover {
    /// In the order written; the next only when one fails (stunnel's `prio`).
    #[default]
    Priority,
    /// Each connection starts one further along the list (stunnel's `rr`).
    RoundRobin,
}

/// One socket option with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockOpt {
    /// SO_KEEPALIVE.
    KeepAlive(bool),
    /// TCP_NODELAY.
    NoDelay(bool),
    /// SO_REUSEADDR (listening sockets).
    ReuseAddr(bool),
    /// SO_REUSEPORT (listening sockets).
    ReusePort(bool),
    /// SO_LINGER: `None` off, `Some(seconds)` on.
    Linger(Option<u32>),
    /// SO_RCVBUF in bytes.
    RecvBuffer(u32),
    /// SO_SNDBUF in bytes.
    SendBuffer(u32),
    /// TCP_KEEPIDLE in seconds.
    KeepIdle(u32),
    /// TCP_KEEPINTVL in seconds.
    KeepInterval(u32),
    /// TCP_KEEPCNT.
    KeepCount(u32),
    /// SO_BINDTODEVICE: an interface name.
    BindToDevice(String),
    /// IP_TTL.
    Ttl(u32),
    /// IP_TOS.
    Tos(u32),
    /// IPV6_V6ONLY (listening sockets).
    V6Only(bool),
    /// SO_OOBINLINE: urgent data arrives in the normal stream (and so is
    /// relayed with it).
    OobInline(bool),
    /// IP_FREEBIND (IPV6_FREEBIND on IPv6): bind to an address that is not
    /// (yet) configured on the host.
    FreeBind(bool),
    /// SO_RCVLOWAT in bytes.
    RecvLowat(u32),
    /// SO_SNDLOWAT in bytes (Linux refuses to change it: the socket then
    /// fails as stunnel's does, see [`SockOpt`]'s callers).
    SendLowat(u32),
    /// SO_DEBUG (needs CAP_NET_ADMIN).
    Debug(bool),
    /// SO_DONTROUTE: send to directly connected hosts only.
    DontRoute(bool),
    /// SO_RCVTIMEO in seconds. The tunnel's sockets are non-blocking, so,
    /// as in stunnel, it changes nothing: TIMEOUTidle and TIMEOUTbusy bound
    /// waits.
    RecvTimeout(u32),
    /// SO_SNDTIMEO in seconds (no effect, as [`SockOpt::RecvTimeout`]).
    SendTimeout(u32),
}

impl SockOpt {
    /// The option's name as stunnel.conf writes it.
    pub fn name(&self) -> &'static str {
        match self {
            SockOpt::KeepAlive(_) => "SO_KEEPALIVE",
            SockOpt::NoDelay(_) => "TCP_NODELAY",
            SockOpt::ReuseAddr(_) => "SO_REUSEADDR",
            SockOpt::ReusePort(_) => "SO_REUSEPORT",
            SockOpt::Linger(_) => "SO_LINGER",
            SockOpt::RecvBuffer(_) => "SO_RCVBUF",
            SockOpt::SendBuffer(_) => "SO_SNDBUF",
            SockOpt::KeepIdle(_) => "TCP_KEEPIDLE",
            SockOpt::KeepInterval(_) => "TCP_KEEPINTVL",
            SockOpt::KeepCount(_) => "TCP_KEEPCNT",
            SockOpt::BindToDevice(_) => "SO_BINDTODEVICE",
            SockOpt::Ttl(_) => "IP_TTL",
            SockOpt::Tos(_) => "IP_TOS",
            SockOpt::V6Only(_) => "IPV6_V6ONLY",
            SockOpt::OobInline(_) => "SO_OOBINLINE",
            SockOpt::FreeBind(_) => "IP_FREEBIND",
            SockOpt::RecvLowat(_) => "SO_RCVLOWAT",
            SockOpt::SendLowat(_) => "SO_SNDLOWAT",
            SockOpt::Debug(_) => "SO_DEBUG",
            SockOpt::DontRoute(_) => "SO_DONTROUTE",
            SockOpt::RecvTimeout(_) => "SO_RCVTIMEO",
            SockOpt::SendTimeout(_) => "SO_SNDTIMEO",
        }
    }
}

/// The listening-socket options of the TOML `reuse_port` and the command
/// line's `--reuse-port`: SO_REUSEPORT when `on`, so that a second process
/// (a new version, a new configuration) binds the same address while the
/// first drains. Off by default: a second instance started by mistake then
/// fails with "address in use" rather than silently sharing the traffic.
pub fn listen_reuse_port(on: bool) -> Vec<SockOpt> {
    if on {
        vec![SockOpt::ReusePort(true)]
    } else {
        Vec::new()
    }
}

/// Socket options, source address and failover of a service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetOptions {
    /// Options on the listening socket (stunnel's `socket = a:...`).
    pub accept: Vec<SockOpt>,
    /// Options on each accepted connection (`socket = l:...`).
    pub local: Vec<SockOpt>,
    /// Options on each connection to a target (`socket = r:...`).
    pub remote: Vec<SockOpt>,
    /// Source address of connections to targets (stunnel's `local`).
    pub source: Option<IpAddr>,
    /// How a target is chosen.
    pub failover: Failover,
    /// Owner of a Unix accept socket (stunnel's setuid/setgid in a section).
    pub unix_owner: Option<UnixOwner>,
    /// exec+connect: run the program and connect again one second after
    /// each connection ends (stunnel's `retry = yes`).
    pub retry: bool,
    /// A connection that fails is closed with a TCP RST (SO_LINGER 0), not
    /// a FIN, on the accepted socket (stunnel's `reset = yes`, its default).
    pub reset: bool,
    /// Transparent proxying (stunnel's `transparent`).
    pub transparent: Transparent,
    /// TCP wrappers: /etc/hosts.allow and /etc/hosts.deny decide who may
    /// connect (stunnel's `libwrap = yes`).
    pub libwrap: bool,
    /// RFC 1413 check: only clients whose identd names this user are let
    /// in (stunnel's `ident = USERNAME`).
    pub ident: Option<String>,
}

/// stunnel's `transparent = none | source | destination | both` (Linux).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transparent {
    /// Connections to the target come from the client's IP address
    /// (IP_TRANSPARENT; needs CAP_NET_ADMIN and policy routing).
    pub source: bool,
    /// The target is the original destination of a connection netfilter
    /// redirected here (SO_ORIGINAL_DST), instead of `connect`.
    pub destination: bool,
}

impl Transparent {
    /// Parses stunnel's value (`yes` is the legacy `source`, `no` `none`).
    pub fn parse(value: &str) -> Result<Transparent, String> {
        let (source, destination) = match value.to_ascii_lowercase().as_str() {
            "none" | "no" => (false, false),
            "source" | "yes" => (true, false),
            "destination" => (false, true),
            "both" => (true, true),
            _ => {
                return Err(format!(
                    "transparent must be none, source, destination or both, not {value:?}"
                ))
            }
        };
        Ok(Transparent {
            source,
            destination,
        })
    }
}

/// The user and group (names or numbers) a Unix accept socket is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixOwner {
    /// The owning user.
    pub user: Option<String>,
    /// The owning group.
    pub group: Option<String>,
}

/// Which socket a `socket = X:OPTION=VALUE` line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketSide {
    /// `a`: the listening socket.
    Accept,
    /// `l`: accepted connections.
    Local,
    /// `r`: connections to targets.
    Remote,
}

/// The options we set, for the error naming them.
const SUPPORTED: &str = "SO_KEEPALIVE, TCP_NODELAY, SO_REUSEADDR, SO_REUSEPORT, SO_LINGER, \
                         SO_RCVBUF, SO_SNDBUF, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, \
                         SO_BINDTODEVICE, IP_TTL, IP_TOS, IPV6_V6ONLY, SO_OOBINLINE, \
                         IP_FREEBIND, SO_RCVLOWAT, SO_SNDLOWAT, SO_DEBUG, SO_DONTROUTE, \
                         SO_RCVTIMEO, SO_SNDTIMEO";

/// Parses stunnel's `a|l|r:OPTION=VALUE[:VALUE]`.
pub fn parse_socket_option(value: &str) -> Result<(SocketSide, SockOpt), String> {
    let (side, rest) = value
        .split_once(':')
        .ok_or_else(|| format!("{value:?}: expected a|l|r:OPTION=VALUE"))?;
    let side = match side.trim() {
        "a" | "A" => SocketSide::Accept,
        "l" | "L" => SocketSide::Local,
        "r" | "R" => SocketSide::Remote,
        other => {
            return Err(format!(
                "{other:?} is not a socket: a (accept), l (local) or r (remote)"
            ))
        }
    };
    let (name, arg) = rest
        .split_once('=')
        .ok_or_else(|| format!("{value:?}: expected a|l|r:OPTION=VALUE"))?;
    let (name, arg) = (name.trim().to_ascii_uppercase(), arg.trim());
    let flag = || -> Result<bool, String> {
        match arg.to_ascii_lowercase().as_str() {
            "yes" | "1" => Ok(true),
            "no" | "0" => Ok(false),
            _ => Err(format!("{name} takes yes or no, not {arg:?}")),
        }
    };
    let int = || -> Result<u32, String> {
        arg.parse::<u32>()
            .map_err(|_| format!("{name} takes a whole number, not {arg:?}"))
    };
    let opt = match name.as_str() {
        "SO_KEEPALIVE" => SockOpt::KeepAlive(flag()?),
        "TCP_NODELAY" => SockOpt::NoDelay(flag()?),
        "SO_REUSEADDR" => SockOpt::ReuseAddr(flag()?),
        "SO_REUSEPORT" => SockOpt::ReusePort(flag()?),
        "IPV6_V6ONLY" => SockOpt::V6Only(flag()?),
        "SO_LINGER" => {
            let (on, secs) = arg
                .split_once(':')
                .ok_or_else(|| format!("SO_LINGER takes l_onoff:l_linger, not {arg:?}"))?;
            let secs: u32 = secs
                .trim()
                .parse()
                .map_err(|_| format!("SO_LINGER: bad l_linger {secs:?}"))?;
            match on.trim() {
                "0" => SockOpt::Linger(None),
                "1" => SockOpt::Linger(Some(secs)),
                _ => return Err(format!("SO_LINGER: l_onoff is 0 or 1, not {on:?}")),
            }
        }
        "SO_RCVBUF" => SockOpt::RecvBuffer(int()?),
        "SO_SNDBUF" => SockOpt::SendBuffer(int()?),
        "TCP_KEEPIDLE" => SockOpt::KeepIdle(int()?),
        "TCP_KEEPINTVL" => SockOpt::KeepInterval(int()?),
        "TCP_KEEPCNT" => SockOpt::KeepCount(int()?),
        "IP_TTL" => SockOpt::Ttl(int()?),
        "IP_TOS" => SockOpt::Tos(int()?),
        "SO_BINDTODEVICE" if !arg.is_empty() && !arg.contains(char::is_whitespace) => {
            SockOpt::BindToDevice(arg.to_string())
        }
        "SO_BINDTODEVICE" => return Err(format!("SO_BINDTODEVICE: bad interface {arg:?}")),
        "SO_OOBINLINE" => SockOpt::OobInline(flag()?),
        "IP_FREEBIND" => SockOpt::FreeBind(flag()?),
        "SO_RCVLOWAT" => SockOpt::RecvLowat(int()?),
        "SO_SNDLOWAT" => SockOpt::SendLowat(int()?),
        "SO_DEBUG" => SockOpt::Debug(flag()?),
        "SO_DONTROUTE" => SockOpt::DontRoute(flag()?),
        "SO_RCVTIMEO" => SockOpt::RecvTimeout(int()?),
        "SO_SNDTIMEO" => SockOpt::SendTimeout(int()?),
        other => {
            return Err(format!(
                "unknown socket option {other:?} (tls-tunnel sets {SUPPORTED})"
            ));
        }
    };
    let listen_only = matches!(
        opt,
        SockOpt::ReuseAddr(_) | SockOpt::ReusePort(_) | SockOpt::V6Only(_)
    );
    if listen_only && side != SocketSide::Accept {
        return Err(format!(
            "{name} applies to the accept socket only (a:{name}=...)"
        ));
    }
    Ok((side, opt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_options() {
        assert_eq!(
            parse_socket_option("l:SO_KEEPALIVE=yes").unwrap(),
            (SocketSide::Local, SockOpt::KeepAlive(true))
        );
        assert_eq!(
            parse_socket_option("a:SO_REUSEADDR=no").unwrap(),
            (SocketSide::Accept, SockOpt::ReuseAddr(false))
        );
        assert_eq!(
            parse_socket_option("r:SO_LINGER=1:60").unwrap(),
            (SocketSide::Remote, SockOpt::Linger(Some(60)))
        );
        assert_eq!(
            parse_socket_option("r:TCP_NODELAY=no").unwrap().1,
            SockOpt::NoDelay(false)
        );
        let err = |v: &str| parse_socket_option(v).unwrap_err();
        for (line, opt) in [
            ("r:SO_OOBINLINE=yes", SockOpt::OobInline(true)),
            ("a:IP_FREEBIND=1", SockOpt::FreeBind(true)),
            ("l:SO_RCVLOWAT=10", SockOpt::RecvLowat(10)),
            ("l:SO_SNDLOWAT=1", SockOpt::SendLowat(1)),
            ("r:SO_DEBUG=no", SockOpt::Debug(false)),
            ("l:SO_DONTROUTE=yes", SockOpt::DontRoute(true)),
            ("l:SO_RCVTIMEO=5", SockOpt::RecvTimeout(5)),
            ("r:SO_SNDTIMEO=5", SockOpt::SendTimeout(5)),
        ] {
            assert_eq!(parse_socket_option(line).unwrap().1, opt, "{line}");
        }
        assert!(err("l:SO_DEBUG=maybe").contains("yes or no"));
        assert!(err("l:SO_FOO=1").contains("unknown socket option"));
        assert!(err("x:SO_KEEPALIVE=yes").contains("not a socket"));
        assert!(err("l:SO_REUSEADDR=yes").contains("accept socket only"));
        assert!(err("l:SO_KEEPALIVE=maybe").contains("yes or no"));
    }
}
