//! SIGHUP: re-read the configuration and swap in new certificates, keys, CA
//! files and targets for new connections. Established connections keep the
//! configuration they started with. A reload that fails anywhere changes
//! nothing and logs why. Session ticket keys, session caches and client
//! session stores carry over to the new configuration (see
//! [`crate::tls::Sessions`]).

use std::sync::Arc;

use crate::cli::Cli;
use crate::service::ServiceHandle;
use crate::tls::Live;

/// A reload (`why`: SIGHUP or timed) as systemd and the log see it: the
/// new configuration, or the old one kept and the error logged.
pub fn run(cli: &Cli, services: &[Arc<ServiceHandle>], why: &str) {
    crate::systemd::notify("RELOADING=1");
    match reload(cli, services) {
        Ok(n) => tracing::info!(trigger = why, "reloaded {n} service(s)"),
        Err(e) => {
            tracing::error!(
                trigger = why,
                "reload failed, keeping the old configuration: {e}"
            )
        }
    }
    crate::systemd::notify("READY=1");
}

/// Reloads every service from `cli`'s source. Returns an error (and changes
/// nothing) if the new configuration is bad.
pub fn reload(cli: &Cli, services: &[Arc<ServiceHandle>]) -> Result<usize, String> {
    let config = cli.to_config().map_err(|e| e.to_string())?;
    crate::sandbox::check_reload(cli.config.as_deref(), &config)?;
    let mut staged = Vec::new();
    for handle in services {
        let Some(new) = config.services.iter().find(|s| s.name == handle.name) else {
            tracing::warn!(service = %handle.name, "service is gone from the configuration; it keeps running until a restart");
            continue;
        };
        let old = handle.current();
        if new.listen != old.service.listen
            || new.role.mode() != old.service.role.mode()
            || new.limits != old.service.limits
        {
            return Err(format!(
                "service {:?}: listen address, mode or connection limits changed; that needs a restart",
                handle.name
            ));
        }
        let live = Live::build(new.clone(), Some(&old))
            .map_err(|e| format!("{}: [{}]: {e}", new.origin, new.name))?;
        staged.push((handle, live, old));
    }
    for new in &config.services {
        if !services.iter().any(|h| h.name == new.name) {
            tracing::warn!(service = %new.name, "new service in the configuration; it starts on restart");
        }
    }
    let n = staged.len();
    for (handle, live, old) in staged {
        if !live.sessions.continues(&old.sessions) {
            tracing::info!(service = %handle.name, "sessions from before the reload will not resume: \
                session settings, CA file, pinned or client certificate, or names checked changed");
        }
        handle.replace(live);
    }
    Ok(n)
}
