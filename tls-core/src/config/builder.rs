//! Checked construction of [`ClientConfig`] and [`ServerConfig`]: each
//! builder collects the pieces and `build()` refuses a configuration that
//! could not complete a handshake, with the reason, instead of the handshake
//! failing later.

use alloc::sync::Arc;
use alloc::vec::Vec;

use entropy::EntropySource;

use super::{
    default_cipher_suites, CertifiedKey, ClientConfig, Clock, ResolvesServerCert, ServerConfig,
    SingleCert, DEFAULT_GROUPS, DEFAULT_VERSIONS,
};
use crate::crypto::{hybrid_group, supported_tls13_group, tls13_suite, SigningKey};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use crate::tickets::ClientSessionStore;
use crate::tls12::suites::tls12_suite;
use crate::verify::{ClientCertVerifier, ServerCertVerifier};

/// The algorithm choices both builders share, checked together.
struct Algorithms {
    versions: Vec<ProtocolVersion>,
    cipher_suites: Vec<CipherSuite>,
    groups: Vec<NamedGroup>,
    alpn: Vec<Vec<u8>>,
}

impl Default for Algorithms {
    fn default() -> Self {
        Algorithms {
            versions: DEFAULT_VERSIONS.to_vec(),
            cipher_suites: default_cipher_suites(),
            groups: DEFAULT_GROUPS.to_vec(),
            alpn: Vec::new(),
        }
    }
}

impl Algorithms {
    /// Every version listed can be spoken, every suite and group is one the
    /// engine implements, and the ALPN names are well-formed.
    fn check(&self) -> Result<(), Error> {
        if self.versions.is_empty() {
            return Err(Error::InvalidConfig("no protocol version enabled"));
        }
        if self
            .versions
            .iter()
            .any(|v| !matches!(v, ProtocolVersion::Tls13 | ProtocolVersion::Tls12))
        {
            return Err(Error::InvalidConfig(
                "only TLS 1.3 and TLS 1.2 can be enabled",
            ));
        }
        if self.cipher_suites.is_empty() {
            return Err(Error::InvalidConfig("empty cipher suite list"));
        }
        if self
            .cipher_suites
            .iter()
            .any(|s| tls13_suite(*s).is_none() && tls12_suite(*s).is_none())
        {
            return Err(Error::InvalidConfig(
                "a cipher suite the engine does not implement",
            ));
        }
        if self.versions.contains(&ProtocolVersion::Tls13)
            && !self.cipher_suites.iter().any(|s| tls13_suite(*s).is_some())
        {
            return Err(Error::InvalidConfig(
                "TLS 1.3 enabled without a TLS 1.3 cipher suite",
            ));
        }
        if self.versions.contains(&ProtocolVersion::Tls12)
            && !self.cipher_suites.iter().any(|s| tls12_suite(*s).is_some())
        {
            return Err(Error::InvalidConfig(
                "TLS 1.2 enabled without a TLS 1.2 cipher suite",
            ));
        }
        if self.groups.is_empty() {
            return Err(Error::InvalidConfig("empty group list"));
        }
        if self.groups.iter().any(|g| !supported_tls13_group(*g)) {
            return Err(Error::InvalidConfig(
                "a key-exchange group the engine does not implement",
            ));
        }
        if self.versions.contains(&ProtocolVersion::Tls12)
            && self.groups.iter().all(|g| hybrid_group(*g))
        {
            return Err(Error::InvalidConfig(
                "TLS 1.2 enabled with only post-quantum hybrid groups, which it cannot use",
            ));
        }
        if self.alpn.iter().any(|p| p.is_empty()) {
            return Err(Error::InvalidConfig("empty ALPN protocol name"));
        }
        if self.alpn.iter().any(|p| p.len() > 255) {
            return Err(Error::InvalidConfig(
                "ALPN protocol name longer than 255 bytes",
            ));
        }
        Ok(())
    }
}

/// A configuration's randomness and clock.
type Sources = (Arc<dyn EntropySource>, Arc<dyn Clock>);

/// The host's randomness and clock where there is a host (feature `std`);
/// without it the caller must supply both.
fn host_sources(
    rng: Option<Arc<dyn EntropySource>>,
    clock: Option<Arc<dyn Clock>>,
) -> Result<Sources, Error> {
    #[cfg(feature = "std")]
    let (rng, clock) = (
        rng.or_else(|| Some(Arc::new(entropy::HostEntropy))),
        clock.or_else(|| Some(Arc::new(super::SystemClock))),
    );
    match (rng, clock) {
        (Some(rng), Some(clock)) => Ok((rng, clock)),
        (None, _) => Err(Error::InvalidConfig(
            "no entropy source: call entropy() (there is no host default without std)",
        )),
        (_, None) => Err(Error::InvalidConfig(
            "no clock: call clock() (there is no host default without std)",
        )),
    }
}

