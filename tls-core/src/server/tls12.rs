//! The server's TLS 1.2 handshake (RFC 5246 §7.3, ECDHE only), entered
//! from `server` when [`crate::versions::choose_version`] picks TLS 1.2.
//!
//! Full: ClientHello → we send ServerHello Certificate ServerKeyExchange
//! [CertificateRequest] ServerHelloDone → [Certificate] → ClientKeyExchange →
//! [CertificateVerify] → ChangeCipherSpec → Finished; we send
//! [NewSessionTicket] ChangeCipherSpec Finished.
//! Abbreviated (ticket or session ID): we send ServerHello [NewSessionTicket]
//! ChangeCipherSpec Finished → ChangeCipherSpec → Finished.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use zeroize::{Zeroize, Zeroizing};

use crate::config::{ClientHelloInfo, ServerConfig};
use crate::conn::common::{Common, Negotiated, Side};
use crate::crypto::{supported_group, KeyExchange, RecordKey12, Secret};
use crate::error::Error;
use crate::keylog;
use crate::msgs::enums::{CipherSuite, ExtensionType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::{ClientExtension, ServerExtension};
use crate::msgs::handshake::{
    CertificateVerify, ClientHello, Finished, HandshakeMessage, ServerHello,
};
use crate::msgs::handshake12::{
    ecdh_params, signed_params, CertificateRequest12, Message12, NewSessionTicket12,
    ServerKeyExchange, ECDSA_SIGN, RSA_SIGN,
};
use crate::tls12::prf::{
    check_finished12, finished_verify_data, master_secret, record_keys, RecordKeys12,
};
use crate::tls12::session::{ServerSession12, DEFAULT_SESSION_LIFETIME};
use crate::tls12::suites::{ecdsa_curve, tls12_suite, Tls12Suite};
use crate::tls12::traffic::Traffic12;
use crate::tls12::transcript::Transcript12;
use crate::verify::{ClientAuth, ClientCertVerified, ClientCertVerifier, PeerAuth};
use crate::versions::{enabled_versions, DOWNGRADE_TLS12};

/// What the server state machine moves to after a message.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next12 {
    /// Still handshaking.
    Handshaking(Box<ServerState12>),
    /// Handshake complete.
    Traffic(Box<Traffic12>),
}

/// The server's TLS 1.2 states, named for what each awaits.
#[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
pub(crate) enum ServerState12 {
    ExpectCertificate(ExpectCertificate),
    ExpectClientKeyExchange(ExpectClientKeyExchange),
    ExpectCertificateVerify(ExpectCertificateVerify),
    ExpectChangeCipherSpec(ExpectCcs),
    ExpectFinished(ExpectFinished),
}

/// What every state after the ClientHello carries.
pub(crate) struct Handshake {
    config: Arc<ServerConfig>,
    suite: &'static Tls12Suite,
    client_random: [u8; 32],
    server_random: [u8; 32],
    transcript: Transcript12,
    /// The session ID we gave (empty if none).
    session_id: Vec<u8>,
    /// We promised a NewSessionTicket.
    send_ticket: bool,
    ems: bool,
    negotiated: Negotiated,
}

impl Handshake {
    fn add(&mut self, encoded: &[u8]) {
        self.transcript.add(encoded);
    }

    fn hash(&self) -> crate::crypto::HashOutput {
        self.transcript.hash()
    }

    fn send(&mut self, common: &mut Common, msg: &Message12) -> Result<(), Error> {
        self.transcript.send(common, &msg.to_vec())
    }

    fn send_server_hello(&mut self, common: &mut Common, sh: ServerHello) -> Result<(), Error> {
        self.transcript
            .send(common, &HandshakeMessage::ServerHello(sh).to_vec())
    }

    /// [NewSessionTicket], ChangeCipherSpec, Finished.
    fn send_final_flight(
        &mut self,
        common: &mut Common,
        master: &Secret,
        write_key: RecordKey12,
    ) -> Result<(), Error> {
        if self.send_ticket {
            let ticket = self.seal_ticket(master, common).unwrap_or_default();
            let lifetime_hint = self.config.ticketer.as_ref().map_or(0, |t| t.lifetime());
            self.send(
                common,
                &Message12::NewSessionTicket(NewSessionTicket12 {
                    lifetime_hint,
                    ticket,
                }),
            )?;
        }
        common.send_ccs();
        common.set_tls12_write_key(write_key);
        let verify_data = finished_verify_data(
            self.suite.hash,
            master.as_ref(),
            Side::Server,
            self.hash().as_ref(),
        );
        self.send(
            common,
            &Message12::Finished(Finished {
                verify_data: verify_data.to_vec(),
            }),
        )
    }

