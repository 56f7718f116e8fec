//! Immutable, shareable configuration for clients and servers.
//!
//! A config holds everything a connection takes from outside: the random
//! source, the clock, the certificate (server) or the verifier (client), and
//! the algorithm preferences. Share one in an `Arc` between connections.
//!
//! Build one with [`ClientConfig::builder`] or [`ServerConfig::builder`],
//! whose `build()` refuses a configuration that cannot work (no verifier or
//! certificate, a key that is not the certificate's, an empty suite list, a
//! version without a suite for it, an empty ALPN name) with the reason; or
//! start from a constructor such as [`ClientConfig::with_roots`] and set the
//! public fields, unchecked until the handshake.

mod builder;
mod server_name;

pub use builder::{ClientConfigBuilder, ServerConfigBuilder};
pub use server_name::ServerName;

use alloc::sync::Arc;
use alloc::vec::Vec;

use entropy::EntropySource;

use crate::crypto::SigningKey;
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion, SignatureScheme};
use crate::tickets::{ClientSessionStore, TicketEncrypter};
use crate::tls12::session::SessionIdCache;
use crate::verify::{ClientCertVerifier, ServerCertVerifier};

/// Seconds since the Unix epoch, as given by a [`Clock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime(pub u64);

/// Where a connection learns the time (certificate validity, ticket ages).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The host's wall clock.
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(since_epoch)
    }
}

/// The TLS 1.3 cipher suites, in our default preference order.
pub const DEFAULT_CIPHER_SUITES: [CipherSuite; 3] = [
    CipherSuite::Tls13Aes128GcmSha256,
    CipherSuite::Tls13Aes256GcmSha384,
    CipherSuite::Tls13Chacha20Poly1305Sha256,
];

/// The TLS 1.2 cipher suites (ECDHE with an AEAD only), in our default
/// preference order. A config's `cipher_suites` holds the suites of both
/// versions in one list; each version uses the ones defined for it.
pub const DEFAULT_TLS12_CIPHER_SUITES: [CipherSuite; 6] = [
    CipherSuite::EcdheEcdsaAes128GcmSha256,
    CipherSuite::EcdheRsaAes128GcmSha256,
    CipherSuite::EcdheEcdsaAes256GcmSha384,
    CipherSuite::EcdheRsaAes256GcmSha384,
    CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    CipherSuite::EcdheRsaChacha20Poly1305Sha256,
];

/// The protocol versions enabled by default, most preferred first.
pub const DEFAULT_VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::Tls13, ProtocolVersion::Tls12];

/// The suites of both versions, TLS 1.3 first: the default `cipher_suites`.
pub fn default_cipher_suites() -> Vec<CipherSuite> {
    let mut suites = DEFAULT_CIPHER_SUITES.to_vec();
    suites.extend_from_slice(&DEFAULT_TLS12_CIPHER_SUITES);
    suites
}

