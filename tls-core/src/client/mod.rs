//! The client's TLS 1.3 handshake: one state per expected message, each
//! holding only what the next step needs.

pub(crate) mod tls12;

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::ClientConfig;
use crate::conn::{Common, Negotiated, Side};
use crate::crypto::{tls13_suite, KeyExchange, Secret, Suite, Transcript};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::{
    ClientExtension, EncryptedExtension, HrrExtension, KeyShareEntry, ServerExtension,
};
use crate::msgs::handshake::{
    CertificatePayload, CertificateRequest, ClientHello, EncryptedExtensions, Finished,
    HandshakeMessage, HelloRetryRequest, ServerHello,
};
use crate::psk::{Offer, ServerPsk, PSK_DHE_KE};
use crate::tickets::StoredTicket;
use crate::tls12::session::StoredSession12;
use crate::tls13::certificate as tls13;
use crate::tls13::key_schedule::{
    check_finished, finished_verify_data, EarlySecret, HandshakeSecret,
};
use crate::tls13::traffic::{AppSecrets, TicketSink, Traffic};
use crate::verify::{ServerCertVerified, SignatureVerified};
use crate::versions;

/// What the client state machine moves to after a message (transient, so
/// the size difference between variants does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next {
    /// Still handshaking.
    Handshaking(ClientState),
    /// Handshake complete.
    Traffic(Traffic),
    /// The server chose TLS 1.2.
    Tls12(crate::client::tls12::ClientState12),
}

/// The client's handshake states.
#[allow(clippy::enum_variant_names, clippy::large_enum_variant)] // named for the message each awaits; boxed by Connection
pub(crate) enum ClientState {
    ExpectServerHello(ExpectServerHello),
    ExpectEncryptedExtensions(ExpectEncryptedExtensions),
    ExpectCertificate(ExpectCertificate),
    ExpectCertificateVerify(ExpectCertificateVerify),
    ExpectFinished(ExpectFinished),
}

/// What stays fixed for the whole handshake.
struct Hello {
    config: Arc<ClientConfig>,
    /// The name given by the caller (for the verifier).
    server_name: Option<String>,
    /// True when the name went out as SNI.
    sent_sni: bool,
    random: [u8; 32],
    session_id: Vec<u8>,
    hello_retry: bool,
    /// The ticket offered for resumption, if any.
    ticket: Option<StoredTicket>,
    /// TLS 1.3 is offered.
    offer_tls13: bool,
    /// TLS 1.2 is offered.
    offer_tls12: bool,
    /// The TLS 1.2 session offered for resumption, if any.
    session12: Option<StoredSession12>,
    /// The configured external PSK is offered (after the ticket, if any).
    offer_external: bool,
}

/// Starts a handshake: queues the ClientHello.
pub(crate) fn start(
    config: Arc<ClientConfig>,
    server_name: Option<&str>,
    common: &mut Common,
) -> Result<ClientState, Error> {
    let first_group = *config
        .groups
        .first()
        .ok_or(Error::Internal("no groups configured"))?;
    let versions = crate::versions::enabled_versions(&config.versions, &config.cipher_suites);
    if versions.is_empty() {
        return Err(Error::Internal("no supported cipher suite configured"));
    }
    let offer_tls13 = versions.contains(&ProtocolVersion::Tls13);
    let offer_tls12 = versions.contains(&ProtocolVersion::Tls12);
    let mut random = [0u8; 32];
    let mut session_id = [0u8; 32];
    config.rng.fill(&mut random).map_err(|_| Error::Entropy)?;
    config
        .rng
        .fill(&mut session_id)
        .map_err(|_| Error::Entropy)?;
    let sent_sni = server_name.is_some_and(|n| n.parse::<core::net::IpAddr>().is_err());
    let now = config.clock.now();
    let ticket = match (&config.session_store, server_name) {
        (Some(store), Some(name)) if offer_tls13 => store
            .take(name, now)
            .filter(|t| config.cipher_suites.contains(&t.suite) && tls13_suite(t.suite).is_some()),
        _ => None,
    };
    let session12 = match (&config.session_store, server_name) {
        (Some(store), Some(name)) if offer_tls12 => store
            .take_tls12(name, now)
            .filter(|s| config.cipher_suites.contains(&s.suite)),
        _ => None,
    };
    // Resumption by session ID sends the server's ID; with a ticket (or for
    // TLS 1.3 middlebox compatibility) a random one. A TLS 1.2-only client
    // with no session to resume sends none (RFC 5246 §7.4.1.2).
    let session_id = match &session12 {
        Some(s) if s.ticket.is_empty() && !s.session_id.is_empty() => s.session_id.clone(),
        None if !offer_tls13 => Vec::new(),
        _ => session_id.to_vec(),
    };
    let config_has_psk = config.external_psk.is_some();
    let hello = Hello {
        server_name: server_name.map(ToString::to_string),
        config,
        sent_sni,
        random,
        session_id,
        hello_retry: false,
        ticket,
        offer_tls13,
        offer_tls12,
        session12,
        offer_external: offer_tls13 && config_has_psk,
    };
    // A key share is only for TLS 1.3; a TLS 1.2-only hello carries none.
    let key_share = if offer_tls13 {
        Some(KeyExchange::generate(first_group)?)
    } else {
        None
    };
    let encoded = hello.encode_hello(key_share.as_ref(), None, None)?;
    common.send_initial_hello(&encoded);
    Ok(ClientState::ExpectServerHello(ExpectServerHello {
        hello,
        key_share,
        first_hello: encoded,
        after_retry: None,
    }))
}