    fn session(&self, master: &Secret, common: &Common) -> ServerSession12 {
        ServerSession12 {
            suite: self.suite.suite,
            group: self.negotiated.group,
            master: Zeroizing::new(master.as_ref().to_vec()),
            issued_at: common.now().0,
            lifetime: self.config.session_lifetime.unwrap_or_else(|| {
                self.config
                    .ticketer
                    .as_ref()
                    .map_or(DEFAULT_SESSION_LIFETIME, |t| t.lifetime())
            }),
            client_certificates: self.negotiated.peer_certificates.clone(),
        }
    }

    fn seal_ticket(&self, master: &Secret, common: &Common) -> Option<Vec<u8>> {
        let ticketer = self.config.ticketer.as_ref()?;
        let mut plain = self.session(master, common).encode();
        let ticket = ticketer.encrypt(&plain, common.now());
        plain.zeroize();
        ticket
    }

    /// Remembers a full handshake's session under its ID.
    fn cache_session(&self, master: &Secret, common: &Common) {
        if let (Some(cache), false) = (&self.config.session_cache, self.session_id.is_empty()) {
            cache.put(&self.session_id, self.session(master, common).encode());
        }
    }
}

/// Starts a TLS 1.2 handshake from the ClientHello: resumes a session if the
/// client offers one we can, otherwise sends the full first flight.
pub(crate) fn start(
    common: &mut Common,
    config: Arc<ServerConfig>,
    ch: ClientHello,
    encoded: &[u8],
) -> Result<ServerState12, Error> {
    if !ch.compression_methods.contains(&0) {
        return Err(Error::IllegalParameter(
            "ClientHello lacks null compression",
        ));
    }
    let mut secure_renegotiation = ch
        .cipher_suites
        .contains(&CipherSuite::EmptyRenegotiationInfoScsv);
    let mut ticket_ext = None;
    for ext in &ch.extensions {
        match ext {
            ClientExtension::RenegotiationInfo(v) if v.is_empty() => secure_renegotiation = true,
            ClientExtension::RenegotiationInfo(_) => {
                return Err(Error::HandshakeFailure("renegotiation_info not empty"))
            }
            ClientExtension::EcPointFormats(f) if !f.contains(&0) => {
                return Err(Error::IllegalParameter("no uncompressed point format"))
            }
            ClientExtension::SessionTicket(t) => ticket_ext = Some(t.as_slice()),
            _ => {}
        }
    }
    if !secure_renegotiation {
        return Err(Error::HandshakeFailure(
            "client does not support secure renegotiation",
        ));
    }
    let ems = ch.has(ExtensionType::ExtendedMasterSecret);
    if !ems && !config.allow_no_ems {
        return Err(Error::HandshakeFailure(
            "client does not support the extended master secret (RFC 7627)",
        ));
    }
    let server_name = match ch.server_name() {
        Some(name) => Some(crate::server::host_name(name)?),
        None => None,
    };
    let alpn = choose_alpn(&config, &ch)?;
    let send_ticket = ticket_ext.is_some() && config.ticketer.is_some();
    let mut server_random = [0u8; 32];
    config
        .rng
        .fill(&mut server_random)
        .map_err(|_| Error::Entropy)?;
    if enabled_versions(&config.versions, &config.cipher_suites).contains(&ProtocolVersion::Tls13) {
        server_random[24..].copy_from_slice(&DOWNGRADE_TLS12);
    }
    let negotiated = Negotiated {
        version: ProtocolVersion::Tls12,
        suite: CipherSuite::Unknown(0),
        group: NamedGroup::Unknown(0),
        alpn,
        server_name,
        peer_certificates: Vec::new(),
        hello_retry: false,
        resumed: false,
        ocsp_response: None,
    };
    let mut extensions = vec![ServerExtension::RenegotiationInfo(Vec::new())];
    if ems {
        extensions.push(ServerExtension::ExtendedMasterSecret);
    }
    if send_ticket {
        extensions.push(ServerExtension::SessionTicket);
    }
    if let Some(protocol) = &negotiated.alpn {
        extensions.push(ServerExtension::Alpn(protocol.clone()));
    }
    let resumable = if ems {
        find_session(&config, &ch, ticket_ext, common)
    } else {
        None
    };
    if let Some(session) = resumable {
        return resume(
            common,
            config,
            ch,
            encoded,
            session,
            server_random,
            extensions,
            send_ticket,
            negotiated,
        );
    }
    full_handshake(
        common,
        config,
        ch,
        encoded,
        server_random,
        extensions,
        send_ticket,
        ems,
        negotiated,
    )
}

