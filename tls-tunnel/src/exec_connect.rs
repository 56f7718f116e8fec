//! stunnel's exec+connect: a section with `exec` and `connect` and no
//! `accept` has no listener. At start its program is run and its target
//! connected, the program's standard input and output being the plaintext
//! side (pppd over TLS is the manual's example): the program stands where
//! an accepted client would, so in client mode TLS goes to the target, and
//! in server mode the program is the TLS client and the target gets the
//! plaintext. When the
//! connection ends the section is done, unless `retry = yes`: then, as
//! stunnel, it starts again one second later, for as long as the process
//! runs (a reload's settings apply from the next start).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::service::ServiceHandle;

/// stunnel's pause before starting an exec+connect section again.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Runs the exec+connect service of `handle` until it is done (no retry)
/// or `stop` turns true.
pub async fn run(handle: Arc<ServiceHandle>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = once(&handle) => {}
        }
        let retry = handle.current().service.net.retry;
        if !retry {
            tracing::info!(service = %handle.name, "exec+connect: done (retry = no)");
            return;
        }
        tracing::info!(service = %handle.name, "exec+connect: starting again (retry = yes)");
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(RETRY_DELAY) => {}
        }
    }
}

/// One run: the program and the target, until the connection ends. The
/// program stands where an accepted client would: in client mode it
/// speaks plaintext and TLS goes to the target, in server mode it speaks
/// TLS (as a client) and the target gets the plaintext.
async fn once(handle: &ServiceHandle) {
    let live = handle.current();
    let s = &live.service;
    let Some(exec) = &s.exec else {
        return;
    };
    let (stdio, child) = match crate::exec::spawn(exec, &[]) {
        Ok(started) => started,
        Err(e) => {
            handle.metrics.count(crate::metrics::Reason::ExecFailed);
            tracing::warn!(service = %s.name, "exec: {}: {e}", exec.program.display());
            return;
        }
    };
    crate::service::serve_one(stdio, handle).await;
    crate::exec::reap(child, s.timeouts.close, &s.name).await;
}
