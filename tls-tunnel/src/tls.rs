//! Turning a [`Service`] into tls-core configurations: certificates and keys
//! loaded from disk, the self-signed default, SNI certificate selection, the
//! server-certificate verifier of client mode, and the session-resumption
//! state that reloads hand on.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use tls_core::crypto::{HashAlg, Transcript};
use tls_core::{
    CertifiedKey, ClientCertVerified, ClientCertVerifier, ClientConfig, ClientHelloInfo,
    ClientSessionStore, Clock, MemorySessionCache, MemorySessionStore, ResolvesServerCert,
    RotatingTicketer, ServerCertVerified, ServerCertVerifier, ServerConfig, SessionIdCache,
    SystemClock, TicketEncrypter, TicketKey, TrustAnchors, UnixTime, WebPkiClientVerifier,
    WebPkiVerifier,
};

use tls_core::x509::{check_trusted_certificate, verify_chain_with_policy, KeyUsage, Policy};

use crate::config::{Access, Addr, CertFiles, Mode, Resumption, ServerVerify, Service};
use crate::stateful_tickets::StatefulTickets;
use crate::status::CertInfo;
use crate::trust::{CaFile, Crls};

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
    /// Server mode.
    Server(Arc<ServerConfig>),
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
        let (tls, sessions) = match service.mode {
            Mode::Server => {
                let (mut config, trust) = server_config(&service, &mut certificates)?;
                redirect = crate::redirect::Redirect::install(
                    &mut config.tls.client_verifier,
                    &service.access.redirect,
                );
                stapler = crate::stapling::Stapler::build(&service, &config.presented)?;
                config.tls.ocsp_stapler = stapler
                    .clone()
                    .map(|s| s as Arc<dyn tls_core::stapling::OcspStapler>);
                let mut config = config.tls;
                let sessions = Sessions::keep_or_new(previous, Basis::new(&service, None, trust))?;
                config.ticketer = sessions.ticketer();
                config.session_cache = sessions.session_cache();
                config.session_lifetime = Some(service.resumption.lifetime_secs());
                (TlsConfig::Server(Arc::new(config)), sessions)
            }
            Mode::Client => {
                let name = service.server_name.clone().or_else(|| {
                    service
                        .targets
                        .first()
                        .and_then(Addr::host)
                        .map(str::to_string)
                });
                let (mut config, trust) = client_config(&service, &mut certificates)?;
                let basis = Basis::new(&service, name.clone(), trust);
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

/// A server configuration with the certificates it presents.
struct ServerSetup {
    tls: ServerConfig,
    presented: Vec<Arc<CertifiedKey>>,
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

/// As stunnel: a server with PSKs and no certificate at all serves PSK
/// clients only (no self-signed default).
pub fn psk_only(service: &Service) -> bool {
    service.cert.is_none() && service.psk.is_some() && service.sni_routes.is_empty()
}

/// The server configuration, without session state, and the digest of the
/// CA file client certificates are checked against; the certificates
/// served are described in `certs`.
fn server_config(
    service: &Service,
    certs: &mut Vec<CertInfo>,
) -> Result<(ServerSetup, Vec<u8>), String> {
    let name = |c: Option<&CertFiles>| {
        c.map_or_else(
            || "the self-signed certificate (no cert given)".to_string(),
            |f| f.cert.display().to_string(),
        )
    };
    let mut presented = Vec::new();
    let mut routes = Vec::new();
    for route in &service.sni_routes {
        if let Some(files) = &route.cert {
            let key = load_cert(files)?;
            describe(certs, format!("sni:{}", route.name), &key);
            own_level(service, &key, &name(Some(files)))?;
            presented.push(key.clone());
            routes.push((route.name.clone(), key));
        }
    }
    let resolver: Arc<dyn ResolvesServerCert> = if psk_only(service) {
        Arc::new(tls_core::NoCertificate)
    } else {
        let default = match &service.cert {
            Some(files) => load_cert(files)?,
            None => crate::selfsigned::get()?.key.clone(),
        };
        own_level(service, &default, &name(service.cert.as_ref()))?;
        describe(certs, "default".into(), &default);
        presented.push(default.clone());
        Arc::new(SniResolver { default, routes })
    };
    let mut config = ServerConfig::new(
        resolver,
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    let mut trust = digest_certs(&[]);
    if let Some(psk) = &service.psk {
        // Every identity of the file (PSKidentity is for clients).
        config.external_psks = crate::config::psk::load(&psk.secrets)?;
        trust.extend(crate::config::psk::digest(&config.external_psks, None));
    }
    if let Some(cacert) = &service.access.cacert {
        // Client certificates must chain to the CA file (or be in it); then the
        // access rules (CN / SAN) apply to the verified certificate.
        let ca = CaFile::load(cacert, &service.trust)?;
        let crls = Crls::load(&service.trust)?;
        trust.extend(digest_certs(&ca.certs));
        trust.extend(digest_certs(&crls.ders));
        let policy = Policy {
            crls: crls.ders.clone(),
            ..Policy::new(KeyUsage::ClientAuth)
        };
        config.client_verifier = Some(Arc::new(ClientChainVerifier {
            chain: WebPkiClientVerifier::with_policy(ca.anchors.clone(), policy),
            ca,
            crls,
            pinned: service.access.pinned,
            optional: service.access.optional,
            service: service.name.clone(),
            access: service.access.clone(),
        }));
    }
    if !service.access.allow_spki.is_empty() {
        config.client_verifier = Some(Arc::new(crate::peer_checks::PinnedClients(
            service.access.allow_spki.clone(),
        )));
    }
    if service.access.require_any && config.client_verifier.is_none() {
        config.client_verifier = Some(Arc::new(AnyClientCert));
    }
    let level = service.algorithms.security_level;
    if crate::seclevel::bits(level) > 0 {
        // Chains are held to the level when they are verified at all.
        let chains = service.access.cacert.is_some();
        config.client_verifier = config.client_verifier.map(|v| {
            Arc::new(crate::seclevel::ClientLevel::new(v, level, chains))
                as Arc<dyn ClientCertVerifier>
        });
    }
    config.alpn_protocols = service.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.versions = service.algorithms.versions.clone();
    config.cipher_suites = service.algorithms.cipher_suites();
    config.groups = service.algorithms.groups.clone();
    config.allow_no_ems = service.algorithms.allow_no_ems;
    Ok((
        ServerSetup {
            tls: config,
            presented,
        },
        trust,
    ))
}

/// stunnel's `requireCert = yes` without verifyChain or verifyPeer: a
/// client must present a certificate (and prove it holds its key), but any
/// certificate will do.
struct AnyClientCert;

impl ClientCertVerifier for AnyClientCert {
    fn verify_client_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, tls_core::Error> {
        Ok(ClientCertVerified::assertion())
    }
}

/// The client configuration, without session state, and the digest of the
/// certificates the server is checked against followed by that of our own
/// certificate (described in `certs`).
fn client_config(
    service: &Service,
    certs: &mut Vec<CertInfo>,
) -> Result<(ClientConfig, Vec<u8>), String> {
    let crls = Crls::load(&service.trust)?;
    let mut trust = digest_certs(&crls.ders);
    let verifier: Arc<dyn ServerCertVerifier> = match &service.verify {
        ServerVerify::Pinned(path) => {
            let pins = CaFile::load(path, &service.trust)?.certs;
            trust = digest_certs(&pins);
            Arc::new(crate::peer_checks::ListedServer(pins))
        }
        ServerVerify::Insecure => Arc::new(NoVerification),
        ServerVerify::Spki(pins) => Arc::new(crate::peer_checks::PinnedServer(pins.clone())),
        ServerVerify::Chain(Some(path)) => {
            let ca = CaFile::load(path, &service.trust)?;
            trust.extend(digest_certs(&ca.certs));
            Arc::new(ServerChainVerifier::new(
                ca.anchors.clone(),
                ca.certs,
                service,
                crls,
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
                crls,
            ))
        }
    };
    let verifier: Arc<dyn ServerCertVerifier> = if service.verify_names.is_empty() {
        verifier
    } else {
        Arc::new(crate::peer_checks::NamesChecked {
            inner: verifier,
            rules: service.verify_names.clone(),
            service: service.name.clone(),
        })
    };
    let level = service.algorithms.security_level;
    let verifier: Arc<dyn ServerCertVerifier> = if crate::seclevel::bits(level) > 0 {
        let chains = service.verify != ServerVerify::Insecure;
        Arc::new(crate::seclevel::ServerLevel::new(verifier, level, chains))
    } else {
        verifier
    };
    let mut config = ClientConfig::new(
        verifier,
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    if let Some(files) = &service.cert {
        let key = load_cert(files)?;
        describe(certs, "client".into(), &key);
        own_level(service, &key, &files.cert.display().to_string())?;
        trust.extend(digest_certs(key.chain()));
        config.client_cert = Some(key);
    }
    if let Some(psk) = &service.psk {
        let psks = crate::config::psk::load(&psk.secrets)?;
        let identity = psk.identity.as_deref();
        trust.extend(crate::config::psk::digest(&psks, identity));
        config.external_psk = Some(crate::config::psk::client_psk(psks, identity)?);
    }
    config.alpn_protocols = service.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.versions = service.algorithms.versions.clone();
    config.cipher_suites = service.algorithms.cipher_suites();
    config.groups = service.algorithms.groups.clone();
    config.allow_no_ems = service.algorithms.allow_no_ems;
    Ok((config, trust))
}

/// What a service's sessions were made under. Sessions made under another
/// basis must not resume: a resumed handshake skips the certificate checks,
/// so a session from before a reload that changed a CA file, a pinned
/// certificate or the names checked would bypass the new checks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Basis {
    mode: Mode,
    settings: Resumption,
    verify: ServerVerify,
    pinned: bool,
    optional: bool,
    require_any: bool,
    /// Client mode: the name sessions are kept under.
    name: Option<String>,
    check_host: Vec<String>,
    check_ip: Vec<IpAddr>,
    check_email: Vec<String>,
    verify_names: crate::config::NameRules,
    /// stunnel's securityLevel: a session made under a lower one must not
    /// resume under a higher one.
    security_level: u8,
    /// stunnel's redirect: a session admitted for redirection must not
    /// resume in a configuration that refuses such clients.
    redirect: Vec<Addr>,
    /// Digests of the certificates peers are checked against and, in
    /// client mode, of our own certificate.
    trust: Vec<u8>,
}

impl Basis {
    fn new(service: &Service, name: Option<String>, trust: Vec<u8>) -> Basis {
        Basis {
            mode: service.mode,
            settings: service.resumption,
            verify: service.verify.clone(),
            pinned: service.access.pinned,
            optional: service.access.optional,
            require_any: service.access.require_any,
            name,
            check_host: service.check_host.clone(),
            check_ip: service.check_ip.clone(),
            check_email: service.check_email.clone(),
            verify_names: service.verify_names.clone(),
            security_level: service.algorithms.security_level,
            redirect: service.access.redirect.clone(),
            trust,
        }
    }
}

/// The SHA-256 digest of a list of DER certificates.
fn digest_certs(certs: &[Vec<u8>]) -> Vec<u8> {
    let mut hash = Transcript::new(HashAlg::Sha256);
    for cert in certs {
        hash.update(&(cert.len() as u64).to_be_bytes());
        hash.update(cert);
    }
    hash.current().as_ref().to_vec()
}

/// A service's session-resumption state: the server's ticket keys and TLS
/// 1.2 session-ID cache, or the client's store of the server's sessions.
/// A reload hands it on to the new configuration.
#[derive(Clone)]
pub struct Sessions {
    basis: Basis,
    state: SessionState,
}

#[derive(Clone)]
enum SessionState {
    Off,
    Server {
        ticketer: Option<Arc<dyn TicketEncrypter>>,
        cache: Arc<MemorySessionCache>,
    },
    Client(Arc<MemorySessionStore>),
}

/// Server names a client-mode service keeps sessions for: it talks to one
/// (a new name on reload is a new [`Basis`], so a new store).
const CLIENT_SESSION_NAMES: usize = 1;

impl Sessions {
    /// The previous state when it was made under the same basis, else a new one.
    fn keep_or_new(previous: Option<&Sessions>, basis: Basis) -> Result<Sessions, String> {
        if let Some(previous) = previous.filter(|p| p.basis == basis) {
            return Ok(previous.clone());
        }
        let r = basis.settings;
        let state = match basis.mode {
            _ if !r.enabled => SessionState::Off,
            Mode::Server => {
                let ticketer = if r.tickets {
                    let mut ticketer = RotatingTicketer::new(
                        Arc::new(entropy::HostEntropy),
                        r.lifetime_secs(),
                        SystemClock.now(),
                    )
                    .map_err(|e| format!("cannot make session ticket keys: {e}"))?;
                    if let Some(secret) = r.ticket_secret {
                        // A fixed key: instances sharing the secret, and
                        // restarts, open each other's tickets.
                        let mut id = [0u8; 16];
                        let digest = HashAlg::Sha256.hash(&secret.0);
                        for (to, from) in id.iter_mut().zip(digest.as_ref()) {
                            *to = *from;
                        }
                        let key = TicketKey { id, key: secret.0 };
                        ticketer.set_keys(key, Vec::new(), SystemClock.now());
                    }
                    Some(Arc::new(ticketer) as Arc<dyn TicketEncrypter>)
                } else {
                    // stunnel's NO_TICKET: as OpenSSL does in TLS 1.3, a
                    // session stays here and the client gets its name.
                    Some(Arc::new(StatefulTickets::new(
                        Arc::new(entropy::HostEntropy),
                        r.lifetime_secs(),
                        r.cache_size,
                    )) as Arc<dyn TicketEncrypter>)
                };
                SessionState::Server {
                    ticketer,
                    cache: Arc::new(MemorySessionCache::new(r.cache_size)),
                }
            }
            Mode::Client => {
                SessionState::Client(Arc::new(MemorySessionStore::new(CLIENT_SESSION_NAMES)))
            }
        };
        Ok(Sessions { basis, state })
    }

    /// True when sessions made under `previous` still resume: the state was
    /// handed on, or there was none to lose.
    pub fn continues(&self, previous: &Sessions) -> bool {
        self.basis == previous.basis || matches!(previous.state, SessionState::Off)
    }

    fn ticketer(&self) -> Option<Arc<dyn TicketEncrypter>> {
        match &self.state {
            SessionState::Server {
                ticketer: Some(t), ..
            } => Some(t.clone()),
            _ => None,
        }
    }

    fn session_cache(&self) -> Option<Arc<dyn SessionIdCache>> {
        match &self.state {
            SessionState::Server { cache, .. } => Some(cache.clone()),
            _ => None,
        }
    }

    fn client_store(&self) -> Option<Arc<dyn ClientSessionStore>> {
        match &self.state {
            SessionState::Client(store) => Some(store.clone()),
            _ => None,
        }
    }
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

/// Client mode's check of the server: the chain must lead to a trust anchor
/// and match the name (the checkHost/checkIP names when given, else the
/// name we connect to). A certificate listed in the CA file itself is
/// trusted as it is (as OpenSSL trusts a self-signed certificate in its CA
/// file) while it is valid now: accepted, or, with checkHost/checkIP, when
/// it also names one of them.
struct ServerChainVerifier {
    chain: WebPkiVerifier,
    listed: Vec<Vec<u8>>,
    names: Vec<String>,
    emails: Vec<String>,
    crls: Crls,
}

impl ServerChainVerifier {
    fn new(
        anchors: Arc<TrustAnchors>,
        listed: Vec<Vec<u8>>,
        service: &Service,
        crls: Crls,
    ) -> Self {
        let names = service
            .check_host
            .iter()
            .cloned()
            .chain(service.check_ip.iter().map(ToString::to_string))
            .collect();
        let policy = Policy {
            crls: crls.ders.clone(),
            ..Policy::new(KeyUsage::ServerAuth)
        };
        ServerChainVerifier {
            chain: WebPkiVerifier::with_policy(anchors, policy),
            listed,
            names,
            emails: service.check_email.clone(),
            crls,
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
        if self.names.is_empty() && self.emails.is_empty() {
            if listed {
                // Trusted as it is, but only while valid: OpenSSL checks
                // the validity of every certificate of the path, the
                // trusted one included (stunnel refuses an expired one).
                check_trusted_certificate(end_entity, None, now)?;
                return Ok(ServerCertVerified::assertion());
            }
            let verified =
                self.chain
                    .verify_server_cert(end_entity, intermediates, server_name, now)?;
            self.crls.cover(end_entity, intermediates)?;
            return Ok(verified);
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
        if outcome.is_err() && !self.emails.is_empty() {
            // checkEmail: a trusted certificate naming one of the addresses.
            let trusted = if listed {
                check_trusted_certificate(end_entity, None, now).is_ok()
            } else {
                verify_chain_with_policy(
                    self.chain.anchors(),
                    end_entity,
                    intermediates,
                    None,
                    now,
                    self.chain.policy(),
                )
                .is_ok()
            };
            let named = crate::access::peer_names(end_entity).is_ok_and(|n| {
                n.email
                    .iter()
                    .any(|e| self.emails.iter().any(|w| w.eq_ignore_ascii_case(e)))
            });
            if trusted && named {
                outcome = Ok(ServerCertVerified::assertion());
            }
        }
        if !listed && outcome.is_ok() {
            self.crls.cover(end_entity, intermediates)?;
        }
        outcome
    }
}

/// Server mode's check of client certificates: chain validation against the
/// CA file, or the certificate itself listed in it (only that with
/// stunnel's verifyPeer, `pinned`); then the access rules (allow-cn,
/// allow-san), inside the handshake, so that a refused client gets an
/// access_denied alert (RFC 8446, section 6.2: a valid certificate that
/// access control refuses) instead of a connection that ends after a
/// handshake it took for a success.
struct ClientChainVerifier {
    ca: CaFile,
    chain: WebPkiClientVerifier,
    crls: Crls,
    pinned: bool,
    /// stunnel's `requireCert = no`: a client may send no certificate.
    optional: bool,
    service: String,
    access: Access,
}

impl ClientCertVerifier for ClientChainVerifier {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, tls_core::Error> {
        let verified = if self.ca.lists(end_entity) {
            // Listed as it is (verifyPeer, or a self-signed client in the
            // CA file): still only while valid, as OpenSSL checks.
            check_trusted_certificate(end_entity, None, now)?;
            ClientCertVerified::assertion()
        } else if self.pinned {
            return Err(tls_core::Error::BadCertificate(
                "client certificate is not in the CA file (verifyPeer)",
            ));
        } else {
            let verified = self
                .chain
                .verify_client_cert(end_entity, intermediates, now)?;
            self.crls.cover(end_entity, intermediates)?;
            verified
        };
        if let Err(why) = crate::access::check(&self.access, Some(end_entity)) {
            tracing::debug!(service = %self.service, "{why}");
            return Err(tls_core::Error::AccessDenied(
                "client certificate not admitted by the access rules (allow-cn, allow-san)",
            ));
        }
        Ok(verified)
    }

    fn mandatory(&self) -> bool {
        !self.optional
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

    fn server(cacert: Option<&Path>) -> Service {
        let mut s = crate::config::toml::parse(
            "t.toml",
            "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\ntarget = \"127.0.0.1:1\"\n",
        )
        .unwrap()
        .services
        .remove(0);
        if let Some(path) = cacert {
            s.access.cacert = Some(path.to_path_buf());
            s.access.allow_all = true;
        }
        s
    }

    fn same_ticketer(a: &Live, b: &Live) -> bool {
        match (&a.sessions.state, &b.sessions.state) {
            (
                SessionState::Server {
                    ticketer: Some(x), ..
                },
                SessionState::Server {
                    ticketer: Some(y), ..
                },
            ) => std::ptr::addr_eq(Arc::as_ptr(x), Arc::as_ptr(y)),
            _ => false,
        }
    }

    #[test]
    fn reload_keeps_sessions_unless_their_basis_changed() {
        let dir = std::env::temp_dir().join(format!("tls-tunnel-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let write_ca = || {
            let c = rcgen::generate_simple_self_signed(vec!["ca".to_string()]).unwrap();
            std::fs::write(&ca, c.cert.pem()).unwrap();
        };
        write_ca();

        let first = Live::build(server(Some(&ca)), None).unwrap();
        let same = Live::build(server(Some(&ca)), Some(&first)).unwrap();
        assert!(same_ticketer(&first, &same));
        assert!(same.sessions.continues(&first.sessions));

        // A new CA file at the same path: sessions of the old clients must not resume.
        write_ca();
        let new_ca = Live::build(server(Some(&ca)), Some(&same)).unwrap();
        assert!(!same_ticketer(&same, &new_ca));
        assert!(!new_ca.sessions.continues(&same.sessions));

        let mut longer = server(Some(&ca));
        longer.resumption.timeout = std::time::Duration::from_secs(600);
        let longer = Live::build(longer, Some(&new_ca)).unwrap();
        assert!(!same_ticketer(&new_ca, &longer));

        let mut off = server(Some(&ca));
        off.resumption.enabled = false;
        let off = Live::build(off, Some(&longer)).unwrap();
        let TlsConfig::Server(config) = &off.tls else {
            panic!("server mode")
        };
        assert!(config.ticketer.is_none() && config.session_cache.is_none());
        let on = Live::build(server(Some(&ca)), Some(&off)).unwrap();
        assert!(on.sessions.continues(&off.sessions));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