/// The ALPN protocol: our most preferred one the client offered.
fn choose_alpn(config: &ServerConfig, ch: &ClientHello) -> Result<Option<Vec<u8>>, Error> {
    let offered = ch.alpn().unwrap_or_default();
    if config.alpn_protocols.is_empty() || offered.is_empty() {
        return Ok(None);
    }
    config
        .alpn_protocols
        .iter()
        .find(|p| offered.contains(p))
        .cloned()
        .map(Some)
        .ok_or(Error::NoApplicationProtocol)
}

/// A session the client offered (by ticket, else by session ID) that is
/// fresh and whose suite the client and we still accept.
fn find_session(
    config: &ServerConfig,
    ch: &ClientHello,
    ticket: Option<&[u8]>,
    common: &Common,
) -> Option<ServerSession12> {
    let now = common.now();
    let usable = |plain: Vec<u8>| {
        let mut plain = Zeroizing::new(plain);
        let session = ServerSession12::decode(&plain)?;
        plain.zeroize();
        let suite_ok = ch.cipher_suites.contains(&session.suite)
            && config.cipher_suites.contains(&session.suite)
            && tls12_suite(session.suite).is_some();
        (session.fresh(now) && suite_ok).then_some(session)
    };
    let from_ticket = match (ticket, &config.ticketer) {
        (Some(t), Some(ticketer)) if !t.is_empty() => ticketer.decrypt(t, now).and_then(usable),
        _ => None,
    };
    from_ticket.or_else(|| match &config.session_cache {
        Some(cache) if !ch.session_id.is_empty() => cache.get(&ch.session_id).and_then(usable),
        _ => None,
    })
}

#[allow(clippy::too_many_arguments)]
fn resume(
    common: &mut Common,
    config: Arc<ServerConfig>,
    ch: ClientHello,
    encoded: &[u8],
    session: ServerSession12,
    server_random: [u8; 32],
    extensions: Vec<ServerExtension>,
    send_ticket: bool,
    mut negotiated: Negotiated,
) -> Result<ServerState12, Error> {
    let suite = tls12_suite(session.suite).ok_or(Error::Internal("session suite"))?;
    negotiated.suite = suite.suite;
    negotiated.group = session.group;
    negotiated.resumed = true;
    negotiated.peer_certificates = session.client_certificates;
    let master = Secret::from_slice(&session.master)?;
    let mut hs = Box::new(Handshake {
        config,
        suite,
        client_random: ch.random,
        server_random,
        transcript: Transcript12::new(suite.hash, encoded),
        session_id: ch.session_id.clone(),
        send_ticket,
        ems: true,
        negotiated,
    });
    hs.send_server_hello(
        common,
        ServerHello {
            legacy_version: 0x0303,
            random: server_random,
            session_id: ch.session_id,
            cipher_suite: suite.suite,
            compression_method: 0,
            extensions,
        },
    )?;
    common.log_secret(keylog::CLIENT_RANDOM, master.as_ref());
    let keys = record_keys(
        Side::Server,
        suite,
        master.as_ref(),
        &hs.client_random,
        &hs.server_random,
    )?;
    hs.send_final_flight(common, &master, keys.write)?;
    Ok(ServerState12::ExpectChangeCipherSpec(ExpectCcs {
        hs,
        master,
        read_key: keys.read,
        write_key: None,
        client_auth: ClientAuth::Resumed12,
    }))
}

