//! Helpers for the fleet tests (`tests/tunnel_fleet.rs`,
//! `tests/tunnel_haproxy.rs`): session-resumption probes with `openssl
//! s_client`, ticket key files, and HAProxy as a child process.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::openssl_peer::s_client_at;
use crate::peer::{require, Peer, PEER_TIMEOUT};

/// `New, TLSv1.3`, `Reused, TLSv1.2`, ... from an OpenSSL session summary
/// (`New, TLSv1.3, Cipher is ...`), as s_client and s_server -www print it.
pub fn session_line(output: &str) -> Option<String> {
    output
        .lines()
        .find(|l| l.starts_with("New, ") || l.starts_with("Reused, "))
        .and_then(|l| l.split(", Cipher is").next())
        .map(str::to_string)
}

/// What one `openssl s_client` connection saw.
#[derive(Debug)]
pub struct Probe {
    /// `New, <version>` or `Reused, <version>`; `None` if the line never
    /// came back (the connection failed).
    pub session: Option<String>,
    /// Everything s_client printed (stdout then stderr), for diagnostics.
    pub output: String,
}

impl Probe {
    /// The session was resumed.
    pub fn reused(&self) -> bool {
        self.session
            .as_deref()
            .is_some_and(|s| s.starts_with("Reused"))
    }
}

/// One `openssl s_client` connection to `port` with SNI `localhost` and
/// `args` (`-sess_out F`, `-sess_in F`, `-tls1_2`): `line` goes through
/// and must come back (from an echo behind the tunnel) before s_client is
/// told to close, so a TLS 1.3 ticket has arrived by then.
pub fn s_client_probe(port: u16, args: &[&str], line: &str) -> Probe {
    let mut all = vec!["-servername", "localhost"];
    all.extend_from_slice(args);
    let mut client = s_client_at(port, &all);
    client.write_stdin(format!("{line}\n").into_bytes());
    let echoed = client.wait_output_contains(line, PEER_TIMEOUT);
    client.close_stdin();
    client.wait(PEER_TIMEOUT);
    let output = format!(
        "{}\n{}",
        String::from_utf8_lossy(&client.stdout()),
        client.stderr()
    );
    Probe {
        session: if echoed { session_line(&output) } else { None },
        output,
    }
}

/// Writes a ticket key file holding `keys` (64 hex digits each, the
/// current one first) as a rotation job should: a new file renamed over
/// the old one, so that readers never see half a file.
pub fn write_key_file(path: &Path, keys: &[&str]) {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).expect("create key file");
    writeln!(f, "# tls-tunnel ticket keys, current first").expect("write key file");
    for k in keys {
        writeln!(f, "{k}").expect("write key file");
    }
    drop(f);
    std::fs::rename(&tmp, path).expect("rename key file");
}

/// A running HAProxy (`haproxy -db -f CONFIG`), stopped when dropped.
pub struct Haproxy {
    /// The child process.
    pub peer: Peer,
    /// Its configuration file.
    pub config: PathBuf,
}

impl Haproxy {
    /// Writes `config` to `dir/haproxy.cfg`, checks it with `haproxy -c`,
    /// starts HAProxy in the foreground and waits until it listens on
    /// `port`. Fails naming the package when HAProxy is not installed.
    pub fn start(dir: &Path, config: &str, port: u16) -> Haproxy {
        let bin = require("haproxy", "haproxy");
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).expect("write haproxy.cfg");
        let cfg = path.to_str().expect("utf-8 path");
        let mut check = Peer::spawn(&bin, ["-c", "-f", cfg]);
        let status = check.wait(PEER_TIMEOUT);
        assert!(
            status.is_some_and(|s| s.success()),
            "haproxy -c refused the configuration\n{}",
            check.diagnostics()
        );
        let mut peer = Peer::spawn(&bin, ["-db", "-f", cfg]);
        peer.wait_for_port(port);
        Haproxy { peer, config: path }
    }
}
