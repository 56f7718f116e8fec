//! stunnel's inetd mode: a stunnel.conf without sections has one service
//! and no listener. inetd, xinetd, tcpserver or systemd (a socket unit with
//! `Accept=yes`) accepts the connection and starts us with it as standard
//! input and output; we serve that one connection, server or client mode,
//! to a target or a program (exec), and exit.
//!
//! Nothing is ever written to standard output: it is the connection. Logs
//! go where the configuration says (syslog by default, as stunnel in the
//! background; stderr only with `foreground = yes`).

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, RwLock};

use socket2::{Domain, Socket, Type};
use tokio::sync::Semaphore;

use crate::limits::Admission;
use crate::listen::Stream;
use crate::metrics::Registry;
use crate::process::Privileges;
use crate::ratelog::LogLimits;
use crate::sandbox::Plan;
use crate::service::ServiceHandle;
use crate::tls::Live;

/// Where standard input and output must lead, said in errors.
const WANT: &str = "inetd mode (a stunnel.conf without sections) serves the connection on \
                    standard input and output, which must both be the same stream socket (as \
                    inetd, xinetd and systemd with Accept=yes give)";

/// The connection on standard input, once checked to be one stream socket
/// that standard output also is; still blocking.
fn stdio_socket() -> Result<Socket, String> {
    let input = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("standard input: {e}"))?;
    let output = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("standard output: {e}"))?;
    let same = |a: &OwnedFd, b: &OwnedFd| -> std::io::Result<bool> {
        let a = File::from(a.try_clone()?).metadata()?;
        let b = File::from(b.try_clone()?).metadata()?;
        Ok(a.dev() == b.dev() && a.ino() == b.ino())
    };
    if !same(&input, &output).map_err(|e| format!("{WANT}: {e}"))? {
        return Err(format!(
            "{WANT}: standard output is not the same file as standard input"
        ));
    }
    drop(output);
    let socket = Socket::from(input);
    match socket.r#type() {
        Ok(t) if t == Type::STREAM => Ok(socket),
        Ok(_) => Err(format!(
            "{WANT}: standard input is a socket, but not a stream socket"
        )),
        Err(e) => Err(format!("{WANT}: standard input is not a socket ({e})")),
    }
}

/// Makes the tokio stream of `socket` (inside the runtime).
fn stream(socket: Socket) -> Result<Stream, String> {
    let unix = socket
        .local_addr()
        .map(|a| a.domain() == Domain::UNIX)
        .map_err(|e| format!("standard input: {e}"))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| format!("standard input: {e}"))?;
    let fd = OwnedFd::from(socket);
    let stream = if unix {
        tokio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(fd)).map(Stream::Unix)
    } else {
        tokio::net::TcpStream::from_std(std::net::TcpStream::from(fd)).map(Stream::Tcp)
    };
    stream.map_err(|e| format!("standard input: {e}"))
}

/// Serves the connection on standard input with the one service of `live`,
/// after entering the chroot, dropping privileges, opening the log file
/// (`sink`) and installing the
/// seccomp filter (with `sandbox`, the plan whose Landlock rules are
/// already in force) as a daemon does once bound; returns when the
/// connection is over.
pub fn serve(
    runtime: &tokio::runtime::Runtime,
    live: Live,
    privileges: &Privileges,
    sink: &crate::process::LogSink,
    sandbox: Option<&Plan>,
) -> Result<(), String> {
    let socket = stdio_socket()?;
    privileges.enter_chroot()?;
    privileges.drop_ids()?;
    // As stunnel: the log file inside the jail, as the setuid user.
    sink.open_deferred()?;
    // The same policy as the daemon's: the filter unless the service runs
    // a program (which would inherit it). It goes on every thread, the
    // runtime's included.
    if let Some(plan) = sandbox {
        crate::sandbox::enter_seccomp(plan)
            .map_err(|e| format!("cannot enter the sandbox: {e} (--no-sandbox runs without it)"))?;
    }
    crate::sandbox::probe();
    let name = live.service.name.clone();
    let handle = ServiceHandle {
        name: name.clone(),
        limit: Arc::new(Semaphore::new(1)),
        admission: Admission::new(1, None),
        metrics: Registry::default().service(&name),
        logs: LogLimits::new(&name),
        live: RwLock::new(Arc::new(live)),
    };
    runtime.block_on(async {
        let stream = stream(socket)?;
        crate::service::serve_one(stream, &handle).await;
        handle.logs.flush();
        Ok(())
    })
}
