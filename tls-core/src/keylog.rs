//! Key logging in the NSS key log format, for Wireshark, `tshark` and trace
//! oracles that decrypt a captured session.
//!
//! Off by default: a configuration logs only when its `key_log` holds a
//! [`KeyLog`]. Anyone who can read the log can read every session it covers,
//! so it is for test and debugging set-ups only.
//!
//! Each secret is one line, `LABEL <client random> <secret>`, both in
//! lower-case hex ([the format][nss]):
//! - TLS 1.3: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`,
//!   `SERVER_HANDSHAKE_TRAFFIC_SECRET`, `CLIENT_TRAFFIC_SECRET_0`,
//!   `SERVER_TRAFFIC_SECRET_0` and `EXPORTER_SECRET` (later traffic secrets
//!   follow from `_0` by KeyUpdate, which a reader derives itself);
//! - TLS 1.2: `CLIENT_RANDOM` with the master secret, for full and resumed
//!   handshakes alike.
//!
//! [nss]: https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/index.html
//!
//! # Example
//!
//! A log kept in memory (a [`KeyLogFile`] writes the same lines to a file):
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tls_core::keylog::{line, KeyLog};
//!
//! #[derive(Default)]
//! struct Lines(Mutex<Vec<String>>);
//!
//! impl KeyLog for Lines {
//!     fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
//!         if let Ok(mut lines) = self.0.lock() {
//!             lines.push(line(label, client_random, secret));
//!         }
//!     }
//! }
//!
//! let lines = Arc::new(Lines::default());
//! let mut config = tls_core::ClientConfig::with_pinned_certs(Vec::new());
//! config.key_log = Some(lines.clone());
//! # lines.log("CLIENT_RANDOM", &[0xab; 32], &[0xcd; 48]);
//! # assert!(lines.0.lock().unwrap()[0].starts_with("CLIENT_RANDOM abab"));
//! ```

use alloc::string::String;
use core::fmt::Write;

/// The TLS 1.3 client handshake traffic secret's label.
pub const CLIENT_HANDSHAKE_TRAFFIC_SECRET: &str = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
/// The TLS 1.3 server handshake traffic secret's label.
pub const SERVER_HANDSHAKE_TRAFFIC_SECRET: &str = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
/// The first TLS 1.3 client application traffic secret's label.
pub const CLIENT_TRAFFIC_SECRET_0: &str = "CLIENT_TRAFFIC_SECRET_0";
/// The first TLS 1.3 server application traffic secret's label.
pub const SERVER_TRAFFIC_SECRET_0: &str = "SERVER_TRAFFIC_SECRET_0";
/// The TLS 1.3 exporter master secret's label.
pub const EXPORTER_SECRET: &str = "EXPORTER_SECRET";
/// The TLS 1.2 master secret's label.
pub const CLIENT_RANDOM: &str = "CLIENT_RANDOM";

/// Receives each secret a connection derives, with the ClientHello's
/// random that names the session in the log.
///
/// Called from inside the handshake, so it should be quick and must not
/// panic; a logger that fails (a full disk) drops the line, and the
/// connection goes on.
pub trait KeyLog: Send + Sync {
    /// Records `secret` under `label` (one of this module's constants) for
    /// the session whose ClientHello carried `client_random`.
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]);
}

/// One key log line, without its newline: `label`, the client random and
/// the secret, in lower-case hex, separated by single spaces.
///
/// ```
/// assert_eq!(tls_core::keylog::line("CLIENT_RANDOM", &[1, 0xab], &[0xff]), "CLIENT_RANDOM 01ab ff");
/// ```
pub fn line(label: &str, client_random: &[u8], secret: &[u8]) -> String {
    let mut out = String::with_capacity(label.len() + 2 + 2 * (client_random.len() + secret.len()));
    out.push_str(label);
    for bytes in [client_random, secret] {
        out.push(' ');
        for b in bytes {
            // Writing to a String cannot fail.
            let _ = write!(out, "{b:02x}");
        }
    }
    out
}

#[cfg(feature = "std")]
pub use file::KeyLogFile;

#[cfg(feature = "std")]
mod file {
    use super::{line, KeyLog};
    use std::fs::{File, OpenOptions};
    use std::io::Write;
    use std::path::Path;
    use std::sync::Mutex;

    /// A [`KeyLog`] appending to a file, as `SSLKEYLOGFILE` does in NSS,
    /// OpenSSL-based clients and curl. The file is created with mode 0600
    /// (on Unix) and appended to, so several processes can share it.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    ///
    /// let mut config = tls_core::ClientConfig::with_pinned_certs(Vec::new());
    /// if let Some(log) = tls_core::keylog::KeyLogFile::from_env() {
    ///     config.key_log = Some(Arc::new(log?));
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub struct KeyLogFile {
        file: Mutex<File>,
    }

    impl KeyLogFile {
        /// Opens `path` for appending, creating it (mode 0600 on Unix).
        ///
        /// # Errors
        ///
        /// The file cannot be opened or created.
        pub fn create(path: impl AsRef<Path>) -> std::io::Result<Self> {
            let mut options = OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Ok(KeyLogFile {
                file: Mutex::new(options.open(path)?),
            })
        }

        /// The file named by the `SSLKEYLOGFILE` environment variable, or
        /// `None` when it is unset or empty.
        ///
        /// # Errors
        ///
        /// `Some(Err(..))` when the variable names a file that cannot be
        /// opened.
        pub fn from_env() -> Option<std::io::Result<Self>> {
            let path = std::env::var_os("SSLKEYLOGFILE").filter(|p| !p.is_empty())?;
            Some(Self::create(path))
        }
    }

    impl KeyLog for KeyLogFile {
        fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
            let mut text = line(label, client_random, secret);
            text.push('\n');
            // One write per line on an O_APPEND file: lines from several
            // connections (or processes) do not interleave.
            if let Ok(mut file) = self.file.lock() {
                let _ = file.write_all(text.as_bytes());
            }
        }
    }

    impl core::fmt::Debug for KeyLogFile {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("KeyLogFile").finish_non_exhaustive()
        }
    }
}
