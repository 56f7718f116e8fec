//! The differential "interop" harness: the same bytes fed to our engine and
//! to rustls 0.23 (ring provider), in process, both configured alike
//! (TLS 1.3 only, the same three suites, X25519/P-256/P-384, ALPN h2 and
//! http/1.1, the same Ed25519 certificate).
//!
//! - [`Side::Server`]: the input is a client's first flight (normally a
//!   ClientHello record). "Accepts" means the server sends a ServerHello or a
//!   HelloRetryRequest; "rejects" means an error (and alert).
//! - [`Side::Client`]: the input is a server's first flight fed to a client
//!   that has sent its ClientHello. The ServerHello's legacy_session_id_echo
//!   is rewritten to whatever each client sent (see [`patch_session_id`]), so
//!   one input can be valid for both. "Accepts" means no error after the
//!   input (e.g. a HelloRetryRequest answered, or a ServerHello whose
//!   key_share gave a shared secret); "rejects" means an error.
//!
//! Only accept-versus-reject is compared: which alert is sent, or HRR versus
//! ServerHello, are not disagreements. An input that leaves one side waiting
//! for more bytes ("pending") is a disagreement only against "accepts".

use std::io::Read;
use std::sync::{Arc, OnceLock};

use tls_core::{
    CipherSuite, ClientConfig, Connection, NamedGroup, PinnedCertVerifier, ProtocolVersion,
    ServerConfig, SingleCert,
};

use super::{certified_key, server_identity, FixedClock, FixedEntropy};

/// Which of our engines the input is fed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The input plays the client; the engines are servers.
    Server,
    /// The input plays the server; the engines are clients.
    Client,
}

impl Side {
    /// The name used in class strings and in DISAGREEMENTS.md.
    pub fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// What one engine did with the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Server: sent a ServerHello. Client: no error, the handshake goes on.
    Accept,
    /// Server: sent a HelloRetryRequest.
    Retry,
    /// No error and nothing decided: waiting for more bytes.
    Pending,
    /// An error; the text is the error's Debug form.
    Reject(String),
}

impl Outcome {
    fn accepts(&self) -> bool {
        matches!(self, Outcome::Accept | Outcome::Retry)
    }

    /// A short label: `accept`, `retry`, `pending` or the error.
    pub fn label(&self) -> String {
        match self {
            Outcome::Accept => "accept".into(),
            Outcome::Retry => "retry".into(),
            Outcome::Pending => "pending".into(),
            Outcome::Reject(e) => e.clone(),
        }
    }
}

/// One accept/reject disagreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// Which engines were compared.
    pub side: Side,
    /// What we did.
    pub ours: Outcome,
    /// What rustls did.
    pub rustls: Outcome,
}

impl Disagreement {
    /// The class string that triage patterns match: `side | ours | rustls`.
    pub fn class(&self) -> String {
        format!(
            "{} | ours: {} | rustls: {}",
            self.side.name(),
            self.ours.label(),
            self.rustls.label()
        )
    }
}

const SUITES: [CipherSuite; 3] = tls_core::config::DEFAULT_CIPHER_SUITES;
const GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

fn alpn() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

fn our_server_config() -> Arc<ServerConfig> {
    static C: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let mut c = ServerConfig::new(
            Arc::new(SingleCert(certified_key())),
            Arc::new(FixedEntropy(super::SERVER_SEED)),
            Arc::new(FixedClock),
        );
        c.versions = vec![ProtocolVersion::Tls13];
        c.cipher_suites = SUITES.to_vec();
        c.groups = GROUPS.to_vec();
        c.alpn_protocols = alpn();
        c.session_tickets = 0;
        Arc::new(c)
    })
    .clone()
}

fn our_client_config() -> Arc<ClientConfig> {
    static C: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let mut c = ClientConfig::new(
            Arc::new(PinnedCertVerifier::new(vec![server_identity().0.clone()])),
            Arc::new(FixedEntropy(super::CLIENT_SEED)),
            Arc::new(FixedClock),
        );
        c.versions = vec![ProtocolVersion::Tls13];
        c.cipher_suites = SUITES.to_vec();
        c.groups = GROUPS.to_vec();
        c.alpn_protocols = alpn();
        Arc::new(c)
    })
    .clone()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    // The same order as ours: X25519, P-256, P-384.
    use rustls::crypto::ring::kx_group;
    p.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    use rustls::crypto::ring::cipher_suite as cs;
    p.cipher_suites = vec![
        cs::TLS13_AES_128_GCM_SHA256,
        cs::TLS13_AES_256_GCM_SHA384,
        cs::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(p)
}

