//! Turning a [`Service`] into tls-core configurations: certificates and keys
//! loaded from disk, the self-signed default, SNI certificate selection, and
//! the server-certificate verifier of client mode.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use tls_core::{
    CertifiedKey, ClientCertVerified, ClientCertVerifier, ClientConfig, ClientHelloInfo,
    PinnedCertVerifier, ResolvesServerCert, ServerCertVerified, ServerCertVerifier, ServerConfig,
    SystemClock, TrustAnchors, UnixTime, WebPkiClientVerifier, WebPkiVerifier,
};

use tls_core::x509::check_trusted_certificate;

use crate::config::{Addr, CertFiles, Mode, ServerVerify, Service};

/// A service with its TLS configuration built: what each new connection
/// takes a snapshot of, and what a reload replaces.
pub struct Live {
    /// The validated service.
    pub service: Service,
    /// The engine configuration for this side.
    pub tls: TlsConfig,
}

/// The engine configuration of one service.
pub enum TlsConfig {
    /// Server mode.
    Server(Arc<ServerConfig>),
    /// Client mode, with the name given to `Connection::client`.
    Client(Arc<ClientConfig>, Option<String>),
}

impl Live {
    /// Loads everything `service` refers to.
    pub fn build(service: Service) -> Result<Live, String> {
        let tls = match service.mode {
            Mode::Server => TlsConfig::Server(Arc::new(server_config(&service)?)),
            Mode::Client => {
                let name = service.server_name.clone().or_else(|| {
                    service
                        .targets
                        .first()
                        .and_then(Addr::host)
                        .map(str::to_string)
                });
                TlsConfig::Client(Arc::new(client_config(&service)?), name)
            }
        };
        Ok(Live { service, tls })
    }

    /// The targets for a connection that asked for `sni` (server mode).
    pub fn targets_for(&self, sni: Option<&str>) -> &[Addr] {
        if let Some(route) = sni.and_then(|n| find_route(&self.service, n)) {
            if !route.targets.is_empty() {
                return &route.targets;
            }
        }
        &self.service.targets
    }
}

fn find_route<'a>(service: &'a Service, sni: &str) -> Option<&'a crate::config::SniRoute> {
    let sni = sni.to_ascii_lowercase();
    service
        .sni_routes
        .iter()
        .find(|r| r.name == sni)
        .or_else(|| {
            service
                .sni_routes
                .iter()
                .find(|r| name_matches(&r.name, &sni))
        })
}

/// `*.example.com` matches exactly one more label; other patterns match exactly.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Loads a certificate chain and key.
pub fn load_cert(files: &CertFiles) -> Result<Arc<CertifiedKey>, String> {
    let chain = read(&files.cert, "certificate")?;
    let key = read(&files.key, "key")?;
    CertifiedKey::from_pem(&chain, &key)
        .map(Arc::new)
        .map_err(|e| format!("{} / {}: {e}", files.cert.display(), files.key.display()))
}

/// Loads the certificates of a PEM file (DER, in file order).
pub fn load_certs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let pem = read(path, "CA file")?;
    let certs =
        tls_core::keys::certs_from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", path.display()));
    }
    Ok(certs)
}

/// The in-memory self-signed certificate for `localhost` (ECDSA P-256), made
/// once per process so reloads keep its fingerprint, and its SHA-256 fingerprint.
pub fn self_signed() -> Result<(Arc<CertifiedKey>, String), String> {
    static CELL: OnceLock<Result<(Arc<CertifiedKey>, String), String>> = OnceLock::new();
    CELL.get_or_init(|| {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .map_err(|e| format!("cannot generate a self-signed certificate: {e}"))?;
        let der = generated.cert.der().to_vec();
        let key = CertifiedKey::from_pem(
            generated.cert.pem().as_bytes(),
            generated.signing_key.serialize_pem().as_bytes(),
        )
        .map_err(|e| format!("self-signed certificate: {e}"))?;
        Ok((Arc::new(key), fingerprint(&der)))
    })
    .clone()
}

/// The SHA-256 fingerprint of a DER certificate as colon-separated hex, the
/// way `openssl x509 -fingerprint -sha256` prints it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Picks the certificate by SNI: a route's own, else the service's.
struct SniResolver {
    default: Arc<CertifiedKey>,
    routes: Vec<(String, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(sni) = hello.server_name else {
            return Some(self.default.clone());
        };
        let sni = sni.to_ascii_lowercase();
        let exact = self.routes.iter().find(|(p, _)| *p == sni);
        let found = exact.or_else(|| self.routes.iter().find(|(p, _)| name_matches(p, &sni)));
        Some(found.map_or_else(|| self.default.clone(), |(_, k)| k.clone()))
    }
}

