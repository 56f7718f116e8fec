//! Helpers for the tls-tunnel end-to-end tests (`tests/tunnel_*.rs`): the real
//! binary as a child process, plaintext backends that stop by themselves,
//! certificates for named hosts, and a tls-core client.
//!
//! The binary is found next to the test executable (`target/<profile>/`) and
//! built with `cargo build -p tls-tunnel` first, so `cargo test -p tls-tests`
//! works on a fresh clone; `TLS_TUNNEL_BIN` overrides the path.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tls_core::{ClientConfig, Connection, TlsStream};

use crate::peer::{local_listener, set_timeouts, Peer, PEER_TIMEOUT};

/// The tls-tunnel binary, built on first use.
///
/// It is built into its own target directory (`target/tunnel-bin`): a
/// `cargo build -p tls-tunnel` unifies dependency features differently from
/// the `cargo test` that runs us, and in the shared directory it would
/// rebuild crates such as tls-core in place under the same file names while
/// tests run, leaving the outer run's later steps (doc tests) with libraries
/// that no longer match.
pub fn tunnel_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("TLS_TUNNEL_BIN") {
            return PathBuf::from(path);
        }
        // target/<profile>/deps/<test exe> -> target/<profile>
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in target/<profile>/deps")
            .to_path_buf();
        let profile = profile_dir.file_name().expect("profile name").to_owned();
        let target_dir = profile_dir.parent().expect("target dir").join("tunnel-bin");
        let bin = target_dir.join(&profile).join("tls-tunnel");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "--quiet",
            "-p",
            "tls-tunnel",
            "--bin",
            "tls-tunnel",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build -p tls-tunnel");
        assert!(status.success(), "cargo build -p tls-tunnel failed");
        assert!(bin.exists(), "{} missing after cargo build", bin.display());
        bin
    })
    .clone()
}

/// A client-mode tunnel (command line) with `--starttls proto` to `target`,
/// trusting `cacert` for `localhost`, plus `extra` flags; it and its port.
pub fn starttls_client(proto: &str, target: &str, cacert: &Path, extra: &[&str]) -> (Tunnel, u16) {
    let port = crate::peer::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "client",
        "--listen",
        &listen,
        "--target",
        target,
        "--cacert",
        cacert.to_str().expect("utf-8 path"),
        "--server-name",
        "localhost",
        "--starttls",
        proto,
    ];
    args.extend_from_slice(extra);
    (Tunnel::start(args, &[port]), port)
}

/// A fresh temporary directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "tls-tunnel-test-{}-{tag}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// `tls-tunnel args...`, with the self-signed default's state directory
/// (`$XDG_STATE_HOME/tls-tunnel`) under the temporary directory rather
/// than the home directory of whoever runs the tests.
pub fn tunnel_command<A: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = A>) -> Command {
    let mut cmd = Command::new(tunnel_bin());
    cmd.args(args).env_remove("STATE_DIRECTORY").env(
        "XDG_STATE_HOME",
        std::env::temp_dir().join("tls-tunnel-test-state"),
    );
    cmd
}

/// A running tls-tunnel; killed on drop. Its logs are on stderr.
pub struct Tunnel {
    /// The child process.
    pub peer: Peer,
}

impl Tunnel {
    /// Starts `tls-tunnel args...`.
    pub fn spawn<A: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = A>) -> Tunnel {
        Tunnel {
            peer: Peer::spawn_command(tunnel_command(args)),
        }
    }

    /// Starts it and waits until it listens on each of `ports`.
    pub fn start<A: AsRef<std::ffi::OsStr>>(
        args: impl IntoIterator<Item = A>,
        ports: &[u16],
    ) -> Tunnel {
        let mut t = Tunnel::spawn(args);
        for &port in ports {
            t.peer.wait_for_port(port);
        }
        t
    }

    /// A server-mode tunnel listening on `listen` (whose port is `port`) and
    /// forwarding to `target`, serving `cert`, with `extra` arguments after
    /// those; returns once it listens.
    pub fn server(
        listen: &str,
        target: &str,
        cert: &CertFiles,
        extra: &[&str],
        port: u16,
    ) -> Tunnel {
        let (cert_path, key_path) = (cert.cert.to_str().unwrap(), cert.key.to_str().unwrap());
        let mut args = vec![
            "server", "--listen", listen, "--target", target, "--cert", cert_path, "--key",
            key_path,
        ];
        args.extend_from_slice(extra);
        Tunnel::start(args, &[port])
    }

    /// Waits until its log contains `needle`; panics with the log otherwise.
    pub fn expect_log(&self, needle: &str) {
        assert!(
            self.peer.wait_output_contains(needle, PEER_TIMEOUT),
            "log never contained {needle:?}\n{}",
            self.peer.diagnostics()
        );
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        self.peer.stderr()
    }

    /// Sends a signal by name (`HUP`, `TERM`) with kill(1).
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.peer.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{sig} failed");
    }
}