#[allow(clippy::too_many_arguments)]
fn full_handshake(
    common: &mut Common,
    config: Arc<ServerConfig>,
    ch: ClientHello,
    encoded: &[u8],
    server_random: [u8; 32],
    mut extensions: Vec<ServerExtension>,
    send_ticket: bool,
    ems: bool,
    mut negotiated: Negotiated,
) -> Result<ServerState12, Error> {
    // Without signature_algorithms a TLS 1.2 client means SHA-1, which we never use.
    let schemes = ch
        .signature_algorithms()
        .ok_or(Error::HandshakeFailure("no signature scheme in common"))?;
    let offered_groups = ch.supported_groups().unwrap_or_default();
    let info = ClientHelloInfo {
        server_name: negotiated.server_name.as_deref(),
        signature_schemes: schemes,
        alpn: ch.alpn().unwrap_or_default(),
        version: ProtocolVersion::Tls12,
        groups: offered_groups,
        cipher_suites: &ch.cipher_suites,
    };
    let certified = match config.cert_resolver.resolve(&info) {
        Some(certified) => certified,
        None if negotiated.server_name.is_some() => return Err(Error::UnrecognizedName),
        None => return Err(Error::HandshakeFailure("no certificate to present")),
    };
    let key_type = certified.key().alg();
    // No suite in common is the first reason to give (a client offering
    // only CBC or static-RSA suites sends no supported_groups either).
    let suite = config
        .cipher_suites
        .iter()
        .filter(|cs| ch.cipher_suites.contains(cs))
        .filter_map(|cs| tls12_suite(*cs))
        .find(|s| s.auth.accepts(key_type))
        .ok_or(Error::HandshakeFailure("no cipher suite in common"))?;
    // In TLS 1.2 the client's groups also bound the curve of an ECDSA
    // certificate (RFC 8422 §5.3): a resolver with several certificates
    // presents one that fits (`ClientHelloInfo::accepts_key`).
    if ecdsa_curve(key_type).is_some_and(|c| !offered_groups.contains(&c)) {
        return Err(Error::HandshakeFailure(
            "certificate key on a curve the client did not offer",
        ));
    }
    let scheme = certified
        .key()
        .choose_tls12_scheme(schemes)
        .ok_or(Error::HandshakeFailure("no signature scheme in common"))?;
    let group = config
        .groups
        .iter()
        .copied()
        .find(|g| supported_group(*g) && offered_groups.contains(g))
        .ok_or(Error::HandshakeFailure("no key exchange group in common"))?;
    negotiated.suite = suite.suite;
    negotiated.group = group;
    let mut session_id = Vec::new();
    if config.session_cache.is_some() && ems {
        session_id = vec![0u8; 32];
        config
            .rng
            .fill(&mut session_id)
            .map_err(|_| Error::Entropy)?;
    }
    if ch.has(ExtensionType::EcPointFormats) {
        extensions.push(ServerExtension::EcPointFormats(vec![0]));
    }
    let staple = crate::stapling::for_hello(&config, &ch, &certified);
    if staple.is_some() {
        extensions.push(ServerExtension::Unknown(
            crate::stapling::server_hello_extension(),
        ));
    }
    let mut hs = Box::new(Handshake {
        config: config.clone(),
        suite,
        client_random: ch.random,
        server_random,
        transcript: Transcript12::new(suite.hash, encoded),
        session_id: session_id.clone(),
        send_ticket,
        ems,
        negotiated,
    });
    hs.send_server_hello(
        common,
        ServerHello {
            legacy_version: 0x0303,
            random: server_random,
            session_id,
            cipher_suite: suite.suite,
            compression_method: 0,
            extensions,
        },
    )?;
    hs.send(common, &Message12::Certificate(certified.chain().to_vec()))?;
    if let Some(staple) = &staple {
        hs.transcript
            .send(common, &crate::stapling::tls12_message(staple))?;
    }
    let kx = KeyExchange::generate(group)?;
    let params = ecdh_params(group, kx.public_key());
    let signature = certified.key().sign_tls12(
        scheme,
        &signed_params(&hs.client_random, &hs.server_random, &params),
    )?;
    hs.send(
        common,
        &Message12::ServerKeyExchange(ServerKeyExchange {
            group,
            public: kx.public_key().to_vec(),
            scheme,
            signature,
        }),
    )?;
    let verifier = config.client_verifier.clone();
    if let Some(verifier) = &verifier {
        hs.send(
            common,
            &Message12::CertificateRequest(CertificateRequest12 {
                cert_types: vec![RSA_SIGN, ECDSA_SIGN],
                schemes: verifier.supported_tls12_schemes().to_vec(),
                authorities: verifier.root_hint_subjects().to_vec(),
            }),
        )?;
    }
    hs.send(common, &Message12::ServerHelloDone)?;
    Ok(match verifier {
        Some(verifier) => ServerState12::ExpectCertificate(ExpectCertificate { hs, kx, verifier }),
        None => ServerState12::ExpectClientKeyExchange(ExpectClientKeyExchange {
            hs,
            kx,
            client: PendingClientAuth::Settled(ClientAuth::NotRequested),
        }),
    })
}