impl Hello {
    /// The encoded ClientHello, with psk_key_exchange_modes when we keep
    /// tickets and, when resuming, the ticket and its binder computed over
    /// `prefix` (the transcript before this hello) and the truncated hello.
    fn encode_hello(
        &self,
        key_share: Option<&KeyExchange>,
        cookie: Option<&[u8]>,
        prefix: Option<&Transcript>,
    ) -> Result<Vec<u8>, Error> {
        let mut ch = self.client_hello(key_share, cookie);
        let external = self
            .config
            .external_psk
            .as_ref()
            .filter(|_| self.offer_external);
        if (self.config.session_store.is_some() || external.is_some()) && self.offer_tls13 {
            ch.extensions
                .push(ClientExtension::PskKeyExchangeModes(vec![PSK_DHE_KE]));
        }
        let now = self.config.clock.now();
        let mut offers = Vec::new();
        if let Some(ticket) = &self.ticket {
            let hash = tls13_suite(ticket.suite)
                .ok_or(Error::Internal("ticket suite"))?
                .hash;
            offers.push(Offer::ticket(ticket, hash, now));
        }
        offers.extend(external.map(Offer::external));
        crate::psk::encode_with_binders(ch, &offers, prefix)
    }

    fn client_hello(&self, key_share: Option<&KeyExchange>, cookie: Option<&[u8]>) -> ClientHello {
        let config = &self.config;
        let mut extensions = Vec::new();
        if let (true, Some(name)) = (self.sent_sni, &self.server_name) {
            extensions.push(ClientExtension::ServerName(name.as_bytes().to_vec()));
        }
        let mut versions = Vec::new();
        if self.offer_tls13 {
            versions.push(ProtocolVersion::Tls13);
        }
        if self.offer_tls12 {
            versions.push(ProtocolVersion::Tls12);
        }
        if self.offer_tls13 {
            extensions.push(ClientExtension::SupportedVersions(versions));
        }
        extensions.push(ClientExtension::SupportedGroups(config.groups.clone()));
        let mut schemes = config.verifier.supported_schemes().to_vec();
        if self.offer_tls12 {
            for scheme in config.verifier.supported_tls12_schemes() {
                if !schemes.contains(scheme) {
                    schemes.push(*scheme);
                }
            }
        }
        extensions.push(ClientExtension::SignatureAlgorithms(schemes));
        if let Some(key_share) = key_share {
            extensions.push(ClientExtension::KeyShare(vec![KeyShareEntry {
                group: key_share.group(),
                key_exchange: key_share.public_key().to_vec(),
            }]));
        }
        if self.offer_tls12 {
            // RFC 7627, RFC 5746, RFC 8422 (uncompressed points only), RFC 5077.
            extensions.push(ClientExtension::ExtendedMasterSecret);
            extensions.push(ClientExtension::RenegotiationInfo(Vec::new()));
            extensions.push(ClientExtension::EcPointFormats(vec![0]));
            if config.session_store.is_some() {
                let ticket = self
                    .session12
                    .as_ref()
                    .map(|s| s.ticket.clone())
                    .unwrap_or_default();
                extensions.push(ClientExtension::SessionTicket(ticket));
            }
        }
        if !config.alpn_protocols.is_empty() {
            extensions.push(ClientExtension::Alpn(config.alpn_protocols.clone()));
        }
        if config.request_ocsp {
            extensions.push(crate::stapling::client_hello_extension());
        }
        if let Some(cookie) = cookie {
            extensions.push(ClientExtension::Cookie(cookie.to_vec()));
        }
        let cipher_suites = config
            .cipher_suites
            .iter()
            .copied()
            .filter(|cs| {
                (self.offer_tls13 && tls13_suite(*cs).is_some())
                    || (self.offer_tls12 && crate::tls12::suites::tls12_suite(*cs).is_some())
            })
            .collect();
        ClientHello {
            legacy_version: 0x0303,
            random: self.random,
            session_id: self.session_id.clone(),
            cipher_suites,
            compression_methods: vec![0],
            extensions,
        }
    }

