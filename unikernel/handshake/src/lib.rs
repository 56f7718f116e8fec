//! The handshake both unikernel test programs run (`../freestanding`: a
//! static Linux binary with no libc; `../wasm`: a wasm32 module): a TLS 1.3
//! client and server in one address space, the server's certificate issued
//! by a test CA and validated by the client (X.509 path validation and the
//! name), application data both ways, close_notify both ways, then a client
//! that expects another name, which must fail.
//!
//! The embedder supplies everything an operating system would: memory (its
//! `#[global_allocator]`, an [`arena::Arena`] over a static buffer),
//! randomness (the [`EntropySource`]s in [`Sources`]; [`run`] installs one as
//! ring's through `entropy::getrandom_hook`) and output (the `out` callback);
//! the clock is a [`CounterClock`].
#![no_std]
// Unsafe code only in the arena allocator (`arena`).
#![deny(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

#[allow(unsafe_code)]
pub mod arena;

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tls_core::config::UnixTime;
use tls_core::x509::TrustAnchors;
use tls_core::{
    CertifiedKey, ClientConfig, Clock, Connection, Error, Event, ProtocolVersion, ServerConfig,
    SigningKey, SingleCert, WebPkiVerifier,
};
pub use tls_core::{EntropyError, EntropySource};

/// The test CA (DER), made by `src/certs/make.sh`.
pub const CA_DER: &[u8] = include_bytes!("certs/ca.der");
/// The server certificate the CA issued for [`SERVER_NAME`] (DER).
pub const SERVER_DER: &[u8] = include_bytes!("certs/server.der");
/// The server's P-256 key (PKCS#8 DER).
pub const SERVER_KEY_DER: &[u8] = include_bytes!("certs/server.key.der");
/// The name the server certificate is for.
pub const SERVER_NAME: &str = "unikernel.test";
/// 2030-01-01T00:00:00Z, where [`CounterClock`] starts: inside the
/// certificates' validity (made 2026, valid 100 years).
pub const CLOCK_START: u64 = 1_893_456_000;

/// A clock without hardware: starts at [`CLOCK_START`] and advances one
/// second each time it is read.
#[derive(Debug)]
pub struct CounterClock(AtomicU64);

impl CounterClock {
    /// A clock at [`CLOCK_START`].
    pub const fn new() -> CounterClock {
        CounterClock(AtomicU64::new(CLOCK_START))
    }
}

impl Default for CounterClock {
    fn default() -> Self {
        CounterClock::new()
    }
}

impl Clock for CounterClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

/// The embedder's entropy source, counting the bytes it hands out.
pub struct Counted {
    source: &'static dyn EntropySource,
    bytes: AtomicUsize,
}

impl Counted {
    /// Counts what `source` hands out.
    pub const fn new(source: &'static dyn EntropySource) -> Counted {
        Counted {
            source,
            bytes: AtomicUsize::new(0),
        }
    }

    /// Bytes handed out so far.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl EntropySource for Counted {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.source.fill(dest)?;
        self.bytes.fetch_add(dest.len(), Ordering::Relaxed);
        Ok(())
    }
}

/// Where the randomness went: to the engine (hello randoms, through the
/// configuration) and to ring (key shares, signatures, through getrandom).
pub struct Sources {
    /// Given to the client and server configurations.
    pub engine: &'static Counted,
    /// Installed as ring's randomness (getrandom's custom backend).
    pub ring: &'static Counted,
}

/// Moves what `from` queued to `to`.
fn transfer(from: &mut Connection, to: &mut Connection) -> Result<(), Error> {
    let bytes = from.pending_tls().to_vec();
    from.consume_tls(bytes.len());
    to.feed(&bytes)
}

