//! `--keylog FILE` or `SSLKEYLOGFILE`: every TLS session's secrets go to a
//! file in the NSS key log format, so that Wireshark (or a trace oracle) can
//! decrypt captured traffic. For debugging only: whoever reads the file can
//! read every session it covers, so the daemon says so loudly at start.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tls_core::keylog::{KeyLog, KeyLogFile};

/// The open key log and its path, once [`init`] ran (`None`: not logging).
static LOG: OnceLock<Option<(PathBuf, Arc<KeyLogFile>)>> = OnceLock::new();

/// Where the secrets go: `--keylog` wins over `SSLKEYLOGFILE` (an empty
/// variable counts as unset).
pub fn requested(flag: Option<&std::path::Path>) -> Option<PathBuf> {
    flag.map(PathBuf::from).or_else(|| {
        std::env::var_os("SSLKEYLOGFILE")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    })
}

/// Opens the key log `path` (appending; created with mode 0600) before the
/// services are built, the process sandboxed or chrooted: writes go to the
/// descriptor opened here.
pub fn init(path: PathBuf) -> Result<(), String> {
    let file = KeyLogFile::create(&path)
        .map_err(|e| format!("key log {}: cannot open: {e}", path.display()))?;
    let _ = LOG.set(Some((path, Arc::new(file))));
    Ok(())
}

/// The key log for new TLS configurations, if one is open.
pub fn get() -> Option<Arc<dyn KeyLog>> {
    let (_, log) = LOG.get()?.as_ref()?;
    Some(log.clone() as Arc<dyn KeyLog>)
}

/// The warning the daemon prints (and logs) when keys are being logged.
pub fn warning() -> Option<String> {
    let (path, _) = LOG.get()?.as_ref()?;
    Some(format!(
        "WARNING: writing every TLS session's secrets to {} (--keylog / SSLKEYLOGFILE): \
         anyone who can read that file can decrypt the traffic; use it for debugging only",
        path.display()
    ))
}