    /// The suite the server chose, if we offered it.
    fn offered_suite(&self, chosen: CipherSuite) -> Result<&'static Suite, Error> {
        match tls13_suite(chosen) {
            Some(suite) if self.config.cipher_suites.contains(&chosen) => Ok(suite),
            _ => Err(Error::IllegalParameter(
                "server chose a cipher suite we did not offer",
            )),
        }
    }

    fn check_echo(&self, session_id: &[u8], compression: u8) -> Result<(), Error> {
        if session_id != self.session_id {
            return Err(Error::IllegalParameter(
                "server did not echo our session id",
            ));
        }
        if compression != 0 {
            return Err(Error::IllegalParameter("server chose compression"));
        }
        Ok(())
    }
}

impl ClientState {
    /// Handles one handshake message (`encoded` is its transcript form).
    pub fn handle(
        self,
        common: &mut Common,
        msg: HandshakeMessage,
        encoded: &[u8],
    ) -> Result<Next, Error> {
        let next = match (self, msg) {
            (ClientState::ExpectServerHello(s), HandshakeMessage::ServerHello(sh)) => {
                if sh.supported_version().is_none() {
                    return s.into_tls12(sh, encoded).map(Next::Tls12);
                }
                s.handle_server_hello(common, sh, encoded)?
            }
            (ClientState::ExpectServerHello(s), HandshakeMessage::HelloRetryRequest(hrr)) => {
                s.handle_retry(common, hrr, encoded)?
            }
            (
                ClientState::ExpectEncryptedExtensions(s),
                HandshakeMessage::EncryptedExtensions(ee),
            ) => s.handle(ee, encoded)?,
            (ClientState::ExpectCertificate(s), HandshakeMessage::CertificateRequest(cr)) => {
                s.handle_request(cr, encoded)?
            }
            (ClientState::ExpectCertificate(s), HandshakeMessage::Certificate(c)) => {
                s.handle(c, encoded)?
            }
            (ClientState::ExpectCertificateVerify(s), HandshakeMessage::CertificateVerify(cv)) => {
                s.handle(cv, encoded)?
            }
            (ClientState::ExpectFinished(s), HandshakeMessage::Finished(f)) => {
                return s.handle(common, f, encoded).map(Next::Traffic);
            }
            (_, _) => return Err(Error::UnexpectedMessage("handshake message out of order")),
        };
        Ok(Next::Handshaking(next))
    }
}

