//! The xentropyd source against a fake daemon in a separate process, over a
//! Unix socket in a temporary directory.
//!
//! The daemon is this test binary re-executed: the parent runs
//! `<self> --exact fake_daemon --ignored` with the scenario and socket path
//! in the environment, and the `fake_daemon` test (ignored in normal runs)
//! binds the socket and plays the scenario. Every wait is bounded: the
//! daemon gives up after 10 s without a client, the client's socket has a
//! read timeout, and the parent kills its daemon (by its own child handle)
//! when the test ends.
#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use entropy::pool::{Pool, PoolConfig, SharedPool, SourceKind};
use entropy::xentropyd::{IoStream, Xentropyd, XentropydError, ANSWER, GREETING};
use entropy::EntropySource;

const MODE: &str = "FAKE_XENTROPYD_MODE";
const SOCKET: &str = "FAKE_XENTROPYD_SOCKET";
const PATIENCE: Duration = Duration::from_secs(10);

/// The daemon's "entropy": splitmix64 from a fixed seed, so the client can
/// check it got exactly the bytes that followed the answer.
fn pattern(len: usize) -> Vec<u8> {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

// ---------------------------------------------------------------- daemon side

/// The fake daemon. Does nothing unless started by `Daemon::start`.
#[test]
#[ignore = "run as a child process by the other tests"]
fn fake_daemon() {
    let (Ok(mode), Ok(path)) = (std::env::var(MODE), std::env::var(SOCKET)) else {
        return;
    };
    let listener = UnixListener::bind(&path).expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + PATIENCE;
    let mut conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(5)),
            Err(e) => panic!("no client: {e}"),
        }
    };
    conn.set_nonblocking(false).expect("blocking");
    conn.set_read_timeout(Some(PATIENCE)).expect("timeout");
    conn.set_write_timeout(Some(PATIENCE)).expect("timeout");

    let mut hello = vec![0u8; GREETING.len()];
    conn.read_exact(&mut hello).expect("greeting");
    assert_eq!(hello, GREETING, "the guest's greeting");

    let entropy = pattern(8192);
    match mode.as_str() {
        "good" => {
            // The answer and the first entropy in one write, the rest in pieces.
            let mut first = ANSWER.to_vec();
            first.extend_from_slice(&entropy[..100]);
            conn.write_all(&first).expect("write");
            for chunk in entropy[100..].chunks(1000) {
                conn.write_all(chunk).expect("write");
            }
            wait_for_close(&mut conn);
        }
        "wrong" => {
            conn.write_all(b"You may NOT treat everything following this message as entropy.\r\n")
                .expect("write");
            conn.write_all(&entropy[..64]).expect("write");
            wait_for_close(&mut conn);
        }
        "early-close" => {
            conn.write_all(&ANSWER[..19]).expect("write");
        }
        "short" => {
            conn.write_all(ANSWER).expect("write");
            conn.write_all(&entropy[..10]).expect("write");
        }
        "trickle" => {
            for b in ANSWER.iter().chain(&entropy[..200]) {
                conn.write_all(&[*b]).expect("write");
                sleep(Duration::from_millis(1));
            }
            wait_for_close(&mut conn);
        }
        "silent" => {
            conn.write_all(ANSWER).expect("write");
            conn.write_all(&entropy[..16]).expect("write");
            wait_for_close(&mut conn);
        }
        other => panic!("unknown mode {other}"),
    }
}

/// Keeps the connection open until the client closes it (or patience ends).
fn wait_for_close(conn: &mut UnixStream) {
    let mut sink = [0u8; 64];
    while let Ok(n) = conn.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}

// ---------------------------------------------------------------- client side

/// A fake daemon process and its socket directory; killed and removed on drop.
struct Daemon {
    child: Child,
    dir: PathBuf,
    socket: PathBuf,
}

