//! Shared set-up of the benchmarks: tls-core and rustls (ring provider)
//! configured alike — same certificate chain (the tests' CA and `localhost`
//! leaf), one suite, X25519 (P-256 also offered, without a share: TLS 1.2 ECDSA needs it), the client verifying the chain against the
//! CA — and driven over memory buffers the same way. The post-quantum
//! handshakes ([`Kx::X25519MlKem768`]) compare with rustls's aws-lc-rs
//! provider instead (ring has no ML-KEM).
//!
//! The criterion benches (`benches/tls.rs`) bench each figure for both stacks
//! back to back; `benches/idle_memory.rs` counts heap bytes; the `ratios`
//! binary prints the ours/rustls table from one run's results; the `profile`
//! binary runs one workload for `valgrind --tool=callgrind`. [`InPlace`]
//! drives tls-core through its zero-copy calls.

use std::convert::Infallible;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::crypto::{aws_lc_rs, ring as provider, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tls_core::{
    CertifiedKey, CipherSuite, ClientConfig, Connection, NamedGroup, ProtocolVersion, ServerConfig,
    TrustAnchors, WebPkiVerifier,
};
pub use tls_tests::{pki, KeyType};

/// One cipher suite in both stacks' terms.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    /// Short name used in benchmark ids.
    pub name: &'static str,
    /// tls-core's value.
    pub ours: CipherSuite,
    /// rustls's value.
    pub theirs: rustls::SupportedCipherSuite,
    /// A TLS 1.2 suite (otherwise TLS 1.3).
    pub tls12: bool,
    /// The AEAD, for the raw ring ceiling.
    pub aead: &'static ring::aead::Algorithm,
}

/// TLS 1.3 AES-128-GCM.
pub const TLS13_AES128: Suite = Suite {
    name: "tls13_aes128gcm",
    ours: CipherSuite::Tls13Aes128GcmSha256,
    theirs: provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
    tls12: false,
    aead: &ring::aead::AES_128_GCM,
};
/// TLS 1.3 AES-256-GCM.
pub const TLS13_AES256: Suite = Suite {
    name: "tls13_aes256gcm",
    ours: CipherSuite::Tls13Aes256GcmSha384,
    theirs: provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
    tls12: false,
    aead: &ring::aead::AES_256_GCM,
};
/// TLS 1.3 ChaCha20-Poly1305.
pub const TLS13_CHACHA: Suite = Suite {
    name: "tls13_chacha20",
    ours: CipherSuite::Tls13Chacha20Poly1305Sha256,
    theirs: provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
    tls12: false,
    aead: &ring::aead::CHACHA20_POLY1305,
};
/// TLS 1.2 ECDHE-ECDSA-AES128-GCM.
pub const TLS12_ECDSA_AES128: Suite = Suite {
    name: "tls12_ecdsa_aes128gcm",
    ours: CipherSuite::EcdheEcdsaAes128GcmSha256,
    theirs: provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    tls12: true,
    aead: &ring::aead::AES_128_GCM,
};
/// TLS 1.2 ECDHE-RSA-AES128-GCM (for RSA certificates).
pub const TLS12_RSA_AES128: Suite = Suite {
    name: "tls12_rsa_aes128gcm",
    ours: CipherSuite::EcdheRsaAes128GcmSha256,
    theirs: provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    tls12: true,
    aead: &ring::aead::AES_128_GCM,
};

/// The suites of the bulk-transfer benchmarks.
pub const BULK_SUITES: [Suite; 4] = [TLS13_AES128, TLS13_AES256, TLS13_CHACHA, TLS12_ECDSA_AES128];

/// The plaintext per record in the bulk benchmarks: a full record.
pub const RECORD: usize = 16 * 1024;

/// Which stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// tls-core.
    Ours,
    /// rustls with the ring provider.
    Rustls,
}

/// Which side of a handshake is timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client's calls (including building the ClientHello).
    Client,
    /// The server's calls.
    Server,
}