/// Builds a [`ClientConfig`], checked by [`ClientConfigBuilder::build`]:
/// start from [`ClientConfig::builder`].
///
/// ```
/// use tls_core::{ClientConfig, ProtocolVersion};
///
/// # fn main() -> Result<(), tls_core::Error> {
/// let config = ClientConfig::builder()
///     .pinned_certs(vec![b"the server's certificate, DER".to_vec()])
///     .versions(&[ProtocolVersion::Tls13])
///     .alpn_protocols(&[b"h2", b"http/1.1"])
///     .build()?;
/// assert_eq!(config.alpn_protocols.len(), 2);
///
/// // TLS 1.2 without a TLS 1.2 suite could never be offered: refused here.
/// let err = ClientConfig::builder()
///     .pinned_certs(vec![])
///     .versions(&[ProtocolVersion::Tls12])
///     .cipher_suites(&tls_core::config::DEFAULT_CIPHER_SUITES)
///     .build()
///     .err();
/// assert!(err.is_some());
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct ClientConfigBuilder {
    algorithms: Algorithms,
    verifier: Option<Arc<dyn ServerCertVerifier>>,
    client_cert: Option<Result<Arc<CertifiedKey>, Error>>,
    session_store: Option<Option<Arc<dyn ClientSessionStore>>>,
    rng: Option<Arc<dyn EntropySource>>,
    clock: Option<Arc<dyn Clock>>,
}

impl ClientConfig {
    /// A builder with the default versions, suites and groups, no ALPN, no
    /// client certificate and (with `std`) the host's randomness and clock
    /// and an in-memory session store. A verifier must be chosen.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder {
            algorithms: Algorithms::default(),
            verifier: None,
            client_cert: None,
            session_store: None,
            rng: None,
            clock: None,
        }
    }
}

