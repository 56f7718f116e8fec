//! GnuTLS's command-line peers (Debian package `gnutls-bin`):
//! `gnutls-serv --echo` with the test PKI against our client, and
//! `gnutls-cli` against our server or a tunnel.
//!
//! `gnutls-serv --echo` answers each line-terminated request with the same
//! bytes, and asks for a client certificate by default (our client answers
//! with an empty Certificate). `gnutls-cli` copies its stdin to the server
//! and the server's data to its stdout (`--logfile` keeps its own messages
//! out of stdout); when its stdin closes it sends close_notify and waits for
//! the server's.
//!
//! ```no_run
//! use tls_tests::gnutls_peer::{client_echo, gnutls_cli_round_trip, GnutlsCliBuilder};
//! use tls_tests::{client_config, server_config, KeyType};
//!
//! let priority = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
//! let n = client_echo(KeyType::EcdsaP256, priority, client_config(KeyType::EcdsaP256), 4096);
//! let outcome = gnutls_cli_round_trip(
//!     server_config(KeyType::EcdsaP256),
//!     b"ping\n",
//!     b"pong\n",
//!     |port| GnutlsCliBuilder::new(port, priority),
//! );
//! ```

use std::path::{Path, PathBuf};

use tls_core::{ClientConfig, Negotiated, ServerConfig};

use crate::data::{assert_same_bytes, echo_lockstep, payload, read_to_close};
use crate::engine::{connect, OneShotServer, Outcome, Step, EXCHANGE_TIMEOUT};
use crate::peer::{require, Peer, PEER_TIMEOUT};
use crate::pki::{pki, KeyType};

/// Starts `gnutls-serv --echo` on a free 127.0.0.1 port presenting the test
/// `localhost` chain of `key_type`, with this GnuTLS priority string.
pub fn echo_server(key_type: KeyType, priority: &str) -> (Peer, u16) {
    let tool = require("gnutls-serv", "gnutls-bin");
    let leaf = pki().leaf(key_type);
    Peer::spawn_listening(&tool, |port| {
        vec![
            "--echo".to_string(),
            "-p".to_string(),
            port.to_string(),
            "--x509certfile".to_string(),
            leaf.chain_pem.display().to_string(),
            "--x509keyfile".to_string(),
            leaf.key_pem.display().to_string(),
            format!("--priority={priority}"),
        ]
    })
}

/// Our client (with `config`) against [`echo_server`]: `len` bytes echoed in
/// 4 KiB lines, then close_notify both ways. Asserts the echo, both
/// close_notifys and the server's certificate; returns what our client
/// negotiated.
pub fn client_echo(
    key_type: KeyType,
    priority: &str,
    config: ClientConfig,
    len: usize,
) -> Negotiated {
    let (peer, port) = echo_server(key_type, priority);
    let mut stream = match connect(port, config, Some("localhost")) {
        Ok(s) => s,
        Err(e) => panic!(
            "handshake with gnutls-serv failed: {e}\n{}",
            peer.diagnostics()
        ),
    };
    let n = stream.conn().negotiated().cloned().expect("negotiated");
    let data = payload(5, len);
    let echoed = echo_lockstep(&mut stream, &data, 4096, EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("echo through gnutls-serv: {e}\n{}", peer.diagnostics()));
    assert_same_bytes("echo from gnutls-serv", &echoed, &data);
    stream.close_notify().expect("send close_notify");
    read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT)
        .unwrap_or_else(|e| panic!("gnutls-serv's close_notify: {e}\n{}", peer.diagnostics()));
    assert!(stream.conn().peer_closed());
    assert_eq!(
        n.peer_certificates.first(),
        Some(&pki().leaf(key_type).cert_der)
    );
    n
}

/// A `gnutls-cli` child.
pub struct GnutlsCli {
    /// The process.
    pub peer: Peer,
    /// Its `--logfile`, if it writes one.
    pub log: Option<PathBuf>,
}

impl GnutlsCli {
    /// Its log so far (empty without one).
    pub fn log_text(&self) -> String {
        self.log
            .as_deref()
            .and_then(|log| std::fs::read_to_string(log).ok())
            .unwrap_or_default()
    }
}