fn rustls_server_config() -> Arc<rustls::ServerConfig> {
    static C: OnceLock<Arc<rustls::ServerConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let (cert, key) = server_identity();
        let mut c = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.clone().into()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.clone().into()),
            )
            .expect("rustls loads the key");
        c.alpn_protocols = alpn();
        c.send_tls13_tickets = 0;
        Arc::new(c)
    })
    .clone()
}

/// Accepts any server certificate: the client side never gets that far (the
/// server's flight after the ServerHello is encrypted under keys the input
/// cannot know), but rustls wants a verifier.
#[derive(Debug)]
struct AnyCert;

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn rustls_client_config() -> Arc<rustls::ClientConfig> {
    static C: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let mut c = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .expect("TLS 1.3")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert))
            .with_no_client_auth();
        c.alpn_protocols = alpn();
        c.resumption = rustls::client::Resumption::disabled();
        c.enable_sni = true;
        Arc::new(c)
    })
    .clone()
}

/// The first handshake message type in the first record of `out`, and the
/// ServerHello random if that message is a ServerHello.
fn first_server_message(out: &[u8]) -> Option<(u8, Option<&[u8]>)> {
    if out.first() != Some(&22) {
        return None;
    }
    let typ = *out.get(5)?;
    Some((typ, out.get(11..43)))
}

fn server_outcome(out: &[u8]) -> Outcome {
    match first_server_message(out) {
        Some((2, Some(random))) if random == tls_core::internal::msgs::handshake::HRR_RANDOM => {
            Outcome::Retry
        }
        Some((2, _)) => Outcome::Accept,
        _ => Outcome::Pending,
    }
}

/// Our server fed `input` in one piece.
pub fn ours_server(input: &[u8]) -> Outcome {
    let mut conn = Connection::server(our_server_config());
    match conn.feed(input) {
        Err(e) => Outcome::Reject(format!("{e:?}")),
        Ok(()) => server_outcome(conn.pending_tls()),
    }
}

/// Feeds `input` to a rustls connection; the error, if any.
fn rustls_feed(conn: &mut rustls::Connection, mut input: &[u8]) -> Result<(), String> {
    while !input.is_empty() {
        match conn.read_tls(&mut input) {
            Ok(0) => break,
            Ok(_) => {
                if let Err(e) = conn.process_new_packets() {
                    return Err(format!("{e:?}"));
                }
            }
            Err(e) => return Err(format!("io: {e}")),
        }
    }
    Ok(())
}

fn rustls_output(conn: &mut rustls::Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.wants_write() {
        if conn.write_tls(&mut out).is_err() {
            break;
        }
    }
    out
}

/// rustls's server fed `input`.
pub fn rustls_server(input: &[u8]) -> Outcome {
    let mut conn: rustls::Connection = rustls::ServerConnection::new(rustls_server_config())
        .expect("server")
        .into();
    if let Err(e) = rustls_feed(&mut conn, input) {
        return Outcome::Reject(e);
    }
    server_outcome(&rustls_output(&mut conn))
}