impl ClientConfigBuilder {
    /// Decides on the server's certificate with `verifier`.
    pub fn verifier(mut self, verifier: Arc<dyn ServerCertVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Validates the server's chain against `anchors` and its name.
    #[cfg(feature = "std")]
    pub fn roots(self, anchors: crate::x509::TrustAnchors) -> Self {
        self.verifier(Arc::new(crate::x509::WebPkiVerifier::new(Arc::new(
            anchors,
        ))))
    }

    /// Accepts exactly these end-entity certificates (DER).
    pub fn pinned_certs(self, pins: Vec<Vec<u8>>) -> Self {
        self.verifier(Arc::new(crate::verify::PinnedCertVerifier::new(pins)))
    }

    /// The protocol versions to offer.
    pub fn versions(mut self, versions: &[ProtocolVersion]) -> Self {
        self.algorithms.versions = versions.to_vec();
        self
    }

    /// The cipher suites to offer, TLS 1.3 and 1.2 alike, most preferred first.
    pub fn cipher_suites(mut self, suites: &[CipherSuite]) -> Self {
        self.algorithms.cipher_suites = suites.to_vec();
        self
    }

    /// The key-exchange groups to offer, most preferred first.
    pub fn groups(mut self, groups: &[NamedGroup]) -> Self {
        self.algorithms.groups = groups.to_vec();
        self
    }

    /// The ALPN protocol names to offer, most preferred first.
    pub fn alpn_protocols(mut self, protocols: &[&[u8]]) -> Self {
        self.algorithms.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Presents this chain (end-entity first, DER) and its key when the
    /// server asks for a certificate. A key that is not the certificate's
    /// fails [`ClientConfigBuilder::build`] with [`Error::KeyMismatch`].
    pub fn client_cert(mut self, chain: Vec<Vec<u8>>, key: SigningKey) -> Self {
        self.client_cert = Some(CertifiedKey::new(chain, key).map(Arc::new));
        self
    }

    /// [`ClientConfigBuilder::client_cert`] from PEM: a chain and a private
    /// key (PKCS#8, SEC1 or PKCS#1).
    pub fn client_cert_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Self {
        self.client_cert = Some(CertifiedKey::from_pem(chain_pem, key_pem).map(Arc::new));
        self
    }

    /// Keeps tickets and sessions in `store` for resumption.
    pub fn session_store(mut self, store: Arc<dyn ClientSessionStore>) -> Self {
        self.session_store = Some(Some(store));
        self
    }

    /// Turns resumption off.
    pub fn no_resumption(mut self) -> Self {
        self.session_store = Some(None);
        self
    }

    /// Draws randomness from `rng` instead of the host's.
    pub fn entropy(mut self, rng: Arc<dyn EntropySource>) -> Self {
        self.rng = Some(rng);
        self
    }

    /// Reads the time from `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming what is wrong: no verifier chosen; no
    /// version, an empty suite or group list, a version enabled without a
    /// suite for it, a suite or group the engine does not implement, TLS 1.2
    /// with only hybrid groups; an empty or over-long ALPN name; no entropy
    /// source or clock without `std`. A client certificate's own error
    /// ([`Error::KeyMismatch`] for a key that is not the certificate's, or
    /// the PEM error).
    pub fn build(self) -> Result<ClientConfig, Error> {
        self.algorithms.check()?;
        let verifier = self.verifier.ok_or(Error::InvalidConfig(
            "no server certificate verifier: call roots, pinned_certs or verifier",
        ))?;
        let client_cert = self.client_cert.transpose()?;
        let (rng, clock) = host_sources(self.rng, self.clock)?;
        let mut config = ClientConfig::new(verifier, rng, clock);
        config.versions = self.algorithms.versions;
        config.cipher_suites = self.algorithms.cipher_suites;
        config.groups = self.algorithms.groups;
        config.alpn_protocols = self.algorithms.alpn;
        config.client_cert = client_cert;
        config.session_store = match self.session_store {
            Some(choice) => choice,
            #[cfg(feature = "std")]
            None => Some(Arc::new(crate::tickets::MemorySessionStore::new(256))),
            #[cfg(not(feature = "std"))]
            None => None,
        };
        Ok(config)
    }
}

/// Builds a [`ServerConfig`], checked by [`ServerConfigBuilder::build`]:
/// start from [`ServerConfig::builder`].
///
/// ```
/// use tls_core::{ServerConfig, ProtocolVersion};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let key = rcgen::KeyPair::generate()?;
/// # let cert = rcgen::CertificateParams::new(vec!["localhost".into()])?.self_signed(&key)?;
/// # let (chain_pem, key_pem) = (cert.pem(), key.serialize_pem());
/// let config = ServerConfig::builder()
///     .cert_pem(chain_pem.as_bytes(), key_pem.as_bytes())
///     .alpn_protocols(&[b"h2", b"http/1.1"])
///     .build()?;
/// assert_eq!(config.alpn_protocols.len(), 2);
///
/// // Another certificate's key is refused at build, not at the first handshake.
/// let other = rcgen::KeyPair::generate()?;
/// let err = ServerConfig::builder()
///     .cert_pem(chain_pem.as_bytes(), other.serialize_pem().as_bytes())
///     .build()
///     .err();
/// assert_eq!(err, Some(tls_core::Error::KeyMismatch));
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until build() is called"]
pub struct ServerConfigBuilder {
    algorithms: Algorithms,
    cert: Option<Result<Arc<CertifiedKey>, Error>>,
    resolver: Option<Arc<dyn ResolvesServerCert>>,
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    resumption: bool,
    rng: Option<Arc<dyn EntropySource>>,
    clock: Option<Arc<dyn Clock>>,
}

impl ServerConfig {
    /// A builder with the default versions, suites and groups, no ALPN, no
    /// client authentication and (with `std`) the host's randomness and
    /// clock, session tickets and a session cache. A certificate must be
    /// given.
    pub fn builder() -> ServerConfigBuilder {
        ServerConfigBuilder {
            algorithms: Algorithms::default(),
            cert: None,
            resolver: None,
            client_verifier: None,
            resumption: true,
            rng: None,
            clock: None,
        }
    }
}

impl ServerConfigBuilder {
    /// Presents this chain (end-entity first, DER) with its key. A key that
    /// is not the certificate's fails [`ServerConfigBuilder::build`] with
    /// [`Error::KeyMismatch`].
    pub fn cert(mut self, chain: Vec<Vec<u8>>, key: SigningKey) -> Self {
        self.cert = Some(CertifiedKey::new(chain, key).map(Arc::new));
        self.resolver = None;
        self
    }

    /// [`ServerConfigBuilder::cert`] from PEM: a chain and a private key
    /// (PKCS#8, SEC1 or PKCS#1).
    pub fn cert_pem(mut self, chain_pem: &[u8], key_pem: &[u8]) -> Self {
        self.cert = Some(CertifiedKey::from_pem(chain_pem, key_pem).map(Arc::new));
        self.resolver = None;
        self
    }

    /// Picks the certificate per handshake with `resolver` (e.g. by SNI).
    pub fn cert_resolver(mut self, resolver: Arc<dyn ResolvesServerCert>) -> Self {
        self.resolver = Some(resolver);
        self.cert = None;
        self
    }

    /// Asks clients for a certificate and checks it with `verifier`.
    pub fn client_verifier(mut self, verifier: Arc<dyn ClientCertVerifier>) -> Self {
        self.client_verifier = Some(verifier);
        self
    }

    /// The protocol versions to accept.
    pub fn versions(mut self, versions: &[ProtocolVersion]) -> Self {
        self.algorithms.versions = versions.to_vec();
        self
    }

    /// The cipher suites to accept, TLS 1.3 and 1.2 alike, most preferred
    /// first.
    pub fn cipher_suites(mut self, suites: &[CipherSuite]) -> Self {
        self.algorithms.cipher_suites = suites.to_vec();
        self
    }

    /// The key-exchange groups to accept, most preferred first.
    pub fn groups(mut self, groups: &[NamedGroup]) -> Self {
        self.algorithms.groups = groups.to_vec();
        self
    }

    /// The ALPN protocols we speak, most preferred first.
    pub fn alpn_protocols(mut self, protocols: &[&[u8]]) -> Self {
        self.algorithms.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Turns resumption off: no tickets, no session cache.
    pub fn no_resumption(mut self) -> Self {
        self.resumption = false;
        self
    }

    /// Draws randomness from `rng` instead of the host's.
    pub fn entropy(mut self, rng: Arc<dyn EntropySource>) -> Self {
        self.rng = Some(rng);
        self
    }

    /// Reads the time from `clock` instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming what is wrong: no certificate given;
    /// the algorithm choices as for [`ClientConfigBuilder::build`]; TLS 1.2
    /// enabled while none of its configured suites can use the certificate's
    /// key (an RSA key with only ECDSA suites, say); no entropy source or
    /// clock without `std`. The certificate's own error
    /// ([`Error::KeyMismatch`] for a key that is not the certificate's, or
    /// the PEM error).
    pub fn build(self) -> Result<ServerConfig, Error> {
        self.algorithms.check()?;
        let resolver: Arc<dyn ResolvesServerCert> = match (self.cert, self.resolver) {
            (Some(cert), _) => {
                let cert = cert?;
                check_tls12_key(&self.algorithms, cert.key())?;
                Arc::new(SingleCert(cert))
            }
            (None, Some(resolver)) => resolver,
            (None, None) => {
                return Err(Error::InvalidConfig(
                    "no certificate: call cert, cert_pem or cert_resolver",
                ))
            }
        };
        let (rng, clock) = host_sources(self.rng, self.clock)?;
        let mut config = ServerConfig::new(resolver, rng, clock);
        config.versions = self.algorithms.versions;
        config.cipher_suites = self.algorithms.cipher_suites;
        config.groups = self.algorithms.groups;
        config.alpn_protocols = self.algorithms.alpn;
        config.client_verifier = self.client_verifier;
        #[cfg(not(feature = "std"))]
        let _ = self.resumption;
        #[cfg(feature = "std")]
        if self.resumption {
            let ticketer = crate::tickets::RotatingTicketer::new(
                config.rng.clone(),
                super::DEFAULT_TICKET_LIFETIME,
                config.clock.now(),
            )?;
            config.ticketer = Some(Arc::new(ticketer));
            config.session_cache = Some(Arc::new(crate::tls12::session::MemorySessionCache::new(
                super::DEFAULT_SESSION_CACHE,
            )));
        }
        Ok(config)
    }
}

/// With TLS 1.2 enabled, one of its configured suites must be able to use
/// the certificate's key (TLS 1.3 suites are independent of the key).
fn check_tls12_key(algorithms: &Algorithms, key: &SigningKey) -> Result<(), Error> {
    if !algorithms.versions.contains(&ProtocolVersion::Tls12) {
        return Ok(());
    }
    let usable = algorithms
        .cipher_suites
        .iter()
        .filter_map(|s| tls12_suite(*s))
        .any(|s| s.auth.accepts(key.alg()));
    if usable {
        Ok(())
    } else {
        Err(Error::InvalidConfig(
            "TLS 1.2 enabled but none of its cipher suites can use the certificate's key",
        ))
    }
}