impl Daemon {
    fn start(mode: &str) -> Daemon {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "entropy-xentropyd-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let socket = dir.join("xentropyd.sock");
        let child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "fake_daemon",
                "--ignored",
                "--test-threads=1",
                "--quiet",
            ])
            .env(MODE, mode)
            .env(SOCKET, &socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn fake daemon");
        Daemon { child, dir, socket }
    }

    /// Connects once the daemon is listening, with a read timeout.
    fn connect(&self, read_timeout: Duration) -> UnixStream {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match UnixStream::connect(&self.socket) {
                Ok(s) => {
                    s.set_read_timeout(Some(read_timeout)).expect("timeout");
                    s.set_write_timeout(Some(PATIENCE)).expect("timeout");
                    return s;
                }
                Err(_) if Instant::now() < deadline => sleep(Duration::from_millis(10)),
                Err(e) => panic!("fake daemon never listened: {e}"),
            }
        }
    }

    fn handshake(
        &self,
        read_timeout: Duration,
    ) -> Result<Xentropyd<IoStream<UnixStream>>, XentropydError> {
        Xentropyd::handshake(IoStream(self.connect(read_timeout)))
    }

    /// Kills the daemon process and reaps it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn good_handshake_gives_the_bytes_after_the_answer() {
    let daemon = Daemon::start("good");
    let mut x = daemon.handshake(PATIENCE).expect("handshake");
    let mut got = vec![0u8; 5000];
    // Uneven reads across the daemon's write boundaries.
    for chunk in got.chunks_mut(333) {
        x.read_entropy(chunk).expect("entropy");
    }
    assert_eq!(got, pattern(5000));
}

#[test]
fn connect_unix_and_seed_a_pool() {
    let daemon = Daemon::start("good");
    // The daemon serves one client: wait for its socket rather than probe it.
    let deadline = Instant::now() + PATIENCE;
    while !daemon.socket().exists() {
        assert!(Instant::now() < deadline, "fake daemon never listened");
        sleep(Duration::from_millis(10));
    }
    let x = Xentropyd::connect_unix(daemon.socket(), PATIENCE).expect("handshake");
    let mut pool = Pool::new(PoolConfig::default());
    pool.add_source("xentropyd", SourceKind::Conditioned, x);
    let pool = SharedPool::new(pool, || 0u64);
    pool.seed().expect("seeded from xentropyd");
    let mut out = [0u8; 32];
    pool.fill(&mut out).expect("output");
    assert_ne!(out, [0u8; 32]);
}

#[test]
fn wrong_greeting_is_refused() {
    let daemon = Daemon::start("wrong");
    let err = daemon.handshake(PATIENCE).unwrap_err();
    assert_eq!(err, XentropydError::WrongAnswer { offset: 8 });
}

#[test]
fn early_close_during_handshake() {
    let daemon = Daemon::start("early-close");
    let err = daemon.handshake(PATIENCE).unwrap_err();
    assert_eq!(err, XentropydError::ClosedDuringHandshake { received: 19 });
}

#[test]
fn early_close_during_entropy_gives_no_output() {
    let daemon = Daemon::start("short");
    let mut x = daemon.handshake(PATIENCE).expect("handshake");
    let mut out = [0xaau8; 64];
    assert_eq!(x.read_entropy(&mut out), Err(XentropydError::Closed));
    assert_eq!(out, [0u8; 64], "no partial output");
    // Poisoned: the 10 bytes that did arrive are never handed out.
    let mut one = [0u8; 1];
    assert_eq!(x.read_entropy(&mut one), Err(XentropydError::Closed));
}

#[test]
fn slow_trickle_is_reassembled_exactly() {
    let daemon = Daemon::start("trickle");
    let mut x = daemon.handshake(PATIENCE).expect("handshake");
    let mut got = vec![0u8; 150];
    x.read_entropy(&mut got).expect("entropy");
    assert_eq!(got, pattern(150));
}

#[test]
fn silent_daemon_times_out() {
    let daemon = Daemon::start("silent");
    let mut x = daemon
        .handshake(Duration::from_millis(300))
        .expect("handshake");
    let mut first = [0u8; 16];
    x.read_entropy(&mut first)
        .expect("the bytes that were sent");
    let started = Instant::now();
    let mut more = [0u8; 16];
    assert_eq!(x.read_entropy(&mut more), Err(XentropydError::TimedOut));
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(x.read_entropy(&mut more), Err(XentropydError::TimedOut));
}

#[test]
fn daemon_that_disappears_is_an_error() {
    let mut daemon = Daemon::start("good");
    let mut x = daemon.handshake(PATIENCE).expect("handshake");
    let mut first = [0u8; 32];
    x.read_entropy(&mut first).expect("entropy");
    daemon.kill();
    // The daemon had queued 8 KiB; past it the stream ends.
    let mut rest = vec![0u8; 16 * 1024];
    let err = x.read_entropy(&mut rest).unwrap_err();
    assert!(
        matches!(err, XentropydError::Closed | XentropydError::Stream(_)),
        "{err:?}"
    );
    assert!(rest.iter().all(|&b| b == 0), "no partial output");
}