/// The key-exchange groups, in our default preference order: the
/// post-quantum hybrid X25519MLKEM768 first (TLS 1.3 only; TLS 1.2 skips
/// it), then the classical groups, as Chrome and OpenSSL 3.5 order them.
pub const DEFAULT_GROUPS: [NamedGroup; 4] = [
    NamedGroup::X25519MlKem768,
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

/// TLS 1.2 sessions kept by the default session-ID cache.
pub const DEFAULT_SESSION_CACHE: usize = 256;

/// How long the tickets of the default ticketer last, in seconds.
pub const DEFAULT_TICKET_LIFETIME: u32 = 2 * 3600;

/// Client configuration.
///
/// Start from a constructor that says how the server is authenticated, then
/// set the public fields:
///
/// ```
/// use tls_core::{ClientConfig, ProtocolVersion};
///
/// let pinned = vec![b"the server's certificate, DER".to_vec()];
/// let mut config = ClientConfig::with_pinned_certs(pinned);
/// config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
/// config.versions = vec![ProtocolVersion::Tls13];
/// ```
pub struct ClientConfig {
    /// Protocol versions to offer (TLS 1.3 and/or TLS 1.2; others are ignored).
    /// A version is offered only if `cipher_suites` holds a suite for it.
    pub versions: Vec<ProtocolVersion>,
    /// Accept a TLS 1.2 server without the extended master secret (RFC 7627).
    /// Off by default: such a server is refused with handshake_failure.
    pub allow_no_ems: bool,
    /// Cipher suites to offer, most preferred first, TLS 1.3 and TLS 1.2 alike.
    pub cipher_suites: Vec<CipherSuite>,
    /// Groups to offer, most preferred first. A TLS 1.3 key share is sent
    /// for the first; when that is a post-quantum hybrid, also for the first
    /// classical group if `classical_share_with_hybrid` is set. The hybrids
    /// are left out of a TLS 1.2-only hello.
    pub groups: Vec<NamedGroup>,
    /// When the first of `groups` is a post-quantum hybrid, send a second
    /// key share, for the first classical group in `groups`, so that a
    /// server without the hybrid needs no HelloRetryRequest (what Chrome and
    /// OpenSSL 3.5 send: X25519MLKEM768 and X25519). On by default; off, the
    /// hybrid's share goes alone and such a server asks for another.
    pub classical_share_with_hybrid: bool,
    /// ALPN protocol names to offer; empty means no ALPN extension.
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Decides whether the server's certificate is acceptable.
    pub verifier: Arc<dyn ServerCertVerifier>,
    /// Ask the server for a stapled OCSP response (status_request, RFC
    /// 6066 §8). One it sends goes to the verifier's
    /// [`ServerCertVerifier::verify_stapled_ocsp`] and into
    /// [`crate::Negotiated::ocsp_response`]. Off by default.
    pub request_ocsp: bool,
    /// Keeps session tickets for resumption; `None` turns resumption off.
    pub session_store: Option<Arc<dyn ClientSessionStore>>,
    /// Our certificate, sent when the server asks for one (mutual TLS).
    pub client_cert: Option<Arc<CertifiedKey>>,
    /// An external PSK to offer (TLS 1.3, psk_dhe_ke). When the server
    /// accepts it, the handshake is authenticated by the key and carries no
    /// certificate; when it does not, the server's certificate is verified
    /// as usual.
    pub external_psk: Option<crate::psk::ExternalPsk>,
    /// Randomness for hello randoms and session ids.
    pub rng: Arc<dyn EntropySource>,
    /// The time, for certificate validity.
    pub clock: Arc<dyn Clock>,
    /// Receives the session secrets (NSS key log format, see
    /// [`crate::keylog`]); `None`, the default, logs nothing.
    pub key_log: Option<Arc<dyn crate::keylog::KeyLog>>,
}

impl ClientConfig {
    /// A configuration with the default suites and groups.
    pub fn new(
        verifier: Arc<dyn ServerCertVerifier>,
        rng: Arc<dyn EntropySource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ClientConfig {
            versions: DEFAULT_VERSIONS.to_vec(),
            allow_no_ems: false,
            cipher_suites: default_cipher_suites(),
            groups: DEFAULT_GROUPS.to_vec(),
            classical_share_with_hybrid: true,
            alpn_protocols: Vec::new(),
            verifier,
            request_ocsp: false,
            client_cert: None,
            external_psk: None,
            session_store: None,
            rng,
            clock,
            key_log: None,
        }
    }

    /// A configuration that accepts exactly these end-entity certificates (DER),
    /// with the host's randomness and clock.
    #[cfg(feature = "std")]
    pub fn with_pinned_certs(pins: Vec<Vec<u8>>) -> Self {
        Self::with_verifier(Arc::new(crate::verify::PinnedCertVerifier::new(pins)))
    }

    /// A configuration that validates the server's chain against `anchors`
    /// and its name (X.509 path validation), with the host's randomness and clock.
    #[cfg(feature = "std")]
    pub fn with_roots(anchors: crate::x509::TrustAnchors) -> Self {
        Self::with_verifier(Arc::new(crate::x509::WebPkiVerifier::new(Arc::new(
            anchors,
        ))))
    }

    /// [`ClientConfig::with_roots`] with the system's CA bundle
    /// (`/etc/ssl/certs/ca-certificates.crt` and the like).
    #[cfg(feature = "std")]
    pub fn with_system_roots() -> Result<Self, crate::x509::CertError> {
        Ok(Self::with_roots(crate::x509::TrustAnchors::from_system()?))
    }

    /// `verifier` with the host's randomness and clock and an in-memory
    /// session store.
    #[cfg(feature = "std")]
    fn with_verifier(verifier: Arc<dyn ServerCertVerifier>) -> Self {
        let mut config = Self::new(
            verifier,
            Arc::new(entropy::HostEntropy),
            Arc::new(SystemClock),
        );
        config.session_store = Some(Arc::new(crate::tickets::MemorySessionStore::new(256)));
        config
    }
}

/// A certificate chain (end-entity first, DER) and its private key.
///
/// Built only through [`CertifiedKey::new`] (or the PEM loaders that call
/// it), which refuses a key that does not belong to the end-entity
/// certificate: a mismatched pair would fail every handshake.
pub struct CertifiedKey {
    chain: Vec<Vec<u8>>,
    key: SigningKey,
}

impl CertifiedKey {
    /// Pairs a chain (end-entity certificate first) with the end-entity
    /// certificate's private key. An empty chain is an error, and so is a key
    /// whose public key is not the one in the end-entity certificate's
    /// SubjectPublicKeyInfo ([`Error::KeyMismatch`]).
    pub fn new(chain: Vec<Vec<u8>>, key: SigningKey) -> Result<Self, Error> {
        let end_entity = chain
            .first()
            .ok_or(Error::InvalidConfig("empty certificate chain"))?;
        key.check_matches_certificate(end_entity)?;
        Ok(CertifiedKey { chain, key })
    }

    /// Loads a PEM certificate chain and a PEM private key (PKCS#8, SEC1 or
    /// PKCS#1), checked as [`CertifiedKey::new`] does.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = crate::keys::certs_from_pem(chain_pem)?;
        let key = crate::keys::key_from_pem(key_pem)?;
        Self::new(chain, key)
    }

    /// Loads a PEM certificate chain file and a PEM private key file, checked
    /// as [`CertifiedKey::new`] does.
    #[cfg(feature = "std")]
    pub fn from_pem_files(
        chain_path: impl AsRef<std::path::Path>,
        key_path: impl AsRef<std::path::Path>,
    ) -> Result<Self, Error> {
        let chain = crate::keys::certs_from_pem_file(chain_path)?;
        let key = crate::keys::key_from_pem_file(key_path)?;
        Self::new(chain, key)
    }

    /// The chain as sent to the peer, end-entity certificate first.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The private key of the end-entity certificate.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

/// What the server knows about a client when it picks a certificate.
#[derive(Debug)]
#[non_exhaustive]
pub struct ClientHelloInfo<'a> {
    /// The SNI host name the client asked for, if any.
    pub server_name: Option<&'a str>,
    /// The signature schemes the client accepts.
    pub signature_schemes: &'a [SignatureScheme],
    /// The ALPN protocols the client offered.
    pub alpn: &'a [Vec<u8>],
    /// The version this handshake negotiated (chosen before the certificate).
    pub version: ProtocolVersion,
    /// The client's supported_groups, in its order (empty when absent).
    pub groups: &'a [NamedGroup],
    /// The client's cipher suites, in its order.
    pub cipher_suites: &'a [CipherSuite],
}