/// Waiting for ServerHello or HelloRetryRequest.
pub(crate) struct ExpectServerHello {
    hello: Hello,
    /// Our TLS 1.3 key share; `None` when only TLS 1.2 is offered.
    key_share: Option<KeyExchange>,
    /// The first ClientHello as sent, hashed once the suite is known.
    first_hello: Vec<u8>,
    /// After a HelloRetryRequest: the transcript so far and the suite it fixed.
    after_retry: Option<(Transcript, &'static Suite)>,
}

impl ExpectServerHello {
    /// A ServerHello without supported_versions: TLS 1.2 (RFC 8446 §4.1.3).
    fn into_tls12(
        self,
        sh: ServerHello,
        encoded: &[u8],
    ) -> Result<crate::client::tls12::ClientState12, Error> {
        let hello = self.hello;
        if hello.offer_tls13 && versions::has_downgrade_sentinel(&sh.random) {
            return Err(Error::IllegalParameter("downgrade sentinel in ServerHello"));
        }
        if !hello.offer_tls12 || sh.legacy_version != 0x0303 {
            return Err(Error::ProtocolVersion);
        }
        if self.after_retry.is_some() {
            return Err(Error::IllegalParameter(
                "TLS 1.2 ServerHello after a HelloRetryRequest",
            ));
        }
        let offer = crate::client::tls12::Offer {
            config: hello.config,
            server_name: hello.server_name,
            sent_sni: hello.sent_sni,
            random: hello.random,
            session_id: hello.session_id,
            session: hello.session12,
            client_hello: self.first_hello,
        };
        crate::client::tls12::start(offer, sh, encoded)
    }

    fn handle_server_hello(
        self,
        common: &mut Common,
        sh: ServerHello,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
        let mut hello = self.hello;
        match sh.supported_version() {
            Some(ProtocolVersion::Tls13) if hello.offer_tls13 => {}
            Some(_) => {
                return Err(Error::IllegalParameter(
                    "server chose a version we did not offer",
                ))
            }
            None if versions::has_downgrade_sentinel(&sh.random) => {
                return Err(Error::IllegalParameter("downgrade sentinel in ServerHello"))
            }
            None => return Err(Error::ProtocolVersion),
        }
        if sh.legacy_version != 0x0303 {
            return Err(Error::IllegalParameter(
                "ServerHello legacy_version is not TLS 1.2",
            ));
        }
        hello.check_echo(&sh.session_id, sh.compression_method)?;
        let suite = hello.offered_suite(sh.cipher_suite)?;
        let (mut key_share, mut psk) = (None, None);
        for ext in &sh.extensions {
            match ext {
                ServerExtension::SupportedVersions(_) => {}
                ServerExtension::KeyShare(share) => key_share = Some(share),
                ServerExtension::PreSharedKey(index) => psk = Some(*index),
                _ => {
                    return Err(Error::UnsupportedExtension(
                        "unsolicited extension in ServerHello",
                    ))
                }
            }
        }
        let share = key_share.ok_or(Error::MissingExtension("key_share"))?;
        let ours = self
            .key_share
            .ok_or(Error::Internal("TLS 1.3 chosen without a key share"))?;
        if share.group != ours.group() {
            return Err(Error::IllegalParameter(
                "server key share is not for our group",
            ));
        }
        let group = share.group;
        let shared = ours.complete(&share.key_exchange)?;
        let mut transcript = match self.after_retry {
            Some((_, retry_suite)) if !core::ptr::eq(retry_suite, suite) => {
                return Err(Error::IllegalParameter(
                    "ServerHello suite differs from HelloRetryRequest",
                ))
            }
            Some((transcript, _)) => transcript,
            None => {
                let mut t = Transcript::new(suite.hash);
                t.update(&self.first_hello);
                t
            }
        };
        transcript.update(encoded);
        let external = hello.config.external_psk.as_ref();
        let external = external.filter(|_| hello.offer_external).cloned();
        let psk = crate::psk::selected(psk, hello.ticket.take(), external, suite)?;
        let early = EarlySecret::new(suite.hash, psk.as_ref().map(ServerPsk::secret));
        let secrets = HandshakeSecrets::derive(early, shared, &transcript);
        if !hello.hello_retry {
            // Middlebox compatibility: the dummy ChangeCipherSpec goes before
            // anything we protect, so an alert we send while the server's
            // flight is read follows it too, as peers in compatibility mode
            // expect (RFC 8446 §D.4; after a HelloRetryRequest it went before
            // the second ClientHello).
            common.send_ccs();
        }
        common.set_keys(suite, secrets.server.as_ref(), secrets.client.as_ref())?;
        Ok(ClientState::ExpectEncryptedExtensions(
            ExpectEncryptedExtensions {
                hello,
                suite,
                group,
                transcript,
                secrets,
                psk,
            },
        ))
    }

