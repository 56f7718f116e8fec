//! OpenSSL's command-line peers: `s_server` and `s_client` started with
//! the test PKI ([`SServerBuilder`], [`SClientBuilder`], and [`s_server`]/
//! [`s_client`] for the TLS 1.3 feature tests), our server against an
//! s_client ([`serve_s_client`]), the logs they write ([`Trace`],
//! [`MsgLog`]) and the sessions s_client saves ([`session_der`] and the
//! editors next to it).

mod session;
mod trace;

pub use session::{
    session_der, session_ticket, session_with_max_early_data, session_with_tampered_ticket,
    session_with_wrong_psk, write_session,
};
pub use trace::{MsgLog, Trace, TraceItem};

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::time::Duration;

use tls_core::{ClientConfig, Negotiated, ServerConfig};

use crate::data::{assert_same_bytes, payload, read_exact_within, read_to_close, write_chunked};
use crate::engine::{connect_shared, OneShotServer, Outcome, Step, EXCHANGE_TIMEOUT};
use crate::peer::{require, Peer, PEER_TIMEOUT};
use crate::pki::{pki, KeyType};

/// The `openssl` tool (Debian package `openssl`).
pub fn openssl() -> PathBuf {
    require("openssl", "openssl")
}

/// What an OpenSSL peer writes to its `-msgfile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// `-trace`: every message decoded, read back with [`Trace`].
    Trace,
    /// `-msg`: a header line per message, read back with [`MsgLog`].
    Msg,
    /// No log.
    Off,
}

impl Log {
    /// The flags that write this log to `file`.
    fn args(self, file: &Path) -> Vec<String> {
        let flag = match self {
            Log::Trace => "-trace",
            Log::Msg => "-msg",
            Log::Off => return Vec::new(),
        };
        vec![flag.into(), "-msgfile".into(), file.display().to_string()]
    }

    fn extension(self) -> &'static str {
        match self {
            Log::Msg => "msg",
            Log::Trace | Log::Off => "trace",
        }
    }
}

/// An `openssl s_server` child and what a test needs to look at it.
pub struct SServer {
    /// The process.
    pub peer: Peer,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its `-msgfile` (see [`Log`]).
    pub log: PathBuf,
}

impl SServer {
    /// Its `-trace` log, once it has exited by itself (see [`exited`]).
    pub fn trace(&mut self) -> Trace {
        exited(&mut self.peer);
        Trace::read(&self.log)
    }

    /// Its `-msg` log, once it has exited by itself (see [`exited`]).
    pub fn msg(&mut self) -> MsgLog {
        exited(&mut self.peer);
        MsgLog::read(&self.log)
    }
}

/// Waits for an OpenSSL peer to exit by itself (at most [`PEER_TIMEOUT`]),
/// so that its `-msgfile` is whole: OpenSSL buffers that file and writes
/// the rest only as it exits, so a log read while it runs, or after it was
/// killed, can miss its last messages. Panics if the peer is still running
/// (start s_server with `-naccept N` for the N connections the test makes;
/// s_client exits when the server closes or its stdin is closed) or was
/// killed.
fn exited(peer: &mut Peer) {
    use std::os::unix::process::ExitStatusExt;
    match peer.wait(PEER_TIMEOUT) {
        None => panic!(
            "its -msgfile is read once it exits by itself, but it still runs after \
             {PEER_TIMEOUT:?}\n{}",
            peer.diagnostics()
        ),
        Some(status) if status.signal().is_some() => panic!(
            "it was killed ({status}), so what it still buffered for its -msgfile is lost: \
             let it exit by itself before reading the log\n{}",
            peer.diagnostics()
        ),
        Some(_) => {}
    }
}