/// The key exchange both stacks offer, and rustls's crypto provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kx {
    /// X25519 (P-256 offered too, without a share); rustls with ring.
    X25519,
    /// The same groups, rustls with aws-lc-rs: the classical baseline of
    /// the post-quantum comparison, in the provider that has the hybrid.
    X25519AwsLc,
    /// X25519MLKEM768 first with an X25519 share alongside (two key
    /// shares: both stacks' default), then X25519 and P-256; the server
    /// picks the hybrid. rustls with aws-lc-rs.
    X25519MlKem768,
    /// P-256 (secp256r1) alone; rustls with ring.
    P256,
}

/// What both stacks are configured with.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The server certificate's key.
    pub key: KeyType,
    /// The one suite offered and accepted.
    pub suite: Suite,
    /// Session tickets issued (2 per handshake) and kept by the client.
    pub tickets: bool,
    /// The groups offered, and rustls's provider.
    pub kx: Kx,
}

impl Setup {
    /// TLS 1.3 or 1.2 over `key` and `suite` with X25519 (rustls with ring).
    pub fn new(key: KeyType, suite: Suite, tickets: bool) -> Setup {
        Setup {
            key,
            suite,
            tickets,
            kx: Kx::X25519,
        }
    }

    /// tls-core's groups, most preferred first.
    fn our_groups(&self) -> Vec<NamedGroup> {
        match self.kx {
            Kx::X25519 | Kx::X25519AwsLc => vec![NamedGroup::X25519, NamedGroup::Secp256r1],
            Kx::X25519MlKem768 => vec![
                NamedGroup::X25519MlKem768,
                NamedGroup::X25519,
                NamedGroup::Secp256r1,
            ],
            Kx::P256 => vec![NamedGroup::Secp256r1],
        }
    }
}

fn leaf_chain(key: KeyType) -> (Vec<u8>, Vec<u8>, &'static tls_tests::Leaf) {
    let p = pki();
    let leaf = p.leaf(key);
    (leaf.cert_der.clone(), p.ca_der.clone(), leaf)
}

/// tls-core's server config for `setup`.
pub fn ours_server_config(setup: Setup) -> Arc<ServerConfig> {
    let (_, _, leaf) = leaf_chain(setup.key);
    let key = CertifiedKey::from_pem(&leaf.chain_pem_bytes, &leaf.key_pem_bytes).expect("test key");
    let mut c = ServerConfig::with_single_cert(key);
    c.versions = vec![version(setup.suite)];
    c.cipher_suites = vec![setup.suite.ours];
    c.groups = setup.our_groups();
    // Tickets only (as rustls's ticketer): no session-ID cache.
    c.session_cache = None;
    if setup.tickets {
        c.session_tickets = 2;
    } else {
        c.ticketer = None;
        c.session_tickets = 0;
    }
    Arc::new(c)
}

fn version(suite: Suite) -> ProtocolVersion {
    if suite.tls12 {
        ProtocolVersion::Tls12
    } else {
        ProtocolVersion::Tls13
    }
}

/// tls-core's client config for `setup`: X.509 validation against the test CA.
pub fn ours_client_config(setup: Setup) -> Arc<ClientConfig> {
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki().ca_der).expect("test CA");
    let mut c = ClientConfig::with_pinned_certs(Vec::new());
    c.verifier = Arc::new(WebPkiVerifier::new(Arc::new(anchors)));
    c.versions = vec![version(setup.suite)];
    c.cipher_suites = vec![setup.suite.ours];
    c.groups = setup.our_groups();
    c.classical_share_with_hybrid = true;
    if !setup.tickets {
        c.session_store = None;
    }
    Arc::new(c)
}

fn rustls_provider(setup: Setup) -> Arc<CryptoProvider> {
    let suite = setup.suite;
    let provider = match setup.kx {
        Kx::X25519 => CryptoProvider {
            cipher_suites: vec![suite.theirs],
            kx_groups: vec![provider::kx_group::X25519, provider::kx_group::SECP256R1],
            ..provider::default_provider()
        },
        Kx::P256 => CryptoProvider {
            cipher_suites: vec![suite.theirs],
            kx_groups: vec![provider::kx_group::SECP256R1],
            ..provider::default_provider()
        },
        Kx::X25519AwsLc | Kx::X25519MlKem768 => {
            let mut kx_groups = vec![aws_lc_rs::kx_group::X25519, aws_lc_rs::kx_group::SECP256R1];
            if setup.kx == Kx::X25519MlKem768 {
                kx_groups.insert(0, aws_lc_rs::kx_group::X25519MLKEM768);
            }
            let base = aws_lc_rs::default_provider();
            let cipher_suites = base
                .cipher_suites
                .iter()
                .filter(|s| s.suite() == suite.theirs.suite())
                .copied()
                .collect();
            CryptoProvider {
                cipher_suites,
                kx_groups,
                ..base
            }
        }
    };
    Arc::new(provider)
}

