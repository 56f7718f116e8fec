//! Sockets: TCP (IPv4 and IPv6) and Unix stream sockets, for listening and
//! for connecting to targets, behind one [`Stream`] type; socket options,
//! source address and failover between targets.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UnixListener, UnixStream};

use crate::config::{Addr, Failover, NetOptions, SockOpt};

/// Sets `opts` on a TCP socket, in order. Like stunnel, a failing option
/// does not stop the others: all are tried and the first error is returned
/// (a listening socket then fails to bind; accepted and outgoing
/// connections log it and go on, see their callers).
pub fn set_options(sock: SockRef<'_>, opts: &[SockOpt]) -> io::Result<()> {
    let v6 = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .is_some_and(|a| a.is_ipv6());
    let mut first_error = None;
    for opt in opts {
        if let Err(e) = set_option(&sock, opt, v6) {
            first_error.get_or_insert(io::Error::new(e.kind(), format!("{}: {e}", opt.name())));
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Sets one option.
fn set_option(sock: &SockRef<'_>, opt: &SockOpt, v6: bool) -> io::Result<()> {
    let secs = |s: u32| Some(Duration::from_secs(u64::from(s))).filter(|d| !d.is_zero());
    match opt {
        SockOpt::KeepAlive(on) => sock.set_keepalive(*on),
        SockOpt::NoDelay(on) => sock.set_tcp_nodelay(*on),
        SockOpt::ReuseAddr(on) => sock.set_reuse_address(*on),
        SockOpt::ReusePort(on) => sock.set_reuse_port(*on),
        SockOpt::V6Only(on) => sock.set_only_v6(*on),
        SockOpt::Linger(secs) => sock.set_linger(secs.map(|s| Duration::from_secs(u64::from(s)))),
        SockOpt::RecvBuffer(n) => sock.set_recv_buffer_size(*n as usize),
        SockOpt::SendBuffer(n) => sock.set_send_buffer_size(*n as usize),
        SockOpt::KeepIdle(s) => sock
            .set_tcp_keepalive(&TcpKeepalive::new().with_time(Duration::from_secs(u64::from(*s)))),
        SockOpt::KeepInterval(s) => sock.set_tcp_keepalive(
            &TcpKeepalive::new().with_interval(Duration::from_secs(u64::from(*s))),
        ),
        SockOpt::KeepCount(n) => sock.set_tcp_keepalive(&TcpKeepalive::new().with_retries(*n)),
        SockOpt::BindToDevice(dev) => sock.bind_device(Some(dev.as_bytes())),
        SockOpt::Ttl(n) if v6 => sock.set_unicast_hops_v6(*n),
        SockOpt::Ttl(n) => sock.set_ttl_v4(*n),
        SockOpt::Tos(n) if v6 => sock.set_tclass_v6(*n),
        SockOpt::Tos(n) => sock.set_tos_v4(*n),
        SockOpt::OobInline(on) => sock.set_out_of_band_inline(*on),
        SockOpt::FreeBind(on) if v6 => sock.set_freebind_v6(*on),
        SockOpt::FreeBind(on) => sock.set_freebind_v4(*on),
        SockOpt::RecvLowat(n) => set_int(sock, libc::SO_RCVLOWAT, *n),
        SockOpt::SendLowat(n) => set_int(sock, libc::SO_SNDLOWAT, *n),
        SockOpt::Debug(on) => set_int(sock, libc::SO_DEBUG, u32::from(*on)),
        SockOpt::DontRoute(on) => set_int(sock, libc::SO_DONTROUTE, u32::from(*on)),
        SockOpt::RecvTimeout(s) => sock.set_read_timeout(secs(*s)),
        SockOpt::SendTimeout(s) => sock.set_write_timeout(secs(*s)),
    }
}

/// Sets a SOL_SOCKET option that takes an int and that socket2 has no
/// method for.
fn set_int(sock: &SockRef<'_>, name: libc::c_int, value: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(value)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "value out of range"))?;
    // SAFETY: the descriptor is a live socket borrowed for the call, and the
    // option value is a c_int on the stack whose size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A new TCP socket of `addr`'s family.
fn tcp_socket(addr: &SocketAddr) -> io::Result<TcpSocket> {
    if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
}

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

    /// Polls for read readiness (what [`Stream::readable`] waits for),
    /// without a future to keep: for a hand-written wait on several sockets.
    ///
    /// # Errors
    /// The socket's error, if it has one.
    pub fn poll_read_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        both!(self, s => s.poll_read_ready(cx))
    }

    /// Polls for write readiness (what [`Stream::writable`] waits for).
    ///
    /// # Errors
    /// The socket's error, if it has one.
    pub fn poll_write_ready(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        both!(self, s => s.poll_write_ready(cx))
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
    /// Binds `addr` with the socket options `opts` (SO_REUSEADDR is on
    /// unless they say otherwise). A leftover Unix socket file is replaced.
    pub async fn bind(addr: &Addr, opts: &[SockOpt]) -> io::Result<Listener> {
        match addr {
            Addr::Tcp(s) => match Self::bind_tcp(s, opts).await {
                // A bare port means all interfaces: fall back to IPv4 on a host without IPv6.
                Err(e) if s.starts_with("[::]:") => {
                    let v4 = s.replacen("[::]", "0.0.0.0", 1);
                    Self::bind_tcp(&v4, opts).await.map_err(|_| e)
                }
                other => other,
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
            Addr::Stdio | Addr::Exec => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "inetd mode and exec+connect have no listener",
            )),
        }
    }

    /// Binds the first address `host:port` resolves to that can be bound.
    async fn bind_tcp(host_port: &str, opts: &[SockOpt]) -> io::Result<Listener> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolves to nothing");
        for addr in tokio::net::lookup_host(host_port).await? {
            let attempt = || -> io::Result<TcpListener> {
                let socket = tcp_socket(&addr)?;
                socket.set_reuseaddr(true)?;
                set_options(SockRef::from(&socket), opts)?;
                socket.bind(addr)?;
                socket.listen(1024)
            };
            match attempt() {
                Ok(l) => return Ok(Listener::Tcp(l)),
                Err(e) => last = e,
            }
        }
        Err(last)
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

/// Connects to a target: the first of `targets` (each address a name
/// resolves to in turn) that answers within `timeout`, starting at
/// `targets[start % len]` (round-robin failover) or at the first
/// (priority). Each attempt that fails is reported to
/// `failed`, whether or not a later one succeeds. TCP connections come from `net.source` when set and carry
/// `net.remote`'s socket options.
pub async fn connect(
    targets: &[Addr],
    timeout: Duration,
    net: &NetOptions,
    start: usize,
    mut failed: impl FnMut(&io::Error),
) -> io::Result<Stream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no target");
    let first = match net.failover {
        Failover::RoundRobin if !targets.is_empty() => start % targets.len(),
        _ => 0,
    };
    let order = targets.iter().skip(first).chain(targets.iter().take(first));
    for target in order {
        let addrs = match target {
            Addr::Tcp(s) => {
                match tokio::time::timeout(timeout, tokio::net::lookup_host(s.as_str())).await {
                    Ok(Ok(addrs)) => addrs.map(Some).collect(),
                    Ok(Err(e)) => {
                        last = io::Error::new(e.kind(), format!("{target}: {e}"));
                        failed(&last);
                        continue;
                    }
                    Err(_) => {
                        last = io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("{target}: name lookup timed out"),
                        );
                        failed(&last);
                        continue;
                    }
                }
            }
            Addr::Unix(_) => vec![None],
            Addr::Stdio | Addr::Exec => {
                last = io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("{target} is not a target"),
                );
                failed(&last);
                continue;
            }
        };
        for addr in addrs {
            let attempt = async {
                match (target, addr) {
                    (_, Some(addr)) => connect_tcp(addr, net).await.map(Stream::Tcp),
                    (Addr::Unix(p), None) => UnixStream::connect(p).await.map(Stream::Unix),
                    (Addr::Tcp(_) | Addr::Stdio | Addr::Exec, None) => {
                        Err(io::ErrorKind::NotFound.into())
                    }
                }
            };
            let shown = addr.map_or_else(|| target.to_string(), |a| format!("{target} ({a})"));
            match tokio::time::timeout(timeout, attempt).await {
                Ok(Ok(s)) => return Ok(s),
                Ok(Err(e)) => last = io::Error::new(e.kind(), format!("{shown}: {e}")),
                Err(_) => {
                    last = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{shown}: connect timed out"),
                    )
                }
            }
            failed(&last);
        }
    }
    Err(last)
}

/// One TCP connection with the source address and options of `net`.
async fn connect_tcp(addr: SocketAddr, net: &NetOptions) -> io::Result<TcpStream> {
    let socket = tcp_socket(&addr)?;
    if let Some(ip) = net.source {
        if net.transparent.source {
            // The client's address (transparent = source), foreign to this
            // host in real use: binding it takes IP_TRANSPARENT.
            match ip {
                std::net::IpAddr::V4(_) => SockRef::from(&socket).set_ip_transparent_v4(true)?,
                std::net::IpAddr::V6(_) => SockRef::from(&socket).set_ip_transparent_v6(true)?,
            }
        }
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.set_nodelay(true)?;
    if let Err(e) = set_options(SockRef::from(&socket), &net.remote) {
        // As stunnel: a remote socket option that fails is logged, and the
        // connection goes on.
        tracing::warn!(target = %addr, "remote socket options: {e}");
    }
    socket.connect(addr).await
}