/// How to start an `openssl s_server` on a free 127.0.0.1 port. Defaults:
/// one connection, `-quiet` (stdin and stdout carry exactly the
/// application data), a `-trace` log. No protocol version is forced: pass
/// `-tls1_3` or `-tls1_2` in [`SServerBuilder::args`].
///
/// ```no_run
/// use tls_tests::openssl_peer::{Log, SServerBuilder};
/// use tls_tests::KeyType;
///
/// let mut server = SServerBuilder::new(KeyType::EcdsaP256)
///     .naccept(2)
///     .log(Log::Msg)
///     .args(&["-tls1_2", "-no_ticket"])
///     .start();
/// // ... connect to server.port ...
/// assert!(server.msg().has_alert(false, "close_notify"));
/// ```
#[derive(Debug, Clone)]
pub struct SServerBuilder {
    cert: PathBuf,
    key: PathBuf,
    chain: Option<PathBuf>,
    naccept: u32,
    quiet: bool,
    log: Log,
    args: Vec<String>,
}

impl SServerBuilder {
    /// A server presenting the test `localhost` leaf of `key_type`, with
    /// the test CA as its chain.
    pub fn new(key_type: KeyType) -> SServerBuilder {
        let p = pki();
        let leaf = p.leaf(key_type);
        SServerBuilder {
            chain: Some(p.ca_pem.clone()),
            ..SServerBuilder::with_cert(&leaf.cert_pem, &leaf.key_pem)
        }
    }

    /// A server presenting the certificate and key in these PEM files (no
    /// chain).
    pub fn with_cert(cert: &Path, key: &Path) -> SServerBuilder {
        SServerBuilder {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            chain: None,
            naccept: 1,
            quiet: true,
            log: Log::Trace,
            args: Vec::new(),
        }
    }

    /// Exits after `n` connections; with 0, serves until it is killed.
    pub fn naccept(mut self, n: u32) -> SServerBuilder {
        self.naccept = n;
        self
    }

    /// With `false`, s_server prints connection details and reads command
    /// letters from stdin instead of copying data.
    pub fn quiet(mut self, quiet: bool) -> SServerBuilder {
        self.quiet = quiet;
        self
    }

    /// The log it writes.
    pub fn log(mut self, log: Log) -> SServerBuilder {
        self.log = log;
        self
    }

    /// More arguments, after the others.
    pub fn args(mut self, args: &[impl AsRef<str>]) -> SServerBuilder {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Starts it and waits until it listens.
    pub fn start(self) -> SServer {
        let log_file = |port: u16| {
            pki()
                .dir
                .join(format!("s_server-{port}.{}", self.log.extension()))
        };
        let args = |port: u16| {
            let mut args: Vec<String> = vec!["s_server".into()];
            if self.quiet {
                args.push("-quiet".into());
            }
            if self.naccept > 0 {
                args.extend(["-naccept".into(), self.naccept.to_string()]);
            }
            args.extend(["-accept".into(), format!("127.0.0.1:{port}")]);
            for (flag, path) in [("-cert", &self.cert), ("-key", &self.key)] {
                args.extend([flag.to_string(), path.display().to_string()]);
            }
            if let Some(chain) = &self.chain {
                args.extend(["-cert_chain".to_string(), chain.display().to_string()]);
            }
            args.extend(self.log.args(&log_file(port)));
            args.extend(self.args.iter().cloned());
            args
        };
        let (peer, port) = Peer::spawn_listening(&openssl(), args);
        SServer {
            peer,
            port,
            log: log_file(port),
        }
    }
}

/// Starts `openssl s_server -tls1_3` with the `key_type` leaf (and the CA as
/// its chain) for `naccept` connections, tracing into a file. With `quiet`,
/// stdin and stdout carry exactly the application data; without it,
/// s_server prints connection details (and reads command letters).
pub fn s_server(key_type: KeyType, naccept: u32, quiet: bool, extra: &[&str]) -> SServer {
    SServerBuilder::new(key_type)
        .naccept(naccept)
        .quiet(quiet)
        .args(&["-tls1_3"])
        .args(extra)
        .start()
}

/// One connection of our client (with `config`, shared so that tickets
/// carry over) to `server`: sends `to_server` and waits until s_server has
/// printed it, feeds `from_server` (if any) to s_server's stdin and reads
/// it, then close_notify both ways. Asserts that the data arrived intact
/// and that nothing followed s_server's close_notify; returns what our
/// client negotiated.
///
/// ```no_run
/// use std::sync::Arc;
/// use tls_tests::openssl_peer::{s_server, s_server_session};
/// use tls_tests::{client_config, KeyType};
///
/// let mut server = s_server(KeyType::EcdsaP256, 2, true, &[]);
/// let config = Arc::new(client_config(KeyType::EcdsaP256));
/// let first = s_server_session(&mut server, &config, b"ping\n", b"pong\n");
/// let second = s_server_session(&mut server, &config, b"ping\n", b"");
/// assert!(!first.resumed && second.resumed);
/// ```
pub fn s_server_session(
    server: &mut SServer,
    config: &Arc<ClientConfig>,
    to_server: &[u8],
    from_server: &[u8],
) -> Negotiated {
    let mut stream = match connect_shared(server.port, config.clone(), Some("localhost")) {
        Ok(s) => s,
        Err(e) => panic!(
            "handshake with s_server failed: {e}\n{}",
            server.peer.diagnostics()
        ),
    };
    let negotiated = stream.conn().negotiated().cloned().expect("negotiated");
    let already = server.peer.stdout().len();
    write_chunked(&mut stream, to_server, 16 * 1024).expect("write to s_server");
    let printed = server.peer.wait_output(PEER_TIMEOUT, |out, _| {
        out.as_bytes()
            .get(already..)
            .is_some_and(|new| new.windows(to_server.len()).any(|w| w == to_server))
    });
    assert!(
        printed,
        "s_server did not print our data\n{}",
        server.peer.diagnostics()
    );
    if !from_server.is_empty() {
        server.peer.write_stdin(from_server.to_vec());
        let got = read_exact_within(&mut stream, from_server.len(), EXCHANGE_TIMEOUT)
            .unwrap_or_else(|e| panic!("read from s_server: {e}\n{}", server.peer.diagnostics()));
        assert_same_bytes("our client received", &got, from_server);
        // s_server has read it all: stdin is free for the next connection.
        server.peer.finish_stdin_write();
    }
    stream.close_notify().expect("send close_notify");
    let after = read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT).unwrap_or_else(|e| {
        panic!(
            "s_server's close_notify: {e}\n{}",
            server.peer.diagnostics()
        )
    });
    assert!(after.is_empty(), "data after s_server's close_notify");
    assert!(stream.conn().peer_closed(), "our client saw close_notify");
    negotiated
}