    fn handle_retry(
        self,
        common: &mut Common,
        hrr: HelloRetryRequest,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
        let mut hello = self.hello;
        if self.after_retry.is_some() {
            return Err(Error::UnexpectedMessage("second HelloRetryRequest"));
        }
        if hrr.supported_version() != Some(ProtocolVersion::Tls13) || !hello.offer_tls13 {
            return Err(Error::IllegalParameter("HelloRetryRequest without TLS 1.3"));
        }
        hello.check_echo(&hrr.session_id, hrr.compression_method)?;
        let suite = hello.offered_suite(hrr.cipher_suite)?;
        let (mut group, mut cookie) = (None, None);
        for ext in &hrr.extensions {
            match ext {
                HrrExtension::SupportedVersions(_) => {}
                HrrExtension::KeyShare(g) => group = Some(*g),
                HrrExtension::Cookie(c) => cookie = Some(c.as_slice()),
                HrrExtension::Unknown(_) => {
                    return Err(Error::UnsupportedExtension(
                        "unsolicited extension in HelloRetryRequest",
                    ))
                }
            }
        }
        let ours = self.key_share.ok_or(Error::IllegalParameter(
            "HelloRetryRequest for a version we did not offer",
        ))?;
        let key_share = match group {
            None if cookie.is_none() => {
                return Err(Error::IllegalParameter(
                    "HelloRetryRequest would not change the hello",
                ))
            }
            None => ours,
            Some(g) if g == ours.group() || !hello.config.groups.contains(&g) => {
                return Err(Error::IllegalParameter(
                    "HelloRetryRequest asks for an unusable group",
                ))
            }
            Some(g) => KeyExchange::generate(g)?,
        };
        let mut transcript = Transcript::for_hello_retry(suite.hash, &self.first_hello);
        transcript.update(encoded);
        hello.hello_retry = true;
        // Middlebox compatibility: a dummy ChangeCipherSpec before the second flight.
        common.send_ccs();
        // A PSK whose hash differs from the chosen suite's cannot be offered now.
        if hello
            .ticket
            .as_ref()
            .and_then(|t| tls13_suite(t.suite))
            .is_some_and(|t| t.hash != suite.hash)
        {
            hello.ticket = None;
        }
        if hello
            .config
            .external_psk
            .as_ref()
            .is_some_and(|psk| psk.hash() != suite.hash)
        {
            hello.offer_external = false;
        }
        let second = hello.encode_hello(Some(&key_share), cookie, Some(&transcript))?;
        transcript.update(&second);
        common.send_handshake(&second)?;
        Ok(ClientState::ExpectServerHello(ExpectServerHello {
            hello,
            key_share: Some(key_share),
            first_hello: Vec::new(),
            after_retry: Some((transcript, suite)),
        }))
    }
}

/// The handshake secret and the two handshake traffic secrets.
struct HandshakeSecrets {
    schedule: HandshakeSecret,
    client: Secret,
    server: Secret,
}

impl HandshakeSecrets {
    fn derive(early: EarlySecret, shared: Secret, transcript: &Transcript) -> Self {
        let schedule = early.into_handshake(shared.as_ref());
        let hello_hash = transcript.current();
        HandshakeSecrets {
            client: schedule.client_traffic(hello_hash.as_ref()),
            server: schedule.server_traffic(hello_hash.as_ref()),
            schedule,
        }
    }
}

/// Waiting for EncryptedExtensions.
pub(crate) struct ExpectEncryptedExtensions {
    hello: Hello,
    suite: &'static Suite,
    group: NamedGroup,
    transcript: Transcript,
    secrets: HandshakeSecrets,
    /// The PSK the server accepted, if any.
    psk: Option<ServerPsk>,
}

impl ExpectEncryptedExtensions {
    fn handle(mut self, ee: EncryptedExtensions, encoded: &[u8]) -> Result<ClientState, Error> {
        let mut alpn = None;
        for ext in ee.extensions {
            match ext {
                EncryptedExtension::ServerName if self.hello.sent_sni => {}
                EncryptedExtension::SupportedGroups(_) => {}
                EncryptedExtension::Alpn(_) if self.hello.config.alpn_protocols.is_empty() => {
                    // ALPN we did not offer at all is unsolicited (RFC 8446 §4.2).
                    return Err(Error::UnsupportedExtension("unsolicited ALPN"));
                }
                EncryptedExtension::Alpn(protocol) => {
                    if !self.hello.config.alpn_protocols.contains(&protocol) {
                        return Err(Error::IllegalParameter(
                            "server chose an ALPN protocol we did not offer",
                        ));
                    }
                    alpn = Some(protocol);
                }
                _ => {
                    return Err(Error::UnsupportedExtension(
                        "unsolicited extension in EncryptedExtensions",
                    ))
                }
            }
        }
        self.transcript.update(encoded);
        let negotiated = Negotiated {
            version: ProtocolVersion::Tls13,
            suite: self.suite.suite,
            group: self.group,
            alpn,
            server_name: self.hello.server_name.clone(),
            peer_certificates: Vec::new(),
            hello_retry: self.hello.hello_retry,
            resumed: false,
            ocsp_response: None,
        };
        let mut state = ExpectCertificate {
            negotiated,
            hello: self.hello,
            suite: self.suite,
            transcript: self.transcript,
            secrets: self.secrets,
            certificate_requested: None,
        };
        Ok(match self.psk {
            // The server was authenticated in the session being resumed.
            Some(ServerPsk::Ticket(ticket)) => {
                state.negotiated.resumed = true;
                state.negotiated.peer_certificates = ticket.server_certificates;
                ClientState::ExpectFinished(ExpectFinished {
                    inner: state,
                    _server_auth: ServerAuth::Resumed,
                })
            }
            // No certificate: the server's Finished will prove it holds the key.
            Some(ServerPsk::External(_)) => ClientState::ExpectFinished(ExpectFinished {
                inner: state,
                _server_auth: ServerAuth::ExternalPsk,
            }),
            None => ClientState::ExpectCertificate(state),
        })
    }
}

/// Waiting for the server's Certificate (or a CertificateRequest before it).
pub(crate) struct ExpectCertificate {
    hello: Hello,
    suite: &'static Suite,
    transcript: Transcript,
    secrets: HandshakeSecrets,
    negotiated: Negotiated,
    /// The server's CertificateRequest, if it sent one.
    certificate_requested: Option<CertificateRequest>,
}

impl ExpectCertificate {
    fn handle_request(
        mut self,
        request: CertificateRequest,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
        if self.certificate_requested.is_some() {
            return Err(Error::UnexpectedMessage("second CertificateRequest"));
        }
        if !request.context.is_empty() {
            return Err(Error::IllegalParameter(
                "CertificateRequest context in the handshake",
            ));
        }
        self.transcript.update(encoded);
        self.certificate_requested = Some(request);
        Ok(ClientState::ExpectCertificate(self))
    }