fn server_config(service: &Service) -> Result<ServerConfig, String> {
    let default = match &service.cert {
        Some(files) => load_cert(files)?,
        None => self_signed()?.0,
    };
    let mut routes = Vec::new();
    for route in &service.sni_routes {
        if let Some(files) = &route.cert {
            routes.push((route.name.clone(), load_cert(files)?));
        }
    }
    let mut config = ServerConfig::new(
        Arc::new(SniResolver { default, routes }),
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    if let Some(cacert) = &service.access.cacert {
        // Client certificates must chain to the CA file (or be in it); then the
        // access rules (CN / SAN) apply to the verified certificate.
        let ca = CaFile::load(cacert)?;
        config.client_verifier = Some(Arc::new(ClientChainVerifier {
            chain: WebPkiClientVerifier::new(ca.anchors.clone()),
            ca,
        }));
    }
    config.alpn_protocols = service.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(config)
}

fn client_config(service: &Service) -> Result<ClientConfig, String> {
    let verifier: Arc<dyn ServerCertVerifier> = match &service.verify {
        ServerVerify::Pinned(path) => Arc::new(PinnedCertVerifier::new(load_certs(path)?)),
        ServerVerify::Insecure => Arc::new(NoVerification),
        ServerVerify::Chain(Some(path)) => {
            let ca = CaFile::load(path)?;
            Arc::new(ServerChainVerifier::new(
                ca.anchors.clone(),
                ca.certs,
                service,
            ))
        }
        ServerVerify::Chain(None) => {
            let anchors = TrustAnchors::from_system()
                .map_err(|e| format!("cannot load the system trust store: {e}"))?;
            if anchors.is_empty() {
                return Err(
                    "the system trust store has no usable CA certificate: give a CA file \
                            (--cacert / CAfile)"
                        .into(),
                );
            }
            Arc::new(ServerChainVerifier::new(
                Arc::new(anchors),
                Vec::new(),
                service,
            ))
        }
    };
    let mut config = ClientConfig::new(
        verifier,
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    if let Some(files) = &service.cert {
        config.client_cert = Some(load_cert(files)?);
    }
    config.alpn_protocols = service.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(config)
}

/// Accepts any server certificate (stunnel's `verifyChain = no`); the
/// handshake signature is still checked.
struct NoVerification;

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, tls_core::Error> {
        Ok(ServerCertVerified::assertion())
    }
}

/// A CA file: its certificates as trust anchors for chain validation, and as
/// they are, so that a self-signed peer listed in it is accepted.
struct CaFile {
    certs: Vec<Vec<u8>>,
    anchors: Arc<TrustAnchors>,
}

impl CaFile {
    fn load(path: &Path) -> Result<CaFile, String> {
        let certs = load_certs(path)?;
        let pem = read(path, "CA file")?;
        let mut anchors = TrustAnchors::new();
        // Certificates that cannot be anchors (e.g. a self-signed end-entity
        // certificate) still count as listed certificates.
        anchors
            .add_pem_lenient(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(CaFile {
            certs,
            anchors: Arc::new(anchors),
        })
    }

    fn lists(&self, end_entity: &[u8]) -> bool {
        self.certs.iter().any(|c| c.as_slice() == end_entity)
    }
}

/// Client mode's check of the server: the chain must lead to a trust anchor
/// and match the name (the checkHost/checkIP names when given, else the
/// name we connect to). A certificate listed in the CA file itself is
/// trusted as it is (as OpenSSL trusts a self-signed certificate in its CA
/// file): accepted outright, or, with checkHost/checkIP, when it is valid now
/// and names one of them.
struct ServerChainVerifier {
    chain: WebPkiVerifier,
    listed: Vec<Vec<u8>>,
    names: Vec<String>,
}

impl ServerChainVerifier {
    fn new(anchors: Arc<TrustAnchors>, listed: Vec<Vec<u8>>, service: &Service) -> Self {
        let names = service
            .check_host
            .iter()
            .cloned()
            .chain(service.check_ip.iter().map(ToString::to_string))
            .collect();
        ServerChainVerifier {
            chain: WebPkiVerifier::new(anchors),
            listed,
            names,
        }
    }
}

impl ServerCertVerifier for ServerChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, tls_core::Error> {
        let listed = self.listed.iter().any(|c| c.as_slice() == end_entity);
        if self.names.is_empty() {
            if listed {
                return Ok(ServerCertVerified::assertion());
            }
            return self
                .chain
                .verify_server_cert(end_entity, intermediates, server_name, now);
        }
        let mut outcome = Err(tls_core::Error::BadCertificate("no name to check"));
        for name in &self.names {
            outcome = if listed {
                check_trusted_certificate(end_entity, Some(name), now)
                    .map(|()| ServerCertVerified::assertion())
                    .map_err(tls_core::Error::from)
            } else {
                self.chain
                    .verify_server_cert(end_entity, intermediates, Some(name), now)
            };
            if outcome.is_ok() {
                break;
            }
        }
        outcome
    }
}

/// Server mode's check of client certificates: chain validation against the
/// CA file, or the certificate itself listed in it.
struct ClientChainVerifier {
    ca: CaFile,
    chain: WebPkiClientVerifier,
}

impl ClientCertVerifier for ClientChainVerifier {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, tls_core::Error> {
        if self.ca.lists(end_entity) {
            return Ok(ClientCertVerified::assertion());
        }
        self.chain
            .verify_client_cert(end_entity, intermediates, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_one_label() {
        assert!(name_matches("*.example.com", "a.example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(name_matches("A.example", "a.EXAMPLE"));
    }

    #[test]
    fn self_signed_is_stable() {
        let (a, fa) = self_signed().unwrap();
        let (b, fb) = self_signed().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(fa, fb);
        assert_eq!(fa.len(), 32 * 3 - 1);
    }
}
