//! `exec`: a program per connection (stunnel's exec/execArgs, server mode).
//! Its standard input and output are one end of a Unix socket pair whose
//! other end is the plaintext side of the relay, so half-close and
//! backpressure work as with a target. It gets stunnel's environment:
//! REMOTE_HOST and REMOTE_PORT (the client), SSL_CLIENT_DN and
//! SSL_CLIENT_I_DN (its certificate's subject and issuer, when it sent one).
//! With `pty = yes` they are a pseudo-terminal instead, whose master side
//! two threads copy to and from that socket pair.

use std::fs::File;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::Duration;

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::Exec;
use crate::listen::Stream;

/// The environment stunnel gives the program.
pub fn environment(peer: Option<SocketAddr>, leaf: Option<&[u8]>) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(p) = peer {
        env.push(("REMOTE_HOST", p.ip().to_string()));
        env.push(("REMOTE_PORT", p.port().to_string()));
    }
    if let Some(Ok((_, cert))) = leaf.map(X509Certificate::from_der) {
        env.push(("SSL_CLIENT_DN", cert.subject().to_string()));
        env.push(("SSL_CLIENT_I_DN", cert.issuer().to_string()));
    }
    env
}

/// Starts the program; returns our end of its standard input and output.
pub fn spawn(
    exec: &Exec,
    env: &[(&'static str, String)],
) -> std::io::Result<(Stream, tokio::process::Child)> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let mut cmd = std::process::Command::new(&exec.program);
    if let Some((argv0, rest)) = exec.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    let master = if exec.pty {
        let (master, slave) = pty()?;
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave));
        Some(master)
    } else {
        cmd.stdin(Stdio::from(OwnedFd::from(theirs.try_clone()?)))
            .stdout(Stdio::from(OwnedFd::from(theirs.try_clone()?)));
        None
    };
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let mut cmd = tokio::process::Command::from(cmd);
    let child = cmd.kill_on_drop(true).spawn()?;
    // Our copies of the terminal's slave side go with `cmd`: the master
    // reads end-of-file (EIO) once the program is gone.
    drop(cmd);
    if let Some(master) = master {
        bridge(master, theirs)?;
    }
    ours.set_nonblocking(true)?;
    Ok((Stream::Unix(tokio::net::UnixStream::from_std(ours)?), child))
}

/// A new pseudo-terminal: its master and slave sides.
fn pty() -> std::io::Result<(File, File)> {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.as_bytes()));
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)?;
    Ok((File::from(master), slave))
}

/// Copies between the terminal's master side and the socket whose other
/// end is the relay's, one thread each way, until either ends.
fn bridge(master: File, socket: std::os::unix::net::UnixStream) -> std::io::Result<()> {
    let (mut from_master, mut to_master) = (master.try_clone()?, master);
    let (mut to_socket, mut from_socket) = (socket.try_clone()?, socket);
    std::thread::Builder::new()
        .name("pty-out".into())
        .spawn(move || {
            // The program's output until it exits (the master then reads EIO).
            let _ = std::io::copy(&mut from_master, &mut to_socket);
            let _ = to_socket.shutdown(std::net::Shutdown::Write);
        })?;
    std::thread::Builder::new()
        .name("pty-in".into())
        .spawn(move || {
            let _ = std::io::copy(&mut from_socket, &mut to_master);
        })?;
    Ok(())
}

/// Waits for the program to exit after its connection ended, up to `limit`;
/// then kills it. Logs how it ended.
pub async fn reap(mut child: tokio::process::Child, limit: Duration, service: &str) {
    match tokio::time::timeout(limit, child.wait()).await {
        Ok(Ok(status)) if status.success() => {}
        Ok(Ok(status)) => tracing::info!(service, "exec: program ended: {status}"),
        Ok(Err(e)) => tracing::warn!(service, "exec: wait failed: {e}"),
        Err(_) => {
            tracing::warn!(
                service,
                "exec: program still running after its connection closed: killed"
            );
            let _ = child.kill().await;
        }
    }
}