/// How to start `gnutls-cli` against `port`. Defaults: trusts the test CA,
/// connects to 127.0.0.1, verifies the name `localhost` and sends it as SNI,
/// logs to a file. Arguments go in the order `--x509cafile`, verification,
/// `--priority`, `--logfile`, `-p`, [`GnutlsCliBuilder::args`], host.
#[derive(Debug, Clone)]
pub struct GnutlsCliBuilder {
    port: u16,
    priority: String,
    ca: PathBuf,
    host: String,
    checked: bool,
    args: Vec<String>,
}

impl GnutlsCliBuilder {
    /// A client of `port` with this GnuTLS priority string.
    pub fn new(port: u16, priority: &str) -> GnutlsCliBuilder {
        GnutlsCliBuilder {
            port,
            priority: priority.to_string(),
            ca: pki().ca_pem.clone(),
            host: "127.0.0.1".to_string(),
            checked: true,
            args: Vec::new(),
        }
    }

    /// Trusts this CA file instead of the test CA.
    pub fn ca(mut self, ca: &Path) -> GnutlsCliBuilder {
        self.ca = ca.to_path_buf();
        self
    }

    /// Connects to `host` (and checks the certificate against that name).
    pub fn host(mut self, host: &str) -> GnutlsCliBuilder {
        self.host = host.to_string();
        self
    }

    /// Without `--verify-hostname`, `--sni-hostname` and `--logfile`: its
    /// messages (`Handshake failed`, ...) go to its stdout.
    pub fn plain(mut self) -> GnutlsCliBuilder {
        self.checked = false;
        self
    }

    /// More arguments, before the host.
    pub fn args(mut self, args: &[impl AsRef<str>]) -> GnutlsCliBuilder {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Starts it (it connects at once).
    pub fn start(self) -> GnutlsCli {
        let tool = require("gnutls-cli", "gnutls-bin");
        let mut args = vec!["--x509cafile".to_string(), self.ca.display().to_string()];
        if self.checked {
            args.push("--verify-hostname=localhost".to_string());
            args.push("--sni-hostname=localhost".to_string());
        }
        args.push(format!("--priority={}", self.priority));
        let log = self
            .checked
            .then(|| pki().dir.join(format!("gnutls-cli-{}.log", self.port)));
        if let Some(log) = &log {
            args.push(format!("--logfile={}", log.display()));
        }
        args.extend(["-p".to_string(), self.port.to_string()]);
        args.extend(self.args);
        args.push(self.host);
        GnutlsCli {
            peer: Peer::spawn(&tool, &args),
            log,
        }
    }
}

/// Our server (one connection, `config`) against the gnutls-cli that
/// `client(port)` describes: gnutls-cli's stdin carries `from_client` and
/// then closes, so gnutls-cli sends close_notify first and our server
/// answers. Asserts that each side received the other's data, that our
/// server saw gnutls-cli's close_notify and that gnutls-cli exited with
/// status 0; returns our server's outcome.
pub fn gnutls_cli_round_trip(
    config: ServerConfig,
    from_client: &[u8],
    to_client: &[u8],
    client: impl FnOnce(u16) -> GnutlsCliBuilder,
) -> Outcome {
    let server = OneShotServer::start(
        config,
        vec![
            Step::Read(from_client.len()),
            Step::Write(to_client.to_vec()),
            Step::ExpectClose,
            Step::SendClose,
        ],
    );
    let mut client = client(server.port).start();
    client.peer.write_stdin(from_client.to_vec());
    let got_all = client.peer.wait_stdout_len(to_client.len(), PEER_TIMEOUT);
    client.peer.close_stdin();
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let log_text = client.log_text();
    if let Some(f) = &outcome.failure {
        panic!(
            "our server vs gnutls-cli: step {} failed: {} ({:?})\n{}\n{log_text}",
            f.step,
            f.error,
            f.tls,
            client.peer.diagnostics()
        );
    }
    assert!(
        got_all,
        "gnutls-cli printed our data\n{}\n{log_text}",
        client.peer.diagnostics()
    );
    client.peer.wait_success(PEER_TIMEOUT);
    assert_same_bytes("our server received", &outcome.received, from_client);
    assert_same_bytes("gnutls-cli received", &client.peer.stdout(), to_client);
    assert!(
        outcome.saw_close_notify,
        "our server saw gnutls-cli's close_notify"
    );
    outcome
}