/// An `openssl s_client` child.
pub struct SClient {
    /// The process.
    pub peer: Peer,
    /// Its `-msgfile` (see [`Log`]).
    pub log: PathBuf,
    /// True if it runs with `-quiet` (its stdout is exactly the data).
    pub quiet: bool,
}

impl SClient {
    /// Its `-trace` log, once it has exited by itself (see [`exited`]).
    pub fn trace(&mut self) -> Trace {
        exited(&mut self.peer);
        Trace::read(&self.log)
    }

    /// Its `-msg` log, once it has exited by itself (see [`exited`]).
    pub fn msg(&mut self) -> MsgLog {
        exited(&mut self.peer);
        MsgLog::read(&self.log)
    }
}

/// How to start an `openssl s_client` against 127.0.0.1:`port`. Defaults:
/// `-quiet` (stdin and stdout carry exactly the application data), the
/// server verified against the test CA for `localhost` (also sent as SNI),
/// a `-trace` log in a file named after `tag` and the port. No protocol
/// version is forced: pass `-tls1_3` or `-tls1_2` in
/// [`SClientBuilder::args`].
///
/// ```no_run
/// use tls_tests::openssl_peer::{Log, SClientBuilder};
///
/// let port = 4433; // where our server listens
/// let mut client = SClientBuilder::new(port, "demo")
///     .log(Log::Msg)
///     .args(&["-tls1_3", "-groups", "X25519"])
///     .start();
/// client.peer.write_stdin(b"hello".to_vec());
/// ```
#[derive(Debug, Clone)]
pub struct SClientBuilder {
    port: u16,
    tag: String,
    quiet: bool,
    log: Log,
    args: Vec<String>,
    env: Vec<(String, PathBuf)>,
}