fn rustls_version(suite: Suite) -> &'static rustls::SupportedProtocolVersion {
    if suite.tls12 {
        &rustls::version::TLS12
    } else {
        &rustls::version::TLS13
    }
}

/// rustls's server config for `setup`.
pub fn rustls_server_config(setup: Setup) -> Arc<rustls::ServerConfig> {
    let (leaf_der, ca_der, leaf) = leaf_chain(setup.key);
    let chain = vec![CertificateDer::from(leaf_der), CertificateDer::from(ca_der)];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key_der.clone()));
    let mut c = rustls::ServerConfig::builder_with_provider(rustls_provider(setup))
        .with_protocol_versions(&[rustls_version(setup.suite)])
        .expect("version")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("test key");
    if setup.tickets {
        c.ticketer = provider::Ticketer::new().expect("ticketer");
        c.send_tls13_tickets = 2;
    } else {
        c.send_tls13_tickets = 0;
        c.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    }
    Arc::new(c)
}

/// rustls's client config for `setup`.
pub fn rustls_client_config(setup: Setup) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki().ca_der.clone()))
        .expect("test CA");
    let mut c = rustls::ClientConfig::builder_with_provider(rustls_provider(setup))
        .with_protocol_versions(&[rustls_version(setup.suite)])
        .expect("version")
        .with_root_certificates(roots)
        .with_no_client_auth();
    if !setup.tickets {
        c.resumption = rustls::client::Resumption::disabled();
    }
    Arc::new(c)
}

/// A new tls-core client (builds its ClientHello).
pub fn ours_client(config: &Arc<ClientConfig>) -> Connection {
    Connection::client(config.clone(), Some("localhost")).expect("client")
}

/// A new rustls client (builds its ClientHello).
pub fn rustls_client(config: &Arc<rustls::ClientConfig>) -> rustls::Connection {
    let name = ServerName::try_from("localhost").expect("name");
    rustls::ClientConnection::new(config.clone(), name)
        .expect("client")
        .into()
}

/// A new rustls server.
pub fn rustls_server(config: &Arc<rustls::ServerConfig>) -> rustls::Connection {
    rustls::ServerConnection::new(config.clone())
        .expect("server")
        .into()
}

/// The calls both stacks are driven with.
pub trait Peer {
    /// Appends what the connection wants to send to `out`.
    fn take_output(&mut self, out: &mut Vec<u8>);
    /// Processes received bytes (panics on a TLS error).
    fn feed_all(&mut self, data: &[u8]);
    /// Still handshaking.
    fn handshaking(&self) -> bool;
    /// Whether the handshake resumed a session.
    fn resumed(&self) -> bool;
    /// The key-exchange group negotiated (its code point), once known.
    fn group(&self) -> Option<u16>;
}

impl Peer for Connection {
    fn take_output(&mut self, out: &mut Vec<u8>) {
        let pending = self.pending_tls();
        let n = pending.len();
        out.extend_from_slice(pending);
        self.consume_tls(n);
    }
    fn feed_all(&mut self, data: &[u8]) {
        self.feed(data).expect("tls-core feed");
        while self.next_event().is_some() {}
    }
    fn handshaking(&self) -> bool {
        self.is_handshaking()
    }
    fn resumed(&self) -> bool {
        self.negotiated().is_some_and(|n| n.resumed)
    }
    fn group(&self) -> Option<u16> {
        self.negotiated().map(|n| n.group.to_wire())
    }
}

