//! Client mode: how the server's certificate is checked (chain, pinned
//! certificates, SPKI pins, checkHost/checkIP/checkEmail, ghostunnel's
//! verify rules) and the client's own certificate and PSK.

use std::sync::Arc;

use tls_core::x509::{check_trusted_certificate, verify_chain_with_policy, KeyUsage, Policy};
use tls_core::{ClientConfig, ServerCertVerifier, SystemClock, TrustAnchors, WebPkiVerifier};

use super::checked::{self, AcceptAny, Check, Peer};
use super::{describe, digest_certs, load_cert, own_level};
use crate::config::{ClientRole, ServerVerify, Service};
use crate::status::CertInfo;
use crate::trust::{CaFile, Crls};

/// The configuration of `service`, whose client side is `client`, without
/// session state, and the digest of the certificates the server is checked
/// against followed by that of our own certificate (described in `certs`).
pub(super) fn config(
    service: &Service,
    client: &ClientRole,
    certs: &mut Vec<CertInfo>,
) -> Result<(ClientConfig, Vec<u8>), String> {
    let crls = Crls::load(&service.trust)?;
    let mut trust = digest_certs(&crls.ders);
    let verifier: Arc<dyn ServerCertVerifier> = match &client.verify {
        ServerVerify::Pinned(path) => {
            let pins = CaFile::load(path, &service.trust)?.certs;
            trust = digest_certs(&pins);
            checked::server(crate::peer_checks::ListedServer(pins))
        }
        ServerVerify::Insecure => Arc::new(AcceptAny),
        ServerVerify::Spki(pins) => {
            checked::server(crate::peer_checks::Pinned::servers(pins.clone()))
        }
        ServerVerify::Chain(Some(path)) => {
            let ca = CaFile::load(path, &service.trust)?;
            trust.extend(digest_certs(&ca.certs));
            checked::server(ServerChainVerifier::new(
                ca.anchors.clone(),
                ca.certs,
                client,
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
            checked::server(ServerChainVerifier::new(
                Arc::new(anchors),
                Vec::new(),
                client,
                crls,
            ))
        }
    };
    let verifier: Arc<dyn ServerCertVerifier> = if client.verify_names.is_empty() {
        verifier
    } else {
        checked::on_server(
            verifier,
            crate::peer_checks::NamesChecked {
                rules: client.verify_names.clone(),
                service: service.name.clone(),
            },
        )
    };
    let level = service.algorithms.security_level;
    let verifier: Arc<dyn ServerCertVerifier> = if crate::seclevel::bits(level) > 0 {
        let chains = client.verify != ServerVerify::Insecure;
        checked::on_server(verifier, crate::seclevel::Level { level, chains })
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
    config.key_log = crate::keylog::get();
    config.alpn_protocols = service.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    config.versions = service.algorithms.versions.clone();
    config.cipher_suites = service.algorithms.cipher_suites();
    config.groups = service.algorithms.groups.clone();
    config.classical_share_with_hybrid = service.algorithms.classical_share_with_hybrid;
    config.allow_no_ems = service.algorithms.allow_no_ems;
    Ok((config, trust))
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
        client: &ClientRole,
        crls: Crls,
    ) -> Self {
        let names = client
            .check_host
            .iter()
            .cloned()
            .chain(client.check_ip.iter().map(ToString::to_string))
            .collect();
        let policy = Policy {
            crls: crls.ders.clone(),
            ..Policy::new(KeyUsage::ServerAuth)
        };
        ServerChainVerifier {
            chain: WebPkiVerifier::with_policy(anchors, policy),
            listed,
            names,
            emails: client.check_email.clone(),
            crls,
        }
    }
}

impl Check for ServerChainVerifier {
    fn check(&self, peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        let (end_entity, intermediates, now) = (peer.end_entity, peer.intermediates, peer.now);
        let listed = self.listed.iter().any(|c| c.as_slice() == end_entity);
        if self.names.is_empty() && self.emails.is_empty() {
            if listed {
                // Trusted as it is, but only while valid: OpenSSL checks
                // the validity of every certificate of the path, the
                // trusted one included (stunnel refuses an expired one).
                return Ok(check_trusted_certificate(end_entity, None, now)?);
            }
            self.chain
                .verify_server_cert(end_entity, intermediates, peer.server_name, now)?;
            return self.crls.cover(end_entity, intermediates);
        }
        let mut outcome = Err(tls_core::Error::BadCertificate("no name to check"));
        for name in &self.names {
            outcome = if listed {
                check_trusted_certificate(end_entity, Some(name), now)
                    .map_err(tls_core::Error::from)
            } else {
                self.chain
                    .verify_server_cert(end_entity, intermediates, Some(name), now)
                    .map(|_| ())
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
                outcome = Ok(());
            }
        }
        if !listed && outcome.is_ok() {
            self.crls.cover(end_entity, intermediates)?;
        }
        outcome
    }
}