impl SClientBuilder {
    /// A client of 127.0.0.1:`port`; `tag` names its log file.
    pub fn new(port: u16, tag: &str) -> SClientBuilder {
        SClientBuilder {
            port,
            tag: tag.to_string(),
            quiet: true,
            log: Log::Trace,
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// With `false`, s_client prints the session (`New`/`Reused`) and takes
    /// command letters (`k`, `K`) at the start of a read from stdin.
    pub fn quiet(mut self, quiet: bool) -> SClientBuilder {
        self.quiet = quiet;
        self
    }

    /// The log it writes.
    pub fn log(mut self, log: Log) -> SClientBuilder {
        self.log = log;
        self
    }

    /// More arguments, after the others.
    pub fn args(mut self, args: &[impl AsRef<str>]) -> SClientBuilder {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// An environment variable naming a file (e.g. `OPENSSL_CONF`).
    pub fn env(mut self, name: &str, path: &Path) -> SClientBuilder {
        self.env.push((name.to_string(), path.to_path_buf()));
        self
    }

    /// Starts it (it connects at once).
    pub fn start(self) -> SClient {
        let log = pki().dir.join(format!(
            "s_client-{}-{}.{}",
            self.tag,
            self.port,
            self.log.extension()
        ));
        let mut args: Vec<String> = vec!["s_client".into()];
        if self.quiet {
            args.push("-quiet".into());
        }
        args.extend(["-connect".into(), format!("127.0.0.1:{}", self.port)]);
        args.extend(["-CAfile".into(), pki().ca_pem.display().to_string()]);
        for a in [
            "-verify_return_error",
            "-verify_hostname",
            "localhost",
            "-servername",
            "localhost",
        ] {
            args.push(a.into());
        }
        args.extend(self.log.args(&log));
        args.extend(self.args);
        let mut cmd = Command::new(openssl());
        cmd.args(&args);
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        SClient {
            peer: Peer::spawn_command(cmd),
            log,
            quiet: self.quiet,
        }
    }
}

/// Starts `openssl s_client -tls1_3` against 127.0.0.1:`port`, verifying the
/// server against the test CA for `localhost`, tracing into a file named
/// after `tag`. With `quiet`, stdin and stdout carry exactly the application
/// data; without it, s_client prints the session (`New`/`Reused`) and takes
/// command letters (`k`, `K`) at the start of a read from stdin.
pub fn s_client(port: u16, tag: &str, quiet: bool, extra: &[&str]) -> SClient {
    SClientBuilder::new(port, tag)
        .quiet(quiet)
        .args(&["-tls1_3"])
        .args(extra)
        .start()
}

/// What an `s_client` run by [`s_client_run`] left behind.
#[derive(Debug, Clone)]
pub struct SClientRun {
    /// Its exit status; `None` if it did not exit in time (it was killed).
    pub status: Option<ExitStatus>,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl SClientRun {
    /// True if it exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Its stdout, then its stderr.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Starts `openssl s_client -connect 127.0.0.1:port args...` with exactly
/// these arguments, for a server that is not ours (a tunnel) where the test
/// writes to its stdin and reads its output. For our own servers with the
/// test PKI, [`SClientBuilder`] adds the verification; for a run with no
/// input, see [`s_client_run`].
pub fn s_client_at(port: u16, args: &[&str]) -> Peer {
    let connect = format!("127.0.0.1:{port}");
    let mut all = vec!["s_client", "-connect", &connect];
    all.extend_from_slice(args);
    Peer::spawn(&openssl(), all)
}

/// Runs `openssl s_client -connect 127.0.0.1:port args...` with its stdin
/// closed (add `-ign_eof` to keep it connected until the server closes)
/// until it exits, waiting at most [`PEER_TIMEOUT`] and killing it after
/// that. For checks of a server that is not ours (a tunnel, an oracle)
/// where the arguments say everything, including `-servername`.
///
/// ```no_run
/// use tls_tests::openssl_peer::s_client_run;
///
/// let run = s_client_run(4433, &["-servername", "localhost", "-tls1_2"]);
/// assert!(run.success(), "{}", run.output());
/// ```
pub fn s_client_run(port: u16, args: &[&str]) -> SClientRun {
    s_client_run_at("127.0.0.1", port, args)
}

/// [`s_client_run`] against `host:port` (`host` as s_client takes it: a
/// name, an IPv4 address or a bracketed IPv6 address such as `[::1]`).
pub fn s_client_run_at(host: &str, port: u16, args: &[&str]) -> SClientRun {
    let connect = format!("{host}:{port}");
    let mut all = vec!["s_client", "-connect", &connect];
    all.extend_from_slice(args);
    let mut client = Peer::spawn(&openssl(), all);
    client.close_stdin();
    let status = client.wait(PEER_TIMEOUT);
    client.kill();
    SClientRun {
        status,
        stdout: String::from_utf8_lossy(&client.stdout()).into_owned(),
        stderr: client.stderr(),
    }
}

/// A file name in the PKI directory that no other call gives: `tag` and
/// the time in nanoseconds (for `-sess_out` files and the like).
pub fn unique_file(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    pki().dir.join(format!("{tag}-{nanos}"))
}

/// Our server (one connection; `config` is shared, so tickets and session
/// caches carry over between calls) against the s_client that
/// `start(port)` starts. s_client's stdin carries `from_client` and stays
/// open; our server reads that many bytes, writes `to_client`, sends
/// close_notify and reads to s_client's. Returns our server's outcome,
/// unchecked, and the s_client, which may still be running.
///
/// ```no_run
/// use std::sync::Arc;
/// use tls_tests::openssl_peer::{serve_s_client, s_client};
/// use tls_tests::{server_config, KeyType};
///
/// let config = Arc::new(server_config(KeyType::EcdsaP256));
/// let (outcome, client) = serve_s_client(config, b"ping\n", b"pong\n", |port| {
///     s_client(port, "demo", true, &[])
/// });
/// outcome.expect_ok("our server vs s_client");
/// ```
pub fn serve_s_client(
    config: Arc<ServerConfig>,
    from_client: &[u8],
    to_client: &[u8],
    start: impl FnOnce(u16) -> SClient,
) -> (Outcome, SClient) {
    let server = OneShotServer::start_shared(
        config,
        vec![
            Step::Read(from_client.len()),
            Step::Write(to_client.to_vec()),
            Step::SendClose,
            Step::ExpectClose,
        ],
    );
    let mut client = start(server.port);
    client.peer.write_stdin(from_client.to_vec());
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    (outcome, client)
}

/// [`serve_s_client`], checked: the exchange succeeded (else s_client's
/// output is printed), s_client exited by itself with status 0, our server
/// received `from_client`, and s_client printed `to_client` (exactly that
/// with `-quiet`, else among its own lines).
pub fn s_client_round_trip(
    config: Arc<ServerConfig>,
    from_client: &[u8],
    to_client: &[u8],
    start: impl FnOnce(u16) -> SClient,
) -> (Outcome, SClient) {
    let (outcome, mut client) = serve_s_client(config, from_client, to_client, start);
    if outcome.failure.is_some() {
        client.peer.wait(Duration::from_secs(2));
        println!("{}", client.peer.diagnostics());
    }
    outcome.expect_ok("our server vs s_client");
    client.peer.wait_success(PEER_TIMEOUT);
    assert_same_bytes("our server received", &outcome.received, from_client);
    if client.quiet {
        assert_same_bytes("s_client received", &client.peer.stdout(), to_client);
    } else {
        let out = String::from_utf8_lossy(&client.peer.stdout()).into_owned();
        assert!(
            out.contains(&*String::from_utf8_lossy(to_client)),
            "s_client printed our data\n{}",
            client.peer.diagnostics()
        );
    }
    (outcome, client)
}

/// One `s_client -tls1_3` connection (not `-quiet`, so it prints the
/// session; `extra` such as `-sess_out F`) to our server sharing `config`,
/// through [`s_client_round_trip`]: `len` bytes of `payload(seed)` from
/// s_client, `payload(seed + 100)` back.
pub fn s_client_session(
    config: &Arc<ServerConfig>,
    tag: &str,
    seed: u64,
    len: usize,
    extra: &[&str],
) -> (Outcome, SClient) {
    s_client_round_trip(
        config.clone(),
        &payload(seed, len),
        &payload(seed + 100, len),
        |port| s_client(port, tag, false, extra),
    )
}
