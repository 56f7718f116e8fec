//! OpenSSL's command-line peers for the TLS 1.3 feature tests (resumption,
//! mutual TLS, KeyUpdate, 0-RTT): starting `s_server`/`s_client` with a
//! `-trace` file, reading those traces, and editing the sessions `s_client`
//! saves with `-sess_out` (through `openssl sess_id`, DER in and out).
//!
//! A `-trace` file is a run of blocks, each opened by a line `Sent Record`
//! or `Received Record`; inside, a handshake message is a line such as
//! `    ServerHello, Length=118` followed by its details (extensions as
//! `extension_type=psk(41), length=2`), and an alert is a line such as
//! `    Level=fatal(2), description=certificate required(116)`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tls_core::ServerConfig;

use crate::data::assert_same_bytes;
use crate::engine::{OneShotServer, Outcome, Step, EXCHANGE_TIMEOUT};

use crate::peer::{require, run_tool, Peer, PEER_TIMEOUT};
use crate::pki::{pki, KeyType};

/// The `openssl` tool (Debian package `openssl`).
pub fn openssl() -> PathBuf {
    require("openssl", "openssl")
}

/// One message or alert from a `-trace` file.
#[derive(Debug, Clone)]
pub struct TraceItem {
    /// True if the traced peer sent it, false if it received it.
    pub sent: bool,
    /// The handshake message name (`ClientHello`, `KeyUpdate`, ...) or `Alert`.
    pub name: String,
    /// The lines that describe it (extensions, alert level and description).
    pub detail: String,
}

impl TraceItem {
    /// True if the message carries the extension `name` (e.g. `psk`, `early_data`).
    pub fn has_extension(&self, name: &str) -> bool {
        self.detail.contains(&format!("extension_type={name}("))
    }
}

/// A parsed `-trace` file.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The raw text, for failure messages.
    pub text: String,
    /// Messages and alerts in order.
    pub items: Vec<TraceItem>,
}

impl Trace {
    /// Reads and parses `path` (empty if it does not exist).
    pub fn read(path: &Path) -> Trace {
        Trace::parse(&std::fs::read_to_string(path).unwrap_or_default())
    }

    /// Parses the text of a `-trace` file.
    pub fn parse(text: &str) -> Trace {
        let mut items: Vec<TraceItem> = Vec::new();
        let mut sent = None;
        for line in text.lines() {
            match line {
                "Sent Record" => {
                    sent = Some(true);
                    continue;
                }
                "Received Record" => {
                    sent = Some(false);
                    continue;
                }
                _ => {}
            }
            let Some(sent) = sent else { continue };
            let body = line.trim_start();
            let indent = line.len() - body.len();
            if indent == 4 && body.starts_with("Level=") {
                items.push(TraceItem {
                    sent,
                    name: "Alert".into(),
                    detail: body.to_string(),
                });
            } else if let (4, Some((name, _))) = (indent, body.split_once(", Length=")) {
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) {
                    items.push(TraceItem {
                        sent,
                        name: name.to_string(),
                        detail: String::new(),
                    });
                }
            } else if indent > 4 {
                if let Some(item) = items.last_mut() {
                    item.detail.push_str(body);
                    item.detail.push('\n');
                }
            }
        }
        Trace {
            text: text.to_string(),
            items,
        }
    }

    /// The messages named `name` that the traced peer sent (`sent`) or received.
    pub fn messages(&self, sent: bool, name: &str) -> Vec<&TraceItem> {
        self.items
            .iter()
            .filter(|i| i.sent == sent && i.name == name)
            .collect()
    }

    /// True if an alert with this description code went in that direction
    /// (matched by number: OpenSSL 3.0 names 116, certificate_required,
    /// `unknown(116)`).
    pub fn has_alert(&self, sent: bool, code: u8) -> bool {
        self.messages(sent, "Alert").iter().any(|a| {
            a.detail
                .split_once("description=")
                .is_some_and(|(_, d)| d.trim_end().ends_with(&format!("({code})")))
        })
    }
}

/// The lines of a `-msg` file: one header line per record or message, `>>>`
/// for what the peer sent and `<<<` for what it received, such as
/// `<<< TLS 1.3, Alert [length 0002], warning close_notify`.
#[derive(Debug, Clone)]
pub struct MsgLog {
    /// The raw text, for failure messages.
    pub text: String,
}

