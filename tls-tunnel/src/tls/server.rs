//! Server mode: the certificate chosen by SNI, the self-signed default,
//! and the checks of client certificates (stunnel's verifyChain,
//! verifyPeer and requireCert, ghostunnel's allow rules).

use std::sync::Arc;

use tls_core::x509::{check_trusted_certificate, KeyUsage, Policy};
use tls_core::{
    CertifiedKey, ClientCertVerifier, ClientHelloInfo, ResolvesServerCert, ServerConfig,
    SystemClock, WebPkiClientVerifier,
};

use super::checked::{self, AcceptAny, Check, Peer};
use super::{describe, digest_certs, load_cert, name_matches, own_level};
use crate::config::{Access, CertFiles, ServerRole, Service, SniRoute};
use crate::status::CertInfo;
use crate::trust::{CaFile, Crls};

/// The route of `routes` for `sni`: an exact name first, then a wildcard.
pub(super) fn find_route<'a>(routes: &'a [SniRoute], sni: &str) -> Option<&'a SniRoute> {
    let sni = sni.to_ascii_lowercase();
    routes
        .iter()
        .find(|r| r.name == sni)
        .or_else(|| routes.iter().find(|r| name_matches(&r.name, &sni)))
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
pub(super) struct ServerSetup {
    /// The engine configuration, without session state.
    pub(super) tls: ServerConfig,
    /// The certificates served (for OCSP stapling).
    pub(super) presented: Vec<Arc<CertifiedKey>>,
}

/// As stunnel: a server with PSKs and no certificate at all serves PSK
/// clients only (no self-signed default).
pub fn psk_only(service: &Service) -> bool {
    service.cert.is_none() && service.psk.is_some() && service.role.sni_routes().is_empty()
}

/// The configuration of `service`, whose server side is `server`, without
/// session state, and the digest of the CA file client certificates are
/// checked against; the certificates served are described in `certs`.
pub(super) fn config(
    service: &Service,
    server: &ServerRole,
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
    for route in &server.sni_routes {
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
    config.key_log = crate::keylog::get();
    let mut trust = digest_certs(&[]);
    if let Some(psk) = &service.psk {
        // Every identity of the file (PSKidentity is for clients).
        config.external_psks = crate::config::psk::load(&psk.secrets)?;
        trust.extend(crate::config::psk::digest(&config.external_psks, None));
    }
    if let Some(cacert) = &server.access.cacert {
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
        config.client_verifier = Some(checked::client(ClientChainVerifier {
            chain: WebPkiClientVerifier::with_policy(ca.anchors.clone(), policy),
            ca,
            crls,
            pinned: server.access.pinned,
            optional: server.access.optional,
            service: service.name.clone(),
            access: server.access.clone(),
        }));
    }
    if !server.access.allow_spki.is_empty() {
        config.client_verifier = Some(checked::client(crate::peer_checks::Pinned::clients(
            server.access.allow_spki.clone(),
        )));
    }
    if server.access.require_any && config.client_verifier.is_none() {
        config.client_verifier = Some(Arc::new(AcceptAny));
    }
    let level = service.algorithms.security_level;
    if crate::seclevel::bits(level) > 0 {
        // Chains are held to the level when they are verified at all.
        let chains = server.access.cacert.is_some();
        config.client_verifier = config
            .client_verifier
            .map(|v| checked::on_client(v, crate::seclevel::Level { level, chains }));
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

impl Check for ClientChainVerifier {
    fn check(&self, peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        let (end_entity, intermediates) = (peer.end_entity, peer.intermediates);
        if self.ca.lists(end_entity) {
            // Listed as it is (verifyPeer, or a self-signed client in the
            // CA file): still only while valid, as OpenSSL checks.
            check_trusted_certificate(end_entity, None, peer.now)?;
        } else if self.pinned {
            return Err(tls_core::Error::BadCertificate(
                "client certificate is not in the CA file (verifyPeer)",
            ));
        } else {
            self.chain
                .verify_client_cert(end_entity, intermediates, peer.now)?;
            self.crls.cover(end_entity, intermediates)?;
        }
        if let Err(why) = crate::access::check(&self.access, Some(end_entity)) {
            tracing::debug!(service = %self.service, "{why}");
            return Err(tls_core::Error::AccessDenied(
                "client certificate not admitted by the access rules (allow-cn, allow-san)",
            ));
        }
        Ok(())
    }

    fn mandatory(&self, _below: bool) -> bool {
        !self.optional
    }
}
