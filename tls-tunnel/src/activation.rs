//! systemd socket activation (sd_listen_fds(3), without libsystemd): the
//! service manager binds the listening sockets and hands them over as
//! descriptors 3, 4, ... with `LISTEN_FDS` (how many), `LISTEN_PID` (for
//! whom) and `LISTEN_FDNAMES` (their `FileDescriptorName=`, colon
//! separated). Because the manager keeps the sockets open across restarts
//! of the service, connections arriving while the service restarts wait in
//! the socket's backlog instead of being refused.
//!
//! A service takes the passed TCP socket named like the service, or else
//! the one bound to its `listen` address; a service with no passed socket
//! binds its own. Passed sockets no service takes are reported and closed.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Mutex;

use crate::config::Addr;
use crate::listen::Listener;

/// The first passed descriptor (SD_LISTEN_FDS_START).
const FIRST_FD: i32 = 3;
/// More than this many passed descriptors is taken as a mistake.
const MAX_FDS: i32 = 1024;

/// A passed listening socket not yet taken by a service.
struct Passed {
    name: String,
    listener: std::net::TcpListener,
}

static PASSED: Mutex<Vec<Passed>> = Mutex::new(Vec::new());

/// Takes the sockets passed to this process, if any (call once, at start,
/// before any thread). The variables are removed so that programs we run
/// (exec) do not see them.
pub fn init() {
    let count = std::env::var("LISTEN_FDS").ok();
    let pid = std::env::var("LISTEN_PID").ok();
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    for var in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
        std::env::remove_var(var);
    }
    let (Some(count), Some(pid)) = (count, pid) else {
        return;
    };
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        return;
    }
    let Ok(count) = count.trim().parse::<i32>() else {
        tracing::warn!("socket activation: LISTEN_FDS={count:?} is not a number; ignored");
        return;
    };
    let mut names = names.split(':');
    let mut passed = Vec::new();
    for fd in FIRST_FD..FIRST_FD.saturating_add(count.clamp(0, MAX_FDS)) {
        let name = names.next().unwrap_or("unknown").to_string();
        // SAFETY: a plain fcntl on a descriptor number; fails if it is not open.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
            note(format!(
                "socket activation: descriptor {fd} ({name}) is not open"
            ));
            continue;
        }
        // SAFETY: the service manager passed descriptors 3 .. 3+LISTEN_FDS
        // to this process (LISTEN_PID is ours), this one is open, and
        // nothing else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let listener = std::net::TcpListener::from(owned);
        let sock = socket2::SockRef::from(&listener);
        let tcp = sock.r#type().is_ok_and(|t| t == socket2::Type::STREAM)
            && listener.local_addr().is_ok();
        if tcp {
            passed.push(Passed { name, listener });
        } else {
            note(format!(
                "socket activation: descriptor {fd} ({name}) is not a TCP stream socket; closed"
            ));
        }
    }
    if let Ok(mut p) = PASSED.lock() {
        *p = passed;
    }
}

/// Lines about passed descriptors, logged once logging is up.
static PENDING_NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn note(line: String) {
    if let Ok(mut notes) = PENDING_NOTES.lock() {
        notes.push(line);
    }
}

/// The passed socket for service `name` listening on `listen`, made ready
/// for tokio; `None` when there is none (the service binds its own).
pub fn take(name: &str, listen: &Addr) -> Option<io::Result<Listener>> {
    let mut passed = PASSED.lock().ok()?;
    let wanted: Option<SocketAddr> = match listen {
        Addr::Tcp(s) => s.parse().ok(),
        _ => None,
    };
    let at = passed.iter().position(|p| p.name == name).or_else(|| {
        let wanted = wanted?;
        passed
            .iter()
            .position(|p| p.listener.local_addr().ok() == Some(wanted))
    })?;
    let Passed {
        name: fd_name,
        listener,
    } = passed.remove(at);
    tracing::info!(service = %name, fd_name = %fd_name, "listening socket from socket activation");
    Some(
        listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
            .map(Listener::Tcp),
    )
}

/// Logs what init found wrong and the passed sockets no service took
/// (closing them); call once every service has its listener.
pub fn report_unused() {
    if let Ok(mut notes) = PENDING_NOTES.lock() {
        for n in notes.drain(..) {
            tracing::warn!("{n}");
        }
    }
    if let Ok(mut passed) = PASSED.lock() {
        for p in passed.drain(..) {
            let at = p
                .listener
                .local_addr()
                .map_or_else(|_| "?".into(), |a| a.to_string());
            tracing::warn!(fd_name = %p.name, "socket activation: no service listens on {at}; closed");
        }
    }
}