impl Peer for rustls::Connection {
    fn take_output(&mut self, out: &mut Vec<u8>) {
        while self.wants_write() {
            self.write_tls(out).expect("rustls write_tls");
        }
    }
    fn feed_all(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.read_tls(&mut data).expect("rustls read_tls");
            self.process_new_packets().expect("rustls process");
        }
    }
    fn handshaking(&self) -> bool {
        self.is_handshaking()
    }
    fn resumed(&self) -> bool {
        self.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }
    fn group(&self) -> Option<u16> {
        self.negotiated_key_exchange_group()
            .map(|g| u16::from(g.name()))
    }
}

/// Runs a handshake to completion (and delivers the tickets that follow it),
/// returning the time spent inside the calls of `timed`'s connection.
pub fn handshake(client: &mut dyn Peer, server: &mut dyn Peer, timed: Side) -> Duration {
    let mut spent = Duration::ZERO;
    let mut c2s = Vec::with_capacity(4096);
    let mut s2c = Vec::with_capacity(8192);
    for _ in 0..20 {
        c2s.clear();
        s2c.clear();
        let t = Instant::now();
        client.take_output(&mut c2s);
        if timed == Side::Client {
            spent += t.elapsed();
        }
        if !c2s.is_empty() {
            let t = Instant::now();
            server.feed_all(&c2s);
            if timed == Side::Server {
                spent += t.elapsed();
            }
        }
        let t = Instant::now();
        server.take_output(&mut s2c);
        if timed == Side::Server {
            spent += t.elapsed();
        }
        if !s2c.is_empty() {
            let t = Instant::now();
            client.feed_all(&s2c);
            if timed == Side::Client {
                spent += t.elapsed();
            }
        }
        if c2s.is_empty() && s2c.is_empty() {
            assert!(
                !client.handshaking() && !server.handshaking(),
                "handshake stalled"
            );
            return spent;
        }
    }
    panic!("handshake did not settle");
}

/// A connected tls-core pair (client, server).
pub fn ours_pair(setup: Setup) -> (Connection, Connection) {
    let mut c = ours_client(&ours_client_config(setup));
    let mut s = Connection::server(ours_server_config(setup));
    handshake(&mut c, &mut s, Side::Client);
    (c, s)
}

/// A connected rustls pair (client, server).
pub fn rustls_pair(setup: Setup) -> (rustls::Connection, rustls::Connection) {
    let mut c = rustls_client(&rustls_client_config(setup));
    let mut s = rustls_server(&rustls_server_config(setup));
    handshake(&mut c, &mut s, Side::Client);
    (c, s)
}

/// The bulk-transfer sender's step: one 16 KiB write, records taken out
/// (handed to a writer that does not copy, as a socket's writev would).
pub trait BulkSender {
    /// Writes `data` and takes out the records; returns their length.
    fn send(&mut self, data: &[u8]) -> usize;
    /// Writes `data` and appends the records to `out`.
    fn send_into(&mut self, data: &[u8], out: &mut Vec<u8>);
}

impl BulkSender for Connection {
    fn send(&mut self, data: &[u8]) -> usize {
        self.write(data).expect("write");
        let n = std::hint::black_box(self.pending_tls()).len();
        self.consume_tls(n);
        n
    }
    fn send_into(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.write(data).expect("write");
        self.take_output(out);
    }
}

impl BulkSender for rustls::Connection {
    fn send(&mut self, data: &[u8]) -> usize {
        self.writer().write_all(data).expect("write");
        let mut n = 0;
        while self.wants_write() {
            n += self.write_tls(&mut io::sink()).expect("write_tls");
        }
        n
    }
    fn send_into(&mut self, data: &[u8], out: &mut Vec<u8>) {
        self.writer().write_all(data).expect("write");
        self.take_output(out);
    }
}

/// The bulk-transfer receiver's step: one record in, its plaintext read out.
pub trait BulkReceiver {
    /// Processes `record` and reads the plaintext into `buf`; returns its length.
    fn receive(&mut self, record: &[u8], buf: &mut [u8]) -> usize;
}

impl BulkReceiver for Connection {
    fn receive(&mut self, record: &[u8], buf: &mut [u8]) -> usize {
        self.feed(record).expect("feed");
        let mut n = 0;
        loop {
            let k = self.read(&mut buf[n..]);
            if k == 0 {
                return n;
            }
            n += k;
        }
    }
}

