//! Runs tls-core's examples (built by `cargo test`): the blocking server
//! driven by our client, the blocking client against a server this test
//! runs, and the self-contained mTLS, resumption and embedder examples,
//! each checked by what it prints. Every child is killed if it has not
//! exited within 30 s.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use tls_core::x509::TrustAnchors;
use tls_core::{CertifiedKey, ClientConfig, Connection, ServerConfig, TlsStream};

const LIMIT: Duration = Duration::from_secs(30);

/// The built example `name`.
fn example(name: &str) -> PathBuf {
    let path = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("examples").join(name)))
        .expect("the test binary's directory");
    assert!(
        path.is_file(),
        "{} is missing: `cargo test -p tls-core` builds the examples",
        path.display()
    );
    path
}

/// Waits for `child` to exit (killing it after [`LIMIT`]); its stdout and
/// whether it succeeded.
fn finish(mut child: Child) -> (String, bool) {
    let deadline = Instant::now() + LIMIT;
    let ok = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    (out, ok)
}

fn run(name: &str, args: &[&str]) -> String {
    let child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let (out, ok) = finish(child);
    assert!(ok, "{name} failed or hung; it printed:\n{out}");
    out
}

/// A CA and a `localhost` leaf it issued, as PEM files in a fresh directory.
struct Pki {
    dir: PathBuf,
    ca: PathBuf,
    chain: PathBuf,
    key: PathBuf,
}

fn pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("tls-core-examples-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut leaf_params = CertificateParams::new(vec!["localhost".into()]).expect("params");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&key, &Issuer::new(ca_params, ca_key))
        .expect("leaf");
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write PEM");
        path
    };
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        chain: write("chain.pem", format!("{}{}", leaf.pem(), ca_cert.pem())),
        key: write("key.pem", key.serialize_pem()),
        dir,
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

#[test]
fn blocking_server_example() {
    let pki = pki("server");
    let mut child = Command::new(example("blocking_server"))
        .args([
            "127.0.0.1:0",
            path(&pki.chain),
            path(&pki.key),
            "--connections",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start blocking_server");
    // Its first line names the port it bound.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while byte[0] != b'\n' && stdout.read(&mut byte).unwrap_or(0) == 1 {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line).into_owned();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));

    let config = ClientConfig::with_roots(TrustAnchors::from_pem_file(&pki.ca).expect("CA"));
    let conn = Connection::client(Arc::new(config), Some("localhost")).expect("client");
    let sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    sock.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut tls = TlsStream::new(conn, sock);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    tls.read_to_string(&mut response).expect("response");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("hello over Some(Tls13)\n"), "{response}");
    child.stdout = Some(stdout);
    let (_, ok) = finish(child);
    assert!(ok, "blocking_server exits after its one connection");
}

#[test]
fn blocking_client_example() {
    let pki = pki("client");
    let identity = CertifiedKey::from_pem_files(&pki.chain, &pki.key).expect("identity");
    let config = Arc::new(ServerConfig::with_single_cert(identity));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        sock.set_read_timeout(Some(LIMIT)).expect("timeout");
        let mut tls = TlsStream::new(Connection::server(config), sock);
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            let n = tls.read(&mut buf).expect("request");
            assert!(n > 0, "request cut short");
            head.extend_from_slice(&buf[..n]);
        }
        tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
            .expect("response");
        tls.close_notify().expect("close_notify");
        head
    });
    let addr = format!("127.0.0.1:{port}");
    let out = run("blocking_client", &[&addr, "localhost", path(&pki.ca)]);
    let head = server.join().expect("server");
    assert!(head.starts_with(b"GET / HTTP/1.1\r\nHost: localhost\r\n"));
    assert!(
        out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("\r\n\r\nok\n"),
        "{out}"
    );
}

#[test]
fn mtls_example() {
    let out = run("mtls", &[]);
    assert!(
        out.contains("client with a certificate got: welcome"),
        "{out}"
    );
    assert!(
        out.contains("server: client authenticated (1 certificate)"),
        "{out}"
    );
    assert!(
        out.contains("client without a certificate refused: true"),
        "{out}"
    );
}

#[test]
fn resumption_example() {
    let out = run("resumption", &[]);
    assert!(out.contains("connection 1: resumed = false"), "{out}");
    assert!(out.contains("connection 2: resumed = true"), "{out}");
    assert!(out.contains("1 handed out"), "{out}");
}

#[test]
fn embedder_example() {
    let out = run("embedder", &[]);
    assert!(out.contains("negotiated Tls13"), "{out}");
    assert!(out.contains("server read: hello from the device"), "{out}");
}