/// Runs `tls-tunnel args...` to completion (bounded) and returns exit code,
/// stdout and stderr.
pub fn run_tunnel<A: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = A>,
) -> (Option<i32>, String, String) {
    let mut peer = Peer::spawn_command(tunnel_command(args));
    peer.close_stdin();
    let status = peer
        .wait(PEER_TIMEOUT)
        .unwrap_or_else(|| panic!("tls-tunnel did not exit\n{}", peer.diagnostics()));
    (
        status.code(),
        String::from_utf8_lossy(&peer.stdout()).into_owned(),
        peer.stderr(),
    )
}

/// A certificate and key written to files, for one or more DNS names.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// Certificate (PEM).
    pub cert: PathBuf,
    /// Private key (PEM, PKCS#8).
    pub key: PathBuf,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

/// A self-signed ECDSA P-256 certificate with subject CN `cn` and these
/// subject alternative names (DNS names, or URIs when they contain `://`,
/// or IP addresses when they parse as one).
pub fn cert_for(dir: &Path, cn: &str, sans: &[&str]) -> CertFiles {
    cert_with_ou(dir, cn, None, sans)
}

/// [`cert_for`] with a subject organizational unit.
pub fn cert_with_ou(dir: &Path, cn: &str, ou: Option<&str>, sans: &[&str]) -> CertFiles {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    if let Some(ou) = ou {
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationalUnitName, ou);
    }
    for san in sans {
        if let Ok(ip) = san.parse::<std::net::IpAddr>() {
            params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
            continue;
        }
        let ia5 = rcgen::string::Ia5String::try_from(*san).expect("ascii SAN");
        params.subject_alt_names.push(if san.contains("://") {
            rcgen::SanType::URI(ia5)
        } else {
            rcgen::SanType::DnsName(ia5)
        });
    }
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-sign");
    let files = CertFiles {
        cert: dir.join(format!("{cn}.crt")),
        key: dir.join(format!("{cn}.key")),
        der: cert.der().to_vec(),
    };
    std::fs::write(&files.cert, cert.pem()).expect("write cert");
    std::fs::write(&files.key, key.serialize_pem()).expect("write key");
    files
}

/// What a [`Backend`] does with each connection.
#[derive(Debug, Clone)]
pub enum BackendKind {
    /// Writes `greeting` (may be empty), then echoes until end-of-file, then
    /// shuts down its side.
    Echo {
        /// Sent first, e.g. a name telling backends apart.
        greeting: String,
    },
    /// Reads a PROXY protocol v2 header (recorded), then echoes.
    ProxyV2Echo,
    /// Answers one HTTP request with this body and closes.
    Http(String),
}

/// A plaintext backend (on 127.0.0.1 unless started with
/// [`Backend::start_on`]) that serves until dropped.
pub struct Backend {
    /// Its port.
    pub port: u16,
    /// PROXY headers received (ProxyV2Echo), one per connection.
    pub headers: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Connections accepted.
    pub accepted: Arc<AtomicUsize>,
    ip: std::net::IpAddr,
    stop: Arc<AtomicBool>,
}

impl Backend {
    /// Starts a backend.
    pub fn start(kind: BackendKind) -> Backend {
        Backend::serve_on(kind, local_listener().0)
    }

    /// Starts a backend on a free port of `ip`, for a subject that refuses
    /// loopback destinations (a SOCKS server).
    pub fn start_on(kind: BackendKind, ip: std::net::IpAddr) -> Backend {
        let listener = TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        Backend::serve_on(kind, listener)
    }

    /// Serves `listener` on a thread.
    fn serve_on(kind: BackendKind, listener: TcpListener) -> Backend {
        // The serving loop is bounded in time; a test that starts its
        // backend before its tunnel would otherwise spend that time in the
        // tunnel binary's first build (minutes on a cold machine) and find
        // the backend gone. Build it first.
        let _ = tunnel_bin();
        let local = listener.local_addr().expect("local_addr");
        let (ip, port) = (local.ip(), local.port());
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let headers = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (s, h, a) = (stop.clone(), headers.clone(), accepted.clone());
        thread::spawn(move || serve(listener, kind, s, h, a));
        Backend {
            port,
            headers,
            accepted,
            ip,
            stop,
        }
    }