impl BulkReceiver for rustls::Connection {
    fn receive(&mut self, mut record: &[u8], buf: &mut [u8]) -> usize {
        use std::io::Read;
        while !record.is_empty() {
            self.read_tls(&mut record).expect("read_tls");
            self.process_new_packets().expect("process");
        }
        let mut n = 0;
        loop {
            match self.reader().read(&mut buf[n..]) {
                Ok(0) => return n,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return n,
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

/// tls-core driven through its zero-copy calls, [`Connection::write_with`]
/// and [`Connection::feed_with`].
///
/// `send` seals `data.len()` bytes of whatever the engine's record buffer
/// already holds (the fill writes nothing new): like the ring ceiling, which
/// re-seals its own buffer, it measures the engine's cost around the AEAD,
/// not the production of fresh plaintext — in a tunnel that is the socket
/// read the fill would do. `send_into` writes `data` for real.
///
/// `receive` copies the record into the engine's receive buffer through
/// `feed_with` (the copy a socket read would do) and then takes the
/// plaintext with `peek_plaintext` + `consume_plaintext` where it was
/// decrypted, leaving `buf` untouched: a tunnel writes it to its socket from
/// there, a copy that is not counted here (the `read` of the other receivers
/// copies it into `buf`).
#[derive(Debug)]
pub struct InPlace(pub Connection);

impl BulkSender for InPlace {
    fn send(&mut self, data: &[u8]) -> usize {
        let sealed = self
            .0
            .write_with(data.len(), |buf| Ok::<_, Infallible>(buf.len()))
            .expect("write_with");
        debug_assert_eq!(sealed, Ok(data.len().min(RECORD)));
        let n = std::hint::black_box(self.0.pending_tls()).len();
        self.0.consume_tls(n);
        n
    }
    fn send_into(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut rest = data;
        while !rest.is_empty() {
            let written = self.0.write_with(rest.len(), copy_into(rest));
            let n = written.expect("write_with").unwrap_or_else(|e| match e {});
            rest = &rest[n..];
        }
        self.0.take_output(out);
    }
}

impl BulkReceiver for InPlace {
    fn receive(&mut self, record: &[u8], _buf: &mut [u8]) -> usize {
        let mut rest = record;
        while !rest.is_empty() {
            let fed = self.0.feed_with(rest.len(), copy_into(rest));
            let n = fed.expect("feed_with").unwrap_or_else(|e| match e {});
            rest = &rest[n..];
        }
        let n = std::hint::black_box(self.0.peek_plaintext()).len();
        self.0.consume_plaintext(n);
        n
    }
}

/// A fill for `write_with`/`feed_with` that copies as much of `data` as fits.
fn copy_into(data: &[u8]) -> impl FnOnce(&mut [u8]) -> Result<usize, Infallible> + '_ {
    move |buf| {
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

/// `count` records of `RECORD` plaintext bytes each, sealed by `sender`.
pub fn sealed_records(sender: &mut dyn BulkSender, data: &[u8], count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let mut out = Vec::with_capacity(RECORD + 64);
            sender.send_into(data, &mut out);
            out
        })
        .collect()
}

/// Raw ring: seal `buf` in place under `key` with a counter nonce.
pub fn ring_seal(key: &ring::aead::LessSafeKey, seq: u64, buf: &mut [u8]) -> ring::aead::Tag {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&seq.to_be_bytes());
    key.seal_in_place_separate_tag(
        ring::aead::Nonce::assume_unique_for_key(nonce),
        ring::aead::Aad::from([23u8, 3, 3, 0x40, 0x11]),
        buf,
    )
    .expect("seal")
}

/// A ring key for `alg` (fixed bytes: it is a benchmark).
pub fn ring_key(alg: &'static ring::aead::Algorithm) -> ring::aead::LessSafeKey {
    let bytes = [0x42u8; 32];
    let unbound = ring::aead::UnboundKey::new(alg, &bytes[..alg.key_len()]).expect("key");
    ring::aead::LessSafeKey::new(unbound)
}
