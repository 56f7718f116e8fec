//! Real peers as child processes: finding the tool, free ports, and a guard
//! that captures the child's output and never lets a test wait forever.

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Read and write timeout for every socket a test opens.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest a test waits for a peer to do something (start, print, exit).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a wait re-checks its condition.
const POLL: Duration = Duration::from_millis(5);

/// The path of `tool` on `PATH`. Panics naming the Debian `package` that
/// provides it: a test whose peer is missing fails, it never skips.
pub fn require(tool: &str, package: &str) -> PathBuf {
    find_in_path(tool).unwrap_or_else(|| panic!("`{tool}` not found: apt-get install {package}"))
}

fn find_in_path(tool: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read
/// the port, release it). For peers that must be told a port up front.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A listener on a free 127.0.0.1 port, for our own servers (no race).
pub fn local_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = listener.local_addr().expect("local_addr").port();
    (listener, port)
}

/// Connects to 127.0.0.1:`port` with the test timeouts set.
///
/// An error means the connection was not established (nothing listens).
/// A server that accepts and at once resets still yields a stream, whose
/// first read reports the reset: `TcpStream::connect_timeout` is not used
/// because it reports such a reset as a failed connect when the reset
/// arrives before its poll wakes, which a loaded machine makes likely. On
/// loopback a plain connect is answered at once (refused or accepted).
pub fn connect_local(port: u16) -> io::Result<TcpStream> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let sock = TcpStream::connect(addr)?;
    set_timeouts(&sock)?;
    Ok(sock)
}

/// Sets the read and write timeouts of `sock` to [`IO_TIMEOUT`].
pub fn set_timeouts(sock: &TcpStream) -> io::Result<()> {
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.set_write_timeout(Some(IO_TIMEOUT))?;
    sock.set_nodelay(true)
}

/// Waits until something listens on TCP `port` (any local address), up to
/// `timeout`. On Linux this reads /proc/net/tcp{,6} and so does not connect:
/// a peer that accepts a single connection (`s_server -naccept 1`) keeps it
/// for the test. Elsewhere it falls back to a connect probe.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let listening = match listening_in_proc(port) {
            Some(found) => found,
            None => connect_local(port).is_ok(),
        };
        if listening {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL);
    }
}

/// `Some(true)` if /proc shows a socket listening on `port`, `None` if /proc
/// cannot be read.
fn listening_in_proc(port: u16) -> Option<bool> {
    let mut readable = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        readable = true;
        for line in text.lines().skip(1) {
            let mut fields = line.split_whitespace();
            let (Some(_slot), Some(local), Some(_remote), Some(state)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            // State 0A is TCP_LISTEN.
            if local_port == Some(port) && state == "0A" {
                return Some(true);
            }
        }
    }
    readable.then_some(false)
}

/// Bytes a child wrote to one of its output pipes, shared with the thread
/// that drains the pipe (a full pipe would stall the child).
#[derive(Default)]
struct Capture {
    state: Mutex<(Vec<u8>, bool)>,
    changed: Condvar,
}