/// Runs the handshakes, reporting each step through `out`; `Err` says which
/// check failed.
pub fn run(sources: Sources, out: &mut dyn FnMut(&str)) -> Result<(), String> {
    if !entropy::getrandom_hook::install(sources.ring) {
        return Err("ring's randomness was already installed".into());
    }
    let clock: Arc<dyn Clock> = Arc::new(CounterClock::new());
    let rng: Arc<dyn EntropySource> = Arc::new(sources.engine);

    let mut anchors = TrustAnchors::new();
    anchors
        .add_der(CA_DER)
        .map_err(|e| format!("CA refused: {e}"))?;
    let anchors = Arc::new(anchors);
    let key = SigningKey::from_pkcs8(SERVER_KEY_DER).map_err(|e| format!("server key: {e}"))?;
    let identity = CertifiedKey::new(vec![SERVER_DER.to_vec()], key)
        .map_err(|e| format!("server certificate: {e}"))?;
    let server_config = Arc::new(ServerConfig::new(
        Arc::new(SingleCert(Arc::new(identity))),
        rng.clone(),
        clock.clone(),
    ));
    let mut client_config = ClientConfig::new(
        Arc::new(WebPkiVerifier::new(anchors.clone())),
        rng.clone(),
        clock.clone(),
    );
    client_config.versions = vec![ProtocolVersion::Tls13];
    let client_config = Arc::new(client_config);
    out("configured: CA anchor, server certificate and key, counter clock\n");

    let mut client = Connection::client(client_config.clone(), Some(SERVER_NAME))
        .map_err(|e| format!("client: {e}"))?;
    let mut server = Connection::server(server_config.clone());
    for _ in 0..4 {
        transfer(&mut client, &mut server).map_err(|e| format!("server: {e}"))?;
        transfer(&mut server, &mut client).map_err(|e| format!("client: {e}"))?;
    }
    if client.is_handshaking() || server.is_handshaking() {
        return Err("handshake did not finish".into());
    }
    let negotiated = client.negotiated().ok_or("nothing negotiated")?;
    if negotiated.version != ProtocolVersion::Tls13 {
        return Err(format!("negotiated {:?}", negotiated.version));
    }
    out(&format!(
        "handshake: {:?} {:?} {:?}, chain validated to the CA for {SERVER_NAME}\n",
        negotiated.version, negotiated.suite, negotiated.group
    ));

    client
        .write(b"ping from the client")
        .map_err(|e| format!("client write: {e}"))?;
    transfer(&mut client, &mut server).map_err(|e| format!("server: {e}"))?;
    if server.peek_plaintext() != b"ping from the client" {
        return Err("server received other data".into());
    }
    server.consume_plaintext(server.plaintext_len());
    server
        .write(b"pong from the server")
        .map_err(|e| format!("server write: {e}"))?;
    transfer(&mut server, &mut client).map_err(|e| format!("client: {e}"))?;
    if client.peek_plaintext() != b"pong from the server" {
        return Err("client received other data".into());
    }
    client.consume_plaintext(client.plaintext_len());
    out("data: 20 bytes each way\n");

    client.close();
    transfer(&mut client, &mut server).map_err(|e| format!("server: {e}"))?;
    server.close();
    transfer(&mut server, &mut client).map_err(|e| format!("client: {e}"))?;
    if !client.peer_closed() || !server.peer_closed() {
        return Err("close_notify not seen on both sides".into());
    }
    out("closed: close_notify both ways\n");

    // The same chain for a name it does not carry must be refused.
    let mut wrong = Connection::client(client_config, Some("other.test"))
        .map_err(|e| format!("client: {e}"))?;
    let mut server = Connection::server(server_config);
    let mut refused = false;
    for _ in 0..4 {
        let _ = transfer(&mut wrong, &mut server);
        let _ = transfer(&mut server, &mut wrong);
    }
    while let Some(event) = wrong.next_event() {
        if let Event::Fatal { error, .. } = event {
            out(&format!("wrong name: refused ({error})\n"));
            refused = true;
        }
    }
    if !refused {
        return Err("a certificate for another name was accepted".into());
    }

    let (engine, ring) = (sources.engine.bytes(), sources.ring.bytes());
    out(&format!(
        "randomness from the embedder: {engine} bytes to the engine, {ring} bytes to ring\n"
    ));
    if engine == 0 || ring == 0 {
        return Err("a randomness path did not reach the embedder's source".into());
    }
    Ok(())
}