    fn handle(mut self, payload: CertificatePayload, encoded: &[u8]) -> Result<ClientState, Error> {
        if !payload.context.is_empty() {
            return Err(Error::IllegalParameter(
                "server Certificate has a request context",
            ));
        }
        let config = &self.hello.config;
        let ocsp = crate::stapling::tls13_leaf_response(&payload.entries, config.request_ocsp)?;
        let mut chain = payload.entries.into_iter().map(|entry| entry.cert);
        let end_entity = chain
            .next()
            .ok_or(Error::Decode("empty server Certificate"))?;
        let intermediates: Vec<Vec<u8>> = chain.collect();
        let now = config.clock.now();
        let verified = config.verifier.verify_server_cert(
            &end_entity,
            &intermediates,
            self.hello.server_name.as_deref(),
            now,
        )?;
        if let Some(response) = &ocsp {
            config
                .verifier
                .verify_stapled_ocsp(&end_entity, &intermediates, response, now)?;
        }
        self.negotiated.ocsp_response = ocsp;
        self.transcript.update(encoded);
        self.negotiated.peer_certificates.push(end_entity);
        self.negotiated.peer_certificates.extend(intermediates);
        Ok(ClientState::ExpectCertificateVerify(
            ExpectCertificateVerify {
                inner: self,
                _verified: verified,
            },
        ))
    }
}

/// Waiting for the server's CertificateVerify; the chain is already accepted.
pub(crate) struct ExpectCertificateVerify {
    inner: ExpectCertificate,
    _verified: ServerCertVerified,
}

impl ExpectCertificateVerify {
    fn handle(
        self,
        cv: crate::msgs::handshake::CertificateVerify,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
        let mut s = self.inner;
        let verifier = &s.hello.config.verifier;
        let signed = crate::tls13::certificate::check_certificate_verify(
            true,
            verifier.supported_schemes(),
            &s.transcript,
            &s.negotiated.peer_certificates,
            &cv,
            |cert, scheme, message, signature| {
                verifier.verify_tls13_signature(cert, scheme, message, signature)
            },
        )?;
        s.transcript.update(encoded);
        Ok(ClientState::ExpectFinished(ExpectFinished {
            inner: s,
            _server_auth: ServerAuth::Signed(signed),
        }))
    }
}

/// Waiting for the server's Finished; its signature is already checked.
pub(crate) struct ExpectFinished {
    inner: ExpectCertificate,
    _server_auth: ServerAuth,
}

/// How the server proved itself before its Finished.
enum ServerAuth {
    /// Its CertificateVerify signature checked out.
    Signed(SignatureVerified),
    /// It resumed a session whose server was authenticated then.
    Resumed,
    /// It accepted our external PSK; its Finished, keyed from the PSK,
    /// proves it holds the key.
    ExternalPsk,
}

impl ExpectFinished {
    fn handle(
        self,
        common: &mut Common,
        finished: Finished,
        encoded: &[u8],
    ) -> Result<Traffic, Error> {
        let ExpectCertificate {
            hello,
            suite,
            mut transcript,
            secrets,
            negotiated,
            certificate_requested,
        } = self.inner;
        let verified = check_finished(
            suite.hash,
            secrets.server.as_ref(),
            transcript.current().as_ref(),
            &finished.verify_data,
        )?;
        transcript.update(encoded);
        let handshake_hash = transcript.current();
        let master = secrets.schedule.into_master();
        let app = AppSecrets::derive(&master, handshake_hash.as_ref());
        common.set_read_key(crate::crypto::TrafficKey::from_secret(suite, app.server())?)?;
        if let Some(request) = certificate_requested {
            send_client_certificate(common, &hello.config, request, &mut transcript)?;
        }
        let verify_data = finished_verify_data(
            suite.hash,
            secrets.client.as_ref(),
            transcript.current().as_ref(),
        );
        let ours = HandshakeMessage::Finished(Finished {
            verify_data: verify_data.as_ref().to_vec(),
        });
        common.send_message(&ours, &mut transcript)?;
        common.set_write_key(crate::crypto::TrafficKey::from_secret(suite, app.client())?);
        let sink = match (&hello.config.session_store, hello.server_name) {
            (Some(store), Some(server_name)) => Some(TicketSink {
                store: store.clone(),
                server_name,
                server_certificates: negotiated.peer_certificates.clone(),
            }),
            _ => None,
        };
        common.handshake_complete(negotiated)?;
        let resumption = master.resumption(transcript.current().as_ref());
        Ok(Traffic::new(Side::Client, suite, app, resumption, verified).with_ticket_sink(sink))
    }
}

/// Answers a CertificateRequest: our chain and a CertificateVerify when we
/// have a certificate whose key can sign with a scheme the server accepts,
/// otherwise an empty Certificate (RFC 8446 §4.4.2).
fn send_client_certificate(
    common: &mut Common,
    config: &ClientConfig,
    request: CertificateRequest,
    transcript: &mut Transcript,
) -> Result<(), Error> {
    let offered = request.signature_algorithms().unwrap_or_default();
    let signer = config
        .client_cert
        .as_deref()
        .and_then(|certified| Some((certified, certified.key().choose_tls13_scheme(offered)?)));
    tls13::send_certificate(common, request.context, signer, None, false, transcript)
}
