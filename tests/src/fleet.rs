//! Helpers for the fleet tests (`tests/tunnel_fleet.rs`,
//! `tests/tunnel_haproxy.rs`): session-resumption probes with `openssl
//! s_client`, ticket key files, HAProxy as a child process, and a bounded
//! request loop counting failures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// One request through a TLS tunnel on 127.0.0.1:`port` whose certificate
/// is `pin` (DER): connect, handshake, send `ping\n`, read until it comes
/// back (after whatever greeting the backend sends first). The text read,
/// or what failed.
pub fn request(port: u16, pin: &[u8]) -> Result<String, String> {
    let sock =
        std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    crate::peer::set_timeouts(&sock).map_err(|e| format!("timeouts: {e}"))?;
    let mut tls = crate::tunnel::tls_over(sock, "localhost", pin);
    tls.handshake().map_err(|e| format!("handshake: {e:?}"))?;
    tls.write_all(b"ping\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"ping\n") {
        let n = std::io::Read::read(&mut tls, &mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!("closed after {:?}", String::from_utf8_lossy(&got)));
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// Results of a [`LoadLoop`]: one per request, in order.
pub type Results = Arc<Mutex<Vec<Result<String, String>>>>;

/// Requests ([`request`]) one after another on a thread until stopped, at
/// most [`LoadLoop::MAX_REQUESTS`] of them and for at most five minutes.
pub struct LoadLoop {
    stop: Arc<AtomicBool>,
    results: Results,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LoadLoop {
    /// The bound on the requests one loop makes.
    pub const MAX_REQUESTS: usize = 200_000;

    /// Starts requesting from 127.0.0.1:`port`, trusting `pin`.
    pub fn start(port: u16, pin: &[u8]) -> LoadLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let results: Results = Arc::default();
        let (s, r, pin) = (stop.clone(), results.clone(), pin.to_vec());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            for _ in 0..Self::MAX_REQUESTS {
                if s.load(Ordering::SeqCst) || Instant::now() > deadline {
                    return;
                }
                let one = request(port, &pin);
                r.lock().unwrap_or_else(|e| e.into_inner()).push(one);
            }
        });
        LoadLoop {
            stop,
            results,
            thread: Some(thread),
        }
    }

    /// Waits (at most [`PEER_TIMEOUT`]) until `enough` holds for the results
    /// so far; whether it did.
    pub fn wait_for(&self, enough: impl Fn(&[Result<String, String>]) -> bool) -> bool {
        let deadline = Instant::now() + PEER_TIMEOUT;
        while Instant::now() < deadline {
            if enough(&self.results.lock().unwrap_or_else(|e| e.into_inner())) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// The results so far.
    pub fn snapshot(&self) -> Vec<Result<String, String>> {
        self.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops the loop and returns every result.
    pub fn finish(mut self) -> Vec<Result<String, String>> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.results.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for LoadLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The failures among `results`, with their position.
pub fn failures(results: &[Result<String, String>]) -> Vec<(usize, &str)> {
    results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.as_str())))
        .collect()
}
