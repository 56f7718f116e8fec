//! Driving our engine in the interop tests: configs from the test PKI, a
//! client over TCP, and a one-connection server thread with bounded waits.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tls_core::{CertifiedKey, ClientConfig, Connection, Negotiated, ServerConfig, TlsStream};

use crate::data::{read_exact_within, read_to_close, write_chunked};
use crate::peer::{connect_local, set_timeouts, IO_TIMEOUT, PEER_TIMEOUT};
use crate::pki::{pki, KeyType};

/// The TLS error inside an `io::Error` from [`TlsStream`], if there is one.
pub fn tls_error(e: &io::Error) -> Option<tls_core::Error> {
    e.get_ref()?.downcast_ref::<tls_core::Error>().cloned()
}

/// A client config that accepts exactly the test `localhost` certificate of
/// `key_type`.
pub fn client_config(key_type: KeyType) -> ClientConfig {
    ClientConfig::with_pinned_certs(vec![pki().leaf(key_type).cert_der.clone()])
}

/// A server config presenting the test `localhost` chain of `key_type`.
pub fn server_config(key_type: KeyType) -> ServerConfig {
    let leaf = pki().leaf(key_type);
    let key = CertifiedKey::from_pem(&leaf.chain_pem_bytes, &leaf.key_pem_bytes)
        .unwrap_or_else(|e| panic!("load the {key_type:?} test key: {e}"));
    ServerConfig::with_single_cert(key)
}

/// Like [`connect`] with a config shared between connections, so that the
/// tickets one connection stores are offered by the next.
pub fn connect_shared(
    port: u16,
    config: Arc<ClientConfig>,
    server_name: Option<&str>,
) -> io::Result<TlsStream<TcpStream>> {
    let sock = connect_local(port)?;
    let conn = Connection::client(config, server_name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut stream = TlsStream::new(conn, sock);
    stream.handshake()?;
    Ok(stream)
}

/// Connects our client to 127.0.0.1:`port` and completes the handshake.
pub fn connect(
    port: u16,
    config: ClientConfig,
    server_name: Option<&str>,
) -> io::Result<TlsStream<TcpStream>> {
    let sock = connect_local(port)?;
    let conn = Connection::client(Arc::new(config), server_name)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut stream = TlsStream::new(conn, sock);
    stream.handshake()?;
    Ok(stream)
}

/// One step of a scripted exchange over an established [`TlsStream`].
#[derive(Debug, Clone)]
pub enum Step {
    /// Read exactly this many bytes of application data.
    Read(usize),
    /// Write these bytes (in 16 KiB writes).
    Write(Vec<u8>),
    /// Send close_notify.
    SendClose,
    /// Read until the peer's close_notify; no more data may arrive first.
    ExpectClose,
}

/// What a scripted exchange did.
#[derive(Debug)]
pub struct Outcome {
    /// What the handshake agreed on (None if it failed).
    pub negotiated: Option<Negotiated>,
    /// Every byte of application data read, in order.
    pub received: Vec<u8>,
    /// True once the peer's close_notify was read.
    pub saw_close_notify: bool,
    /// The first failure: which step (0 is the handshake) and the error.
    pub failure: Option<Failure>,
}

/// A step that failed.
#[derive(Debug)]
pub struct Failure {
    /// 0 for the handshake, then 1 + the index of the step.
    pub step: usize,
    /// The I/O error.
    pub error: io::Error,
    /// The TLS error inside it, if any.
    pub tls: Option<tls_core::Error>,
}

impl Outcome {
    /// Panics with the failure, if any.
    #[track_caller]
    pub fn expect_ok(&self, what: &str) {
        if let Some(f) = &self.failure {
            panic!(
                "{what}: step {} failed: {} (tls error: {:?})",
                f.step, f.error, f.tls
            );
        }
    }
}

/// Runs `steps` over `stream` (handshaking first if needed), stopping at the
/// first error. Every read and write is bounded by the socket timeouts and
/// the whole script by `timeout`.
pub fn run_steps<S: Read + Write>(
    stream: &mut TlsStream<S>,
    steps: &[Step],
    timeout: Duration,
) -> Outcome {
    let deadline = Instant::now() + timeout;
    let mut outcome = Outcome {
        negotiated: None,
        received: Vec::new(),
        saw_close_notify: false,
        failure: None,
    };
    let fail = |step: usize, error: io::Error| Failure {
        step,
        tls: tls_error(&error),
        error,
    };
    if stream.conn().is_handshaking() {
        if let Err(e) = stream.handshake() {
            outcome.failure = Some(fail(0, e));
            return outcome;
        }
    }
    outcome.negotiated = stream.conn().negotiated().cloned();
    for (i, step) in steps.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let result = match step {
            Step::Read(n) => {
                read_exact_within(stream, *n, left).map(|d| outcome.received.extend_from_slice(&d))
            }
            Step::Write(data) => write_chunked(stream, data, 16 * 1024),
            Step::SendClose => stream.close_notify(),
            Step::ExpectClose => {
                read_to_close(stream, 0, left).map(|_| outcome.saw_close_notify = true)
            }
        };
        if let Err(e) = result {
            outcome.failure = Some(fail(i + 1, e));
            break;
        }
    }
    outcome
}

/// Our server, accepting one connection on a 127.0.0.1 port in a thread.
pub struct OneShotServer {
    /// The port it listens on.
    pub port: u16,
    result: mpsc::Receiver<Outcome>,
}

impl OneShotServer {
    /// Binds a free 127.0.0.1 port and starts a thread that accepts one
    /// connection (waiting at most [`PEER_TIMEOUT`] for it), runs `steps` and
    /// drops the connection.
    pub fn start(config: ServerConfig, steps: Vec<Step>) -> OneShotServer {
        OneShotServer::start_shared(Arc::new(config), steps)
    }

    /// Like [`OneShotServer::start`] with a config shared between servers, so
    /// that several connections use one ticketer (resumption tests).
    pub fn start_shared(config: Arc<ServerConfig>, steps: Vec<Step>) -> OneShotServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let outcome = match accept_within(&listener, PEER_TIMEOUT) {
                Ok(sock) => {
                    let mut stream = TlsStream::new(Connection::server(config), sock);
                    run_steps(&mut stream, &steps, PEER_TIMEOUT)
                }
                Err(error) => Outcome {
                    negotiated: None,
                    received: Vec::new(),
                    saw_close_notify: false,
                    failure: Some(Failure {
                        step: 0,
                        tls: None,
                        error,
                    }),
                },
            };
            let _ = tx.send(outcome);
        });
        OneShotServer { port, result: rx }
    }

    /// Waits (at most `timeout`) for the server thread's outcome.
    pub fn finish(self, timeout: Duration) -> Outcome {
        self.result.recv_timeout(timeout).unwrap_or_else(|_| {
            panic!(
                "our server on port {} did not finish within {timeout:?}",
                self.port
            )
        })
    }
}

fn accept_within(listener: &TcpListener, timeout: Duration) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((sock, _)) => {
                sock.set_nonblocking(false)?;
                set_timeouts(&sock)?;
                return Ok(sock);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no connection to accept",
                    ));
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The default wait for a whole exchange: the I/O timeout plus slack.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(IO_TIMEOUT.as_secs() + 40);