impl ClientHelloInfo<'_> {
    /// Whether `key` can authenticate this handshake: it signs with a scheme
    /// the client accepts in the negotiated version, and in TLS 1.2 an ECDSA
    /// key is on a curve the client offered in supported_groups (RFC 8422
    /// §5.3; TLS 1.3 names the curve in the scheme instead). A resolver
    /// choosing among several certificates presents one for which this holds.
    pub fn accepts_key(&self, key: &SigningKey) -> bool {
        match self.version {
            ProtocolVersion::Tls12 => {
                key.choose_tls12_scheme(self.signature_schemes).is_some()
                    && crate::tls12::suites::ecdsa_curve(key.alg())
                        .is_none_or(|curve| self.groups.contains(&curve))
            }
            _ => key.choose_tls13_scheme(self.signature_schemes).is_some(),
        }
    }
}

/// Picks the certificate a server presents, typically by SNI name.
pub trait ResolvesServerCert: Send + Sync {
    /// The certificate for this client, or `None` to refuse the handshake.
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>>;
}

/// A resolver that always presents the same certificate.
pub struct SingleCert(pub Arc<CertifiedKey>);

impl ResolvesServerCert for SingleCert {
    fn resolve(&self, _hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Server configuration.
///
/// ```
/// use tls_core::{CertifiedKey, ServerConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let key = rcgen::KeyPair::generate()?;
/// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()])?.self_signed(&key)?;
/// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
/// // The chain (leaf first) and its private key, as PEM.
/// let identity = CertifiedKey::from_pem(chain_pem.as_bytes(), key_pem.as_bytes())?;
/// let mut config = ServerConfig::with_single_cert(identity);
/// config.alpn_protocols = vec![b"h2".to_vec()];
/// # Ok(())
/// # }
/// ```
pub struct ServerConfig {
    /// Protocol versions we accept (TLS 1.3 and/or TLS 1.2); the highest the
    /// client offers wins. A version is enabled only if `cipher_suites` holds
    /// a suite for it.
    pub versions: Vec<ProtocolVersion>,
    /// Accept a TLS 1.2 client without the extended master secret (RFC 7627).
    /// Off by default: such a client is refused with handshake_failure.
    pub allow_no_ems: bool,
    /// Cipher suites we accept, most preferred first (server preference wins),
    /// TLS 1.3 and TLS 1.2 alike.
    pub cipher_suites: Vec<CipherSuite>,
    /// Groups we accept, most preferred first. A client key share for the most
    /// preferred group it sent a share for is used; with none, a HelloRetryRequest
    /// asks for our most preferred group among those the client supports.
    /// So a client that sent a classical share but none for a post-quantum
    /// hybrid we prefer gets the classical group, not a HelloRetryRequest
    /// for the hybrid: the extra round trip would be paid on every
    /// connection from such a client. (OpenSSL 3.5's and rustls's servers
    /// do ask for the hybrid then.) The hybrids are used in TLS 1.3 only.
    pub groups: Vec<NamedGroup>,
    /// ALPN protocols we speak, most preferred first; empty means ALPN is ignored.
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Picks the certificate to present.
    pub cert_resolver: Arc<dyn ResolvesServerCert>,
    /// When set, clients are asked for a certificate and this decides on it.
    pub client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    /// External PSKs a TLS 1.3 client may authenticate with, found by
    /// identity (psk_dhe_ke only). A handshake on one of them sends no
    /// certificate and asks for none; a client offering none of them gets
    /// the certificate handshake.
    pub external_psks: Vec<crate::psk::ExternalPsk>,
    /// Seals session tickets (TLS 1.3, and RFC 5077 tickets in TLS 1.2);
    /// `None` turns ticket resumption off.
    pub ticketer: Option<Arc<dyn TicketEncrypter>>,
    /// Keeps TLS 1.2 sessions for resumption by session ID; `None` turns it off.
    pub session_cache: Option<Arc<dyn SessionIdCache>>,
    /// How long, in seconds, a TLS 1.2 session may be resumed; `None` means
    /// the ticketer's lifetime, or two hours without a ticketer.
    pub session_lifetime: Option<u32>,
    /// How many tickets to send after each full handshake.
    pub session_tickets: u8,
    /// Randomness for server randoms and cookies.
    pub rng: Arc<dyn EntropySource>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Stapled OCSP responses for clients that ask (status_request); none
    /// by default.
    pub ocsp_stapler: Option<Arc<dyn crate::stapling::OcspStapler>>,
    /// Receives the session secrets (NSS key log format, see
    /// [`crate::keylog`]); `None`, the default, logs nothing.
    pub key_log: Option<Arc<dyn crate::keylog::KeyLog>>,
}

impl ServerConfig {
    /// The external PSK with this identity, if configured.
    pub(crate) fn external_psk(&self, identity: &[u8]) -> Option<&crate::psk::ExternalPsk> {
        self.external_psks
            .iter()
            .find(|psk| psk.identity() == identity)
    }

    /// A configuration with the default suites and groups.
    pub fn new(
        cert_resolver: Arc<dyn ResolvesServerCert>,
        rng: Arc<dyn EntropySource>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        ServerConfig {
            versions: DEFAULT_VERSIONS.to_vec(),
            allow_no_ems: false,
            cipher_suites: default_cipher_suites(),
            groups: DEFAULT_GROUPS.to_vec(),
            alpn_protocols: Vec::new(),
            cert_resolver,
            client_verifier: None,
            external_psks: Vec::new(),
            ticketer: None,
            session_cache: None,
            session_lifetime: None,
            session_tickets: 2,
            rng,
            clock,
            ocsp_stapler: None,
            key_log: None,
        }
    }

    /// A configuration presenting one certificate, with the host's randomness and clock.
    #[cfg(feature = "std")]
    pub fn with_single_cert(key: CertifiedKey) -> Self {
        let mut config = Self::new(
            Arc::new(SingleCert(Arc::new(key))),
            Arc::new(entropy::HostEntropy),
            Arc::new(SystemClock),
        );
        let ticketer = crate::tickets::RotatingTicketer::new(
            config.rng.clone(),
            DEFAULT_TICKET_LIFETIME,
            config.clock.now(),
        );
        config.ticketer = ticketer
            .ok()
            .map(|t| Arc::new(t) as Arc<dyn TicketEncrypter>);
        config.session_cache = Some(Arc::new(crate::tls12::session::MemorySessionCache::new(
            DEFAULT_SESSION_CACHE,
        )));
        config
    }
}