/// Rewrites the legacy_session_id_echo of a ServerHello (or HRR) that
/// opens `input` (one handshake record whose first message is a
/// server_hello) to `sid`, fixing the record and message lengths. Other
/// inputs are returned unchanged.
pub fn patch_session_id(input: &[u8], sid: &[u8]) -> Vec<u8> {
    let unchanged = || input.to_vec();
    if input.len() < 44 || input[0] != 22 || input[5] != 2 {
        return unchanged();
    }
    let old = usize::from(input[43]);
    let Some(after) = input.get(44 + old..) else {
        return unchanged();
    };
    let rec_len = usize::from(u16::from_be_bytes([input[3], input[4]]));
    let msg_len = u32::from_be_bytes([0, input[6], input[7], input[8]]) as usize;
    let (Some(rec_len), Some(msg_len)) = (
        (rec_len + sid.len()).checked_sub(old),
        (msg_len + sid.len()).checked_sub(old),
    ) else {
        return unchanged();
    };
    if rec_len > 0xffff || sid.len() > 255 {
        return unchanged();
    }
    let mut out = Vec::with_capacity(input.len() + sid.len());
    out.extend_from_slice(&input[..3]);
    out.extend_from_slice(&(rec_len as u16).to_be_bytes());
    out.push(2);
    out.extend_from_slice(&(msg_len as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&input[9..43]);
    out.push(sid.len() as u8);
    out.extend_from_slice(sid);
    out.extend_from_slice(after);
    out
}

/// The legacy_session_id of the ClientHello that opens `hello` (a record).
fn client_session_id(hello: &[u8]) -> Vec<u8> {
    // record header 5, handshake header 4, version 2, random 32.
    let Some(&n) = hello.get(43) else {
        return Vec::new();
    };
    hello
        .get(44..44 + usize::from(n))
        .unwrap_or_default()
        .to_vec()
}

/// Our client, having sent its ClientHello, fed `input` as the server.
pub fn ours_client(input: &[u8]) -> Outcome {
    let mut conn = Connection::client(our_client_config(), Some("localhost")).expect("client");
    let hello = conn.pending_tls().to_vec();
    conn.consume_tls(hello.len());
    let input = patch_session_id(input, &client_session_id(&hello));
    match conn.feed(&input) {
        Err(e) => Outcome::Reject(format!("{e:?}")),
        Ok(()) if input.is_empty() => Outcome::Pending,
        Ok(()) => Outcome::Accept,
    }
}

/// rustls's client, having sent its ClientHello, fed `input` as the server.
pub fn rustls_client(input: &[u8]) -> Outcome {
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn: rustls::Connection = rustls::ClientConnection::new(rustls_client_config(), name)
        .expect("client")
        .into();
    let hello = rustls_output(&mut conn);
    let input = patch_session_id(input, &client_session_id(&hello));
    match rustls_feed(&mut conn, &input) {
        Err(e) => Outcome::Reject(e),
        Ok(()) if input.is_empty() => Outcome::Pending,
        Ok(()) => Outcome::Accept,
    }
}

/// Feeds `input` to both engines of `side`; a disagreement if one accepts
/// and the other rejects (or waits).
pub fn compare(side: Side, input: &[u8]) -> Option<Disagreement> {
    let (ours, rustls) = match side {
        Side::Server => (ours_server(input), rustls_server(input)),
        Side::Client => (ours_client(input), rustls_client(input)),
    };
    let disagree = (ours.accepts() && !rustls.accepts()) || (rustls.accepts() && !ours.accepts());
    disagree.then_some(Disagreement { side, ours, rustls })
}

/// The fuzz input's first byte picks the side (low bit: 0 server, 1 client).
pub fn split_input(data: &[u8]) -> Option<(Side, &[u8])> {
    let (&mode, rest) = data.split_first()?;
    let side = if mode & 1 == 0 {
        Side::Server
    } else {
        Side::Client
    };
    Some((side, rest))
}

/// Shrinks `input` while `keep` holds for it: removes chunks (halving the
/// chunk size down to one byte), then simplifies bytes to 0. A small
/// ddmin-style reducer; every candidate keeps the class the same.
pub fn minimize(input: &[u8], keep: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut chunk = best.len().max(1).next_power_of_two();
    while chunk >= 1 {
        let mut i = 0;
        let mut progress = false;
        while i < best.len() {
            let end = (i + chunk).min(best.len());
            let mut cand = best[..i].to_vec();
            cand.extend_from_slice(&best[end..]);
            if keep(&cand) {
                best = cand;
                progress = true;
            } else {
                i += chunk;
            }
        }
        if !progress {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    for i in 0..best.len() {
        if best[i] != 0 {
            let mut cand = best.clone();
            cand[i] = 0;
            if keep(&cand) {
                best = cand;
            }
        }
    }
    best
}

/// Reads a whole file (a helper for the replay tools).
pub fn read_all(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut v)?;
    Ok(v)
}