impl MsgLog {
    /// Reads `path` (empty if it does not exist).
    pub fn read(path: &Path) -> MsgLog {
        MsgLog {
            text: std::fs::read_to_string(path).unwrap_or_default(),
        }
    }

    /// True if an alert named `name` (`close_notify`, `bad_certificate`, ...)
    /// went in that direction: sent by the logged peer, or received by it.
    pub fn has_alert(&self, sent: bool, name: &str) -> bool {
        let dir = if sent { ">>>" } else { "<<<" };
        self.text
            .lines()
            .any(|l| l.starts_with(dir) && l.contains("Alert") && l.contains(name))
    }
}

impl std::fmt::Display for MsgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
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
    /// Its `-trace` log so far.
    pub fn trace(&self) -> Trace {
        Trace::read(&self.log)
    }

    /// Its `-msg` log so far.
    pub fn msg(&self) -> MsgLog {
        MsgLog::read(&self.log)
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
/// let server = SServerBuilder::new(KeyType::EcdsaP256)
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

    /// Exits after `n` connections.
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
            args.extend([
                "-naccept".into(),
                self.naccept.to_string(),
                "-accept".into(),
                format!("127.0.0.1:{port}"),
            ]);
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
    /// Its `-trace` log so far.
    pub fn trace(&self) -> Trace {
        Trace::read(&self.log)
    }

    /// Its `-msg` log so far.
    pub fn msg(&self) -> MsgLog {
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

// ---- saved sessions (`s_client -sess_out`) ----

/// The DER form of a session file written by `s_client -sess_out`.
pub fn session_der(pem: &Path) -> Vec<u8> {
    let der = run_tool(
        &openssl(),
        [
            "sess_id".as_ref(),
            "-in".as_ref(),
            pem.as_os_str(),
            "-outform".as_ref(),
            "DER".as_ref(),
        ],
    );
    assert!(
        !der.is_empty(),
        "openssl sess_id gave no DER for {}",
        pem.display()
    );
    der
}

/// Writes the session `der` as a PEM session file at `pem` (for `-sess_in`).
pub fn write_session(der: &[u8], pem: &Path) {
    let mut der_path = pem.as_os_str().to_owned();
    der_path.push(".der");
    let der_path = PathBuf::from(der_path);
    std::fs::write(&der_path, der).unwrap_or_else(|e| panic!("write {}: {e}", der_path.display()));
    run_tool(
        &openssl(),
        [
            "sess_id".as_ref(),
            "-inform".as_ref(),
            "DER".as_ref(),
            "-in".as_ref(),
            der_path.as_os_str(),
            "-out".as_ref(),
            pem.as_os_str(),
        ],
    );
}

/// One DER element: its (one-byte) tag and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tlv {
    tag: u8,
    contents: Vec<u8>,
}

/// Splits DER bytes into elements (one-byte tags, lengths up to 4 bytes).
fn der_elements(mut der: &[u8]) -> Vec<Tlv> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        assert!(tag & 0x1f != 0x1f, "multi-byte DER tag");
        let first = *der.get(1).expect("DER length");
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            assert!((1..=4).contains(&n), "DER length of {n} bytes");
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + n)
        };
        out.push(Tlv {
            tag,
            contents: der[header..header + len].to_vec(),
        });
        der = &der[header + len..];
    }
    out
}

fn der_encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// The fields of an SSL_SESSION (the outer SEQUENCE's elements).
fn session_fields(der: &[u8]) -> Vec<Tlv> {
    let outer = der_elements(der);
    assert_eq!(outer.len(), 1, "one SSL_SESSION SEQUENCE");
    assert_eq!(outer[0].tag, 0x30, "SSL_SESSION is a SEQUENCE");
    der_elements(&outer[0].contents)
}

fn session_from_fields(fields: &[Tlv]) -> Vec<u8> {
    let body: Vec<u8> = fields
        .iter()
        .flat_map(|f| der_encode(f.tag, &f.contents))
        .collect();
    der_encode(0x30, &body)
}

/// Context-specific constructed tag `[n]`.
const fn context_tag(n: u8) -> u8 {
    0xa0 | n
}