impl Capture {
    fn drain(self: Arc<Self>, mut pipe: impl Read + Send + 'static) -> JoinHandle<()> {
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => 0,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => 0,
                };
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if n == 0 {
                    state.1 = true;
                    self.changed.notify_all();
                    return;
                }
                state.0.extend_from_slice(&buf[..n]);
                self.changed.notify_all();
            }
        })
    }

    fn bytes(&self) -> Vec<u8> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// Waits until `done(bytes, eof)` holds or `timeout` passes.
    fn wait_until(&self, timeout: Duration, done: impl Fn(&[u8], bool) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if done(&state.0, state.1) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

enum Stdin {
    Open(ChildStdin),
    /// A thread is writing; it hands the pipe back (still open) when done.
    Writing(Receiver<(ChildStdin, io::Result<()>)>),
    Closed,
}

/// A peer process. Its stdout and stderr are captured by background threads;
/// on drop it is killed and reaped, so no test leaves a process behind.
pub struct Peer {
    name: String,
    command_line: String,
    child: Child,
    stdin: Stdin,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    status: Option<ExitStatus>,
}

impl Peer {
    /// Starts `program args...` with all three standard streams piped.
    pub fn spawn<I, A>(program: &std::path::Path, args: I) -> Peer
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        let mut cmd = Command::new(program);
        cmd.args(args);
        Peer::spawn_command(cmd)
    }

    /// Starts `cmd` with all three standard streams piped.
    pub fn spawn_command(mut cmd: Command) -> Peer {
        let name = cmd
            .get_program()
            .to_string_lossy()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let command_line = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command_line}`: {e}"));
        let stdout = Arc::new(Capture::default());
        let stderr = Arc::new(Capture::default());
        let out_pipe = child.stdout.take().expect("piped stdout");
        let err_pipe = child.stderr.take().expect("piped stderr");
        // The drain threads end by themselves at EOF, at the latest when the
        // child is killed; they are detached.
        drop(stdout.clone().drain(out_pipe));
        drop(stderr.clone().drain(err_pipe));
        let stdin = Stdin::Open(child.stdin.take().expect("piped stdin"));
        Peer {
            name,
            command_line,
            child,
            stdin,
            stdout,
            stderr,
            status: None,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes `data` to the child's stdin from a background thread (the child
    /// reads it at its own pace); stdin stays open afterwards until
    /// [`Peer::close_stdin`] or drop.
    pub fn write_stdin(&mut self, data: Vec<u8>) {
        let Stdin::Open(mut pipe) = std::mem::replace(&mut self.stdin, Stdin::Closed) else {
            panic!("{}: stdin is busy or closed", self.name);
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let result = pipe.write_all(&data).and_then(|()| pipe.flush());
            let _ = tx.send((pipe, result));
        });
        self.stdin = Stdin::Writing(rx);
    }

    /// Waits (bounded) for a pending [`Peer::write_stdin`] to finish, then
    /// closes stdin so the child sees EOF.
    pub fn close_stdin(&mut self) {
        if let Stdin::Writing(rx) = std::mem::replace(&mut self.stdin, Stdin::Closed) {
            match rx.recv_timeout(PEER_TIMEOUT) {
                Ok((pipe, result)) => {
                    drop(pipe);
                    if let Err(e) = result {
                        panic!(
                            "{}: writing its stdin failed: {e}\n{}",
                            self.name,
                            self.diagnostics()
                        );
                    }
                }
                Err(_) => panic!(
                    "{}: did not read its stdin within {PEER_TIMEOUT:?}\n{}",
                    self.name,
                    self.diagnostics()
                ),
            }
        }
    }

    /// Waits (bounded) for a pending [`Peer::write_stdin`] to finish and
    /// keeps stdin open, so that another write can follow (a peer that reads
    /// commands from stdin, such as `s_client`'s `k`, is fed piece by piece).
    pub fn finish_stdin_write(&mut self) {
        if let Stdin::Writing(rx) = std::mem::replace(&mut self.stdin, Stdin::Closed) {
            match rx.recv_timeout(PEER_TIMEOUT) {
                Ok((pipe, Ok(()))) => self.stdin = Stdin::Open(pipe),
                Ok((_, Err(e))) => panic!(
                    "{}: writing its stdin failed: {e}\n{}",
                    self.name,
                    self.diagnostics()
                ),
                Err(_) => panic!(
                    "{}: did not read its stdin within {PEER_TIMEOUT:?}\n{}",
                    self.name,
                    self.diagnostics()
                ),
            }
        }
    }

    /// Waits until `done(stdout, stderr)` holds (both as text), up to
    /// `timeout`; true if it did.
    pub fn wait_output(&self, timeout: Duration, done: impl Fn(&str, &str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let out = String::from_utf8_lossy(&self.stdout.bytes()).into_owned();
            let err = String::from_utf8_lossy(&self.stderr.bytes()).into_owned();
            if done(&out, &err) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(POLL);
        }
    }

    /// Everything the child has written to stdout so far.
    pub fn stdout(&self) -> Vec<u8> {
        self.stdout.bytes()
    }

    /// Everything the child has written to stderr so far, as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.bytes()).into_owned()
    }

    /// Waits until stdout holds at least `n` bytes (or ends, or `timeout`
    /// passes); true if it got them.
    pub fn wait_stdout_len(&self, n: usize, timeout: Duration) -> bool {
        self.stdout
            .wait_until(timeout, |bytes, eof| bytes.len() >= n || eof);
        self.stdout.bytes().len() >= n
    }

    /// Waits until stdout or stderr contains `needle`; true if it did.
    pub fn wait_output_contains(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let has = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains(needle);
        loop {
            if has(&self.stdout.bytes()) || has(&self.stderr.bytes()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(POLL);
        }
    }

    /// The exit status if the child has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the child to exit.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status() {
                // Let the drain threads collect the last output.
                self.stdout.wait_until(Duration::from_secs(2), |_, eof| eof);
                self.stderr.wait_until(Duration::from_secs(2), |_, eof| eof);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(POLL);
        }
    }

    /// Waits for the child to exit by itself with status 0; panics with the
    /// child's output otherwise.
    pub fn wait_success(&mut self, timeout: Duration) {
        match self.wait(timeout) {
            Some(status) if status.success() => {}
            Some(status) => panic!("{} exited with {status}\n{}", self.name, self.diagnostics()),
            None => panic!(
                "{} still running after {timeout:?}\n{}",
                self.name,
                self.diagnostics()
            ),
        }
    }

    /// Waits until the child listens on `port`; panics (with its output) if it
    /// exits first or does not listen in time.
    pub fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + PEER_TIMEOUT;
        loop {
            if wait_for_port(port, Duration::from_millis(50)) {
                return;
            }
            if let Some(status) = self.try_status() {
                panic!(
                    "{} exited ({status}) before listening on {port}\n{}",
                    self.name,
                    self.diagnostics()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} not listening on {port} after {PEER_TIMEOUT:?}\n{}",
                    self.name,
                    self.diagnostics()
                );
            }
        }
    }

    /// Starts a server peer on a free 127.0.0.1 port: `args(port)` gives its
    /// arguments. Waits until it listens; if it exits first (the port was
    /// taken between [`free_port`] and its bind), tries again with another
    /// port, up to three times.
    pub fn spawn_listening(
        program: &std::path::Path,
        args: impl Fn(u16) -> Vec<String>,
    ) -> (Peer, u16) {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut peer = Peer::spawn(program, args(port));
            let deadline = Instant::now() + PEER_TIMEOUT;
            loop {
                if wait_for_port(port, Duration::from_millis(50)) {
                    return (peer, port);
                }
                if let Some(status) = peer.try_status() {
                    peer.wait(Duration::from_secs(2));
                    last = format!(
                        "{} exited ({status}) before listening on {port}\n{}",
                        peer.name,
                        peer.diagnostics()
                    );
                    break;
                }
                if Instant::now() >= deadline {
                    panic!(
                        "{} not listening on {port} after {PEER_TIMEOUT:?}\n{}",
                        peer.name,
                        peer.diagnostics()
                    );
                }
            }
        }
        panic!("{last}");
    }

    /// Kills the child (if running) and reaps it.
    pub fn kill(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// The command line, exit status and captured output, for failure messages.
    pub fn diagnostics(&self) -> String {
        let tail = |bytes: Vec<u8>| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let skip = text.len().saturating_sub(4000);
            let start = (skip..=text.len())
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            text[start..].to_string()
        };
        format!(
            "--- {} ---\ncommand: {}\nstatus: {:?}\nstdout ({} bytes, tail):\n{}\nstderr (tail):\n{}\n---",
            self.name,
            self.command_line,
            self.status,
            self.stdout.bytes().len(),
            tail(self.stdout.bytes()),
            tail(self.stderr.bytes()),
        )
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `program args...` to completion (bounded by [`PEER_TIMEOUT`]) and
/// returns its stdout; panics with its output if it fails.
pub fn run_tool<I, A>(program: &std::path::Path, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = A>,
    A: AsRef<OsStr>,
{
    let mut peer = Peer::spawn(program, args);
    peer.close_stdin();
    peer.wait_success(PEER_TIMEOUT);
    peer.stdout()
}