impl ServerState12 {
    /// Handles one handshake message (`encoded` is its transcript form).
    pub(crate) fn handle(
        self,
        common: &mut Common,
        msg: Message12,
        encoded: &[u8],
    ) -> Result<Next12, Error> {
        use ServerState12 as S;
        let next = match (self, msg) {
            (S::ExpectCertificate(s), Message12::Certificate(chain)) => {
                s.handle(common, chain, encoded)?
            }
            (S::ExpectClientKeyExchange(s), Message12::ClientKeyExchange(point)) => {
                s.handle(common, point, encoded)?
            }
            (S::ExpectCertificateVerify(s), Message12::CertificateVerify(cv)) => {
                s.handle(cv, encoded)?
            }
            (S::ExpectFinished(s), Message12::Finished(f)) => {
                return s
                    .handle(common, f, encoded)
                    .map(|t| Next12::Traffic(Box::new(t)))
            }
            (_, _) => return Err(Error::UnexpectedMessage("handshake message out of order")),
        };
        Ok(Next12::Handshaking(Box::new(next)))
    }

    /// Handles the client's ChangeCipherSpec: allowed only right before its Finished.
    pub(crate) fn handle_ccs(self, common: &mut Common) -> Result<ServerState12, Error> {
        match self {
            ServerState12::ExpectChangeCipherSpec(s) => {
                common.set_tls12_read_key(s.read_key)?;
                Ok(ServerState12::ExpectFinished(ExpectFinished {
                    hs: s.hs,
                    master: s.master,
                    write_key: s.write_key,
                    client_auth: s.client_auth,
                }))
            }
            _ => Err(Error::UnexpectedMessage("ChangeCipherSpec out of order")),
        }
    }
}

/// Where client authentication stands when the ClientKeyExchange comes.
enum PendingClientAuth {
    /// Settled: nothing more to check.
    Settled(ClientAuth),
    /// The client's chain was accepted; a CertificateVerify signed with its
    /// key must follow the ClientKeyExchange (RFC 5246 §7.4.8).
    SignatureDue {
        chain: ClientCertVerified,
        verifier: Arc<dyn ClientCertVerifier>,
    },
}