/// The session's opaque ticket (field `[10]`, an OCTET STRING).
pub fn session_ticket(der: &[u8]) -> Vec<u8> {
    let fields = session_fields(der);
    let ticket = fields
        .iter()
        .find(|f| f.tag == context_tag(10))
        .expect("the session holds a ticket");
    let inner = der_elements(&ticket.contents);
    assert_eq!(inner[0].tag, 0x04, "the ticket is an OCTET STRING");
    inner[0].contents.clone()
}

/// The session with its ticket's last byte flipped: the server cannot open it.
pub fn session_with_tampered_ticket(der: &[u8]) -> Vec<u8> {
    let mut fields = session_fields(der);
    let ticket = fields
        .iter_mut()
        .find(|f| f.tag == context_tag(10))
        .expect("the session holds a ticket");
    let mut inner = der_elements(&ticket.contents);
    *inner[0].contents.last_mut().expect("non-empty ticket") ^= 1;
    ticket.contents = der_encode(inner[0].tag, &inner[0].contents);
    session_from_fields(&fields)
}

/// The session with a byte of its master key (in TLS 1.3, the ticket's
/// PSK) flipped: the ticket still opens, but the client's binder is wrong.
pub fn session_with_wrong_psk(der: &[u8]) -> Vec<u8> {
    let mut fields = session_fields(der);
    // version, ssl_version, cipher, session_id, master_key.
    let master_key = &mut fields[4];
    assert_eq!(master_key.tag, 0x04, "master_key is an OCTET STRING");
    master_key.contents[0] ^= 1;
    session_from_fields(&fields)
}

/// The session with its max_early_data (field `[15]`) set to `n`, as if the
/// ticket had carried an early_data extension allowing `n` bytes.
pub fn session_with_max_early_data(der: &[u8], n: u32) -> Vec<u8> {
    let tag = context_tag(15);
    let mut fields: Vec<Tlv> = session_fields(der)
        .into_iter()
        .filter(|f| f.tag != tag)
        .collect();
    let mut int: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    if int.first().map_or(true, |&b| b & 0x80 != 0) {
        int.insert(0, 0);
    }
    let field = Tlv {
        tag,
        contents: der_encode(0x02, &int),
    };
    // Context-tagged fields are in tag order after the universal ones.
    let at = fields
        .iter()
        .position(|f| f.tag & 0xc0 == 0x80 && f.tag > tag)
        .unwrap_or(fields.len());
    fields.insert(at, field);
    session_from_fields(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_items_are_parsed() {
        let text = "Sent Record\nHeader:\n  Version = TLS 1.0 (0x301)\n  Content Type = Handshake (22)\n  Length = 300\n    ClientHello, Length=296\n      client_version=0x303 (TLS 1.2)\n      extensions, length = 100\n        extension_type=early_data(42), length=0\n        extension_type=psk(41), length=80\n\nReceived Record\nHeader:\n  Inner Content Type = Alert (21)\n    Level=fatal(2), description=certificate required(116)\n\n";
        let t = Trace::parse(text);
        assert_eq!(t.items.len(), 2);
        let ch = &t.messages(true, "ClientHello")[0];
        assert!(ch.has_extension("early_data") && ch.has_extension("psk"));
        assert!(!ch.has_extension("key_share"));
        assert!(t.has_alert(false, 116));
        assert!(!t.has_alert(true, 116));
        assert!(!t.has_alert(false, 16));
    }

    #[test]
    fn session_fields_round_trip_and_early_data_is_inserted_in_order() {
        let fields = vec![
            Tlv {
                tag: 0x02,
                contents: vec![1],
            },
            Tlv {
                tag: 0x04,
                contents: vec![0x13, 0x01],
            },
            Tlv {
                tag: context_tag(14),
                contents: der_encode(0x02, &[5]),
            },
            Tlv {
                tag: context_tag(16),
                contents: der_encode(0x04, b"h2"),
            },
            Tlv {
                tag: context_tag(3),
                contents: vec![0x55; 300],
            },
        ];
        let der = session_from_fields(&fields);
        assert_eq!(session_fields(&der), fields);
        let edited = session_fields(&session_with_max_early_data(&der, 0x8000));
        assert_eq!(edited.len(), fields.len() + 1);
        assert_eq!(edited[3].tag, context_tag(15));
        assert_eq!(edited[3].contents, [0x02, 0x03, 0x00, 0x80, 0x00]);
        assert_eq!(edited[4].tag, context_tag(16));
    }
}