    /// `ip:port` (`127.0.0.1:port` unless started with [`Backend::start_on`]).
    pub fn addr(&self) -> String {
        std::net::SocketAddr::new(self.ip, self.port).to_string()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    listener: TcpListener,
    kind: BackendKind,
    stop: Arc<AtomicBool>,
    headers: Arc<Mutex<Vec<Vec<u8>>>>,
    accepted: Arc<AtomicUsize>,
) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        match listener.accept() {
            Ok((sock, _)) => {
                accepted.fetch_add(1, Ordering::SeqCst);
                let _ = sock.set_nonblocking(false);
                let _ = set_timeouts(&sock);
                let (kind, headers) = (kind.clone(), headers.clone());
                thread::spawn(move || {
                    let _ = handle(sock, kind, headers);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5))
            }
            Err(_) => return,
        }
    }
}

fn handle(
    mut sock: TcpStream,
    kind: BackendKind,
    headers: Arc<Mutex<Vec<Vec<u8>>>>,
) -> io::Result<()> {
    match kind {
        BackendKind::Http(body) => {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                req.extend_from_slice(&buf[..n]);
            }
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(resp.as_bytes())?;
            sock.shutdown(Shutdown::Write)?;
            // Wait for the client to finish before closing.
            let _ = sock.read(&mut buf);
            return Ok(());
        }
        BackendKind::ProxyV2Echo => {
            let mut head = [0u8; 16];
            sock.read_exact(&mut head)?;
            let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
            let mut header = head.to_vec();
            header.resize(16 + len, 0);
            sock.read_exact(&mut header[16..])?;
            headers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(header);
        }
        BackendKind::Echo { greeting } => sock.write_all(greeting.as_bytes())?,
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = sock.read(&mut buf)?;
        if n == 0 {
            return sock.shutdown(Shutdown::Write);
        }
        sock.write_all(&buf[..n])?;
    }
}

/// A tls-core client over `sock`, accepting exactly the server certificate
/// `pin` (DER), with SNI `server_name`; the handshake is left to the first
/// read, write or `handshake()`.
pub fn tls_over(sock: TcpStream, server_name: &str, pin: &[u8]) -> TlsStream<TcpStream> {
    let config = Arc::new(ClientConfig::with_pinned_certs(vec![pin.to_vec()]));
    let conn = Connection::client(config, Some(server_name)).expect("client connection");
    TlsStream::new(conn, sock)
}

/// A tls-core client connected to 127.0.0.1:`port`, accepting exactly the
/// server certificate `pin` (DER), with SNI `server_name`.
pub fn tls_client(port: u16, server_name: &str, pin: &[u8]) -> TlsStream<TcpStream> {
    let sock = crate::peer::connect_local(port).expect("connect to the tunnel");
    let mut tls = tls_over(sock, server_name, pin);
    tls.handshake().expect("handshake through the tunnel");
    tls
}

/// GET /metrics from a tunnel's metrics endpoint on 127.0.0.1:`port`: the
/// whole HTTP response.
pub fn http_get(port: u16) -> String {
    let mut sock = crate::peer::connect_local(port).expect("connect to the metrics endpoint");
    sock.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send the request");
    let mut out = String::new();
    sock.read_to_string(&mut out).expect("read the metrics");
    out
}

/// Reads exactly `n` bytes (bounded by the socket timeouts).
pub fn read_n(r: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    r.read_exact(&mut buf).expect("read from the tunnel");
    buf
}

/// Sends `request` as is to the HTTP endpoint (metrics, status, probes) on
/// 127.0.0.1:`port` and returns the whole response (the server closes the
/// connection after one response).
pub fn http_raw(port: u16, request: &[u8]) -> String {
    let mut sock = crate::peer::connect_local(port).expect("connect to the HTTP endpoint");
    sock.write_all(request).expect("send the request");
    let mut out = Vec::new();
    sock.read_to_end(&mut out).expect("read the response");
    String::from_utf8_lossy(&out).into_owned()
}

/// GET `path` from the HTTP endpoint on 127.0.0.1:`port`: the status code
/// and the body.
pub fn http_get_path(port: u16, path: &str) -> (u16, String) {
    let resp = http_raw(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    );
    let code = resp
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {resp:?}"));
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}
