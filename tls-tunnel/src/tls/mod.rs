//! Turning a [`Service`] into tls-core configurations: certificates and keys
//! loaded from disk, the self-signed default, and per side what only that
//! side has: [`server`] SNI certificate selection and client-certificate
//! checks, [`client`] the check of the server's certificate; then the
//! session-resumption state that reloads hand on ([`sessions`]). Every
//! certificate verifier is a check stacked on the one below ([`checked`]).

pub(crate) mod checked;
mod client;
mod server;
mod sessions;

use std::path::Path;
use std::sync::Arc;

use tls_core::HashAlg;
use tls_core::{CertifiedKey, ClientConfig, ServerConfig};

use crate::config::{Access, Addr, CertFiles, Role, Service};
use crate::status::CertInfo;

pub use server::psk_only;
use sessions::Basis;
pub use sessions::Sessions;

/// A service with its TLS configuration built: what each new connection
/// takes a snapshot of, and what a reload replaces.
pub struct Live {
    /// The validated service.
    pub service: Service,
    /// The engine configuration for this side.
    pub tls: TlsConfig,
    /// Session tickets, caches and stores, handed on by a reload.
    pub sessions: Sessions,
    /// Connections so far, for round-robin failover between targets.
    pub next_target: std::sync::atomic::AtomicUsize,
    /// The certificates this configuration serves or presents, for
    /// `/_status` and the expiry gauge.
    pub certificates: Vec<CertInfo>,
    /// Server mode with stunnel's redirect: judges clients after the handshake.
    pub redirect: Option<crate::redirect::Redirect>,
    /// OCSP checks of the peer's certificates, when configured.
    pub ocsp: Option<Arc<crate::ocsp::OcspChecker>>,
    /// OCSP responses stapled by a server-mode service.
    pub stapler: Option<Arc<crate::stapling::Stapler>>,
}

/// The engine configuration of one service.
pub enum TlsConfig {
    /// Server mode, with the client-certificate rules: a resumed handshake
    /// skips the verifier that applies them, so they are applied again.
    Server(Arc<ServerConfig>, Box<Access>),
    /// Client mode, with the name given to `Connection::client`.
    Client(Arc<ClientConfig>, Option<String>),
}

impl Live {
    /// Loads everything `service` refers to. On a reload `previous` is the
    /// configuration being replaced: its session state is kept, so tickets
    /// and cached sessions issued before the reload still resume, unless
    /// what they were made under changed (see [`Sessions::continues`]).
    pub fn build(service: Service, previous: Option<&Live>) -> Result<Live, String> {
        let previous = previous.map(|p| &p.sessions);
        let mut certificates = Vec::new();
        let mut redirect = None;
        let mut stapler = None;
        let ocsp = crate::ocsp::OcspChecker::build(&service)?;
        let (tls, sessions) = match &service.role {
            Role::Server(server) => {
                let (mut config, trust) = server::config(&service, server, &mut certificates)?;
                redirect = crate::redirect::Redirect::install(
                    &mut config.tls.client_verifier,
                    &server.access.redirect,
                );
                stapler = crate::stapling::Stapler::build(&service, server, &config.presented)?;
                config.tls.ocsp_stapler = stapler
                    .clone()
                    .map(|s| s as Arc<dyn tls_core::stapling::OcspStapler>);
                let mut config = config.tls;
                let basis = Basis::server(&service, server, trust);
                let sessions = Sessions::keep_or_new(previous, basis)?;
                config.ticketer = sessions.ticketer();
                config.session_cache = sessions.session_cache();
                config.session_lifetime = Some(server.resumption.lifetime_secs());
                (
                    TlsConfig::Server(Arc::new(config), Box::new(server.access.clone())),
                    sessions,
                )
            }
            Role::Client(client) => {
                let name = client.server_name.clone().or_else(|| {
                    service
                        .targets
                        .first()
                        .and_then(Addr::host)
                        .map(str::to_string)
                });
                let (mut config, trust) = client::config(&service, client, &mut certificates)?;
                let basis = Basis::client(&service, client, name.clone(), trust);
                let sessions = Sessions::keep_or_new(previous, basis)?;
                config.session_store = sessions.client_store();
                // The server's stapled response is checked first, as stunnel does.
                config.request_ocsp = ocsp.is_some();
                (TlsConfig::Client(Arc::new(config), name), sessions)
            }
        };
        Ok(Live {
            service,
            tls,
            sessions,
            next_target: Default::default(),
            certificates,
            redirect,
            ocsp,
            stapler,
        })
    }

    /// The targets for a connection that asked for `sni` (server mode).
    pub fn targets_for(&self, sni: Option<&str>) -> &[Addr] {
        let routes = self.service.role.sni_routes();
        if let Some(route) = sni.and_then(|n| server::find_route(routes, n)) {
            if !route.targets.is_empty() {
                return &route.targets;
            }
        }
        &self.service.targets
    }
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

/// Reads a file; the error names it as `what`.
pub fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// Loads a certificate chain and key (PEM or PKCS#12: see
/// [`crate::keyfile::cert_and_key`]).
pub fn load_cert(files: &CertFiles) -> Result<Arc<CertifiedKey>, String> {
    crate::keyfile::load(files)
}

/// Checks our own chain against the service's securityLevel, as OpenSSL
/// does when it loads a certificate: `what` names it in the error.
fn own_level(service: &Service, key: &CertifiedKey, what: &str) -> Result<(), String> {
    let chain = key.chain().iter().map(Vec::as_slice);
    crate::seclevel::check_chain(service.algorithms.security_level, chain)
        .map_err(|e| format!("{what}: {e}"))
}

/// Loads the certificates of a CA file (DER, in file order).
pub fn load_certs(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    crate::keyfile::certificates(path, "CA file")
}

/// The SHA-256 fingerprint of a DER certificate as colon-separated hex, the
/// way `openssl x509 -fingerprint -sha256` prints it.
pub fn fingerprint(der: &[u8]) -> String {
    HashAlg::Sha256
        .hash(der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Adds what the end-entity certificate of `key` says to `certs`.
fn describe(certs: &mut Vec<CertInfo>, role: String, key: &CertifiedKey) {
    if let Some(info) = key
        .chain()
        .first()
        .and_then(|der| CertInfo::from_der(role, der))
    {
        certs.push(info);
    }
}

/// The SHA-256 digest of a list of DER certificates.
fn digest_certs(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut input = Vec::new();
    for cert in certs {
        input.extend_from_slice(&(cert.len() as u64).to_be_bytes());
        input.extend_from_slice(cert);
    }
    HashAlg::Sha256.hash(&input).as_ref().to_vec()
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
}