/// Waiting for the client's Certificate, which we asked for.
pub(crate) struct ExpectCertificate {
    hs: Box<Handshake>,
    kx: KeyExchange,
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ExpectCertificate {
    fn handle(
        self,
        common: &mut Common,
        chain: Vec<Vec<u8>>,
        encoded: &[u8],
    ) -> Result<ServerState12, Error> {
        let mut hs = self.hs;
        hs.add(encoded);
        let mut chain = chain.into_iter();
        let Some(end_entity) = chain.next() else {
            if self.verifier.mandatory() {
                return Err(Error::CertificateRequired);
            }
            return Ok(ServerState12::ExpectClientKeyExchange(
                ExpectClientKeyExchange {
                    hs,
                    kx: self.kx,
                    client: PendingClientAuth::Settled(ClientAuth::NoneOffered),
                },
            ));
        };
        let intermediates: Vec<Vec<u8>> = chain.collect();
        let verified =
            self.verifier
                .verify_client_cert(&end_entity, &intermediates, common.now())?;
        crate::verify::check_peer_leaf_key_usage(&end_entity)?;
        let certificates = &mut hs.negotiated.peer_certificates;
        certificates.push(end_entity);
        certificates.extend(intermediates);
        Ok(ServerState12::ExpectClientKeyExchange(
            ExpectClientKeyExchange {
                hs,
                kx: self.kx,
                client: PendingClientAuth::SignatureDue {
                    chain: verified,
                    verifier: self.verifier,
                },
            },
        ))
    }
}

/// Waiting for the client's key share.
pub(crate) struct ExpectClientKeyExchange {
    hs: Box<Handshake>,
    kx: KeyExchange,
    /// Whether a CertificateVerify follows.
    client: PendingClientAuth,
}

impl ExpectClientKeyExchange {
    fn handle(
        self,
        common: &Common,
        point: Vec<u8>,
        encoded: &[u8],
    ) -> Result<ServerState12, Error> {
        let mut hs = self.hs;
        let shared = self.kx.complete(&point)?;
        hs.add(encoded);
        let session_hash = hs.hash();
        let master = master_secret(
            hs.suite.hash,
            shared.as_ref(),
            hs.ems.then_some(session_hash.as_ref()),
            &hs.client_random,
            &hs.server_random,
        )?;
        common.log_secret(keylog::CLIENT_RANDOM, master.as_ref());
        let keys = record_keys(
            Side::Server,
            hs.suite,
            master.as_ref(),
            &hs.client_random,
            &hs.server_random,
        )?;
        Ok(match self.client {
            PendingClientAuth::Settled(client_auth) => {
                ServerState12::ExpectChangeCipherSpec(ExpectCcs {
                    hs,
                    master,
                    read_key: keys.read,
                    write_key: Some(keys.write),
                    client_auth,
                })
            }
            PendingClientAuth::SignatureDue { chain, verifier } => {
                ServerState12::ExpectCertificateVerify(ExpectCertificateVerify {
                    hs,
                    master,
                    keys,
                    chain,
                    verifier,
                })
            }
        })
    }
}

/// Waiting for the client's CertificateVerify over the handshake so far;
/// its chain is accepted.
pub(crate) struct ExpectCertificateVerify {
    hs: Box<Handshake>,
    master: Secret,
    keys: RecordKeys12,
    chain: ClientCertVerified,
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ExpectCertificateVerify {
    fn handle(self, cv: CertificateVerify, encoded: &[u8]) -> Result<ServerState12, Error> {
        let mut hs = self.hs;
        if !self.verifier.supported_tls12_schemes().contains(&cv.scheme) {
            return Err(Error::IllegalParameter(
                "client signed with a scheme we did not offer",
            ));
        }
        let end_entity = hs
            .negotiated
            .peer_certificates
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let signed = self.verifier.verify_tls12_signature(
            end_entity,
            cv.scheme,
            hs.transcript.bytes(),
            &cv.signature,
        )?;
        hs.add(encoded);
        Ok(ServerState12::ExpectChangeCipherSpec(ExpectCcs {
            hs,
            master: self.master,
            read_key: self.keys.read,
            write_key: Some(self.keys.write),
            client_auth: ClientAuth::Certified(self.chain, signed),
        }))
    }
}

/// Waiting for the client's ChangeCipherSpec.
pub(crate) struct ExpectCcs {
    hs: Box<Handshake>,
    master: Secret,
    read_key: RecordKey12,
    /// Our key, still to be installed after a full handshake (we send our
    /// Finished last then).
    write_key: Option<RecordKey12>,
    client_auth: ClientAuth,
}

/// Waiting for the client's Finished, its records now protected.
pub(crate) struct ExpectFinished {
    hs: Box<Handshake>,
    master: Secret,
    write_key: Option<RecordKey12>,
    client_auth: ClientAuth,
}

impl ExpectFinished {
    fn handle(
        self,
        common: &mut Common,
        finished: Finished,
        encoded: &[u8],
    ) -> Result<Traffic12, Error> {
        let mut hs = self.hs;
        let verified = check_finished12(
            hs.suite.hash,
            self.master.as_ref(),
            Side::Client,
            hs.hash().as_ref(),
            &finished.verify_data,
        )?;
        hs.add(encoded);
        if let Some(write_key) = self.write_key {
            hs.send_final_flight(common, &self.master, write_key)?;
            if hs.ems {
                hs.cache_session(&self.master, common);
            }
        }
        let traffic = Traffic12::new(
            hs.suite,
            self.master,
            hs.client_random,
            hs.server_random,
            PeerAuth::from(self.client_auth),
            verified,
        );
        common.handshake_complete(hs.negotiated)?;
        Ok(traffic)
    }
}
