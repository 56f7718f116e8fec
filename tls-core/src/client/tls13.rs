//! The client's TLS 1.3 handshake after the hello (RFC 8446 §4): the
//! ServerHello or HelloRetryRequest, the handshake keys installed, then one
//! state per encrypted server message (EncryptedExtensions, Certificate or
//! CertificateRequest, CertificateVerify, Finished); the client's own
//! Certificate and Finished, and the application keys installed, end it.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::ClientConfig;
use crate::conn::common::{Common, Negotiated, Side};
use crate::crypto::{supported_tls13_group, tls13_suite, KeyExchange, Secret, Suite, Transcript};
use crate::error::Error;
use crate::msgs::enums::{ExtensionType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::{EncryptedExtension, HrrExtension, ServerExtension};
use crate::msgs::handshake::{
    CertificatePayload, CertificateRequest, EncryptedExtensions, Finished, HandshakeMessage,
    HelloRetryRequest, ServerHello,
};
use crate::psk::ServerPsk;
use crate::tls13::certificate;
use crate::tls13::key_schedule::{
    check_finished, finished_verify_data, EarlySecret, HandshakeSecret, HandshakeTrafficSecrets,
};
use crate::tls13::traffic::{AppSecrets, TicketSink, Traffic};
use crate::verify::{PeerAuth, ServerAuth, ServerCertVerified};
use crate::versions;

use super::{ClientState, ExpectServerHello, Hello};

impl ExpectServerHello {
    /// A TLS 1.3 ServerHello: checked against our hello, the (EC)DHE share
    /// and any PSK completed, and the handshake keys installed.
    pub(super) fn handle_server_hello(
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
                // Recognised, but not specified for a TLS 1.3 ServerHello
                // (RFC 8446 §4.2: illegal_parameter).
                ServerExtension::Unknown(u)
                    if u.typ == ExtensionType::SupportedGroups.to_wire() =>
                {
                    return Err(Error::IllegalParameter(
                        "extension not allowed in server_hello",
                    ))
                }
                _ => {
                    return Err(Error::UnsupportedExtension(
                        "unsolicited extension in ServerHello",
                    ))
                }
            }
        }
        let share = key_share.ok_or(Error::MissingExtension("key_share"))?;
        if self.key_shares.is_empty() {
            return Err(Error::Internal("TLS 1.3 chosen without a key share"));
        }
        // The server's share must answer one of ours (RFC 8446 §4.2.8);
        // after a HelloRetryRequest we sent one, for the group it named.
        let ours = self
            .key_shares
            .into_iter()
            .find(|kx| kx.offers(share.group))
            .ok_or(Error::IllegalParameter(
                "server key share is not for our group",
            ))?;
        let group = share.group;
        let shared = ours.complete_for(group, &share.key_exchange)?;
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
        common.set_handshake_keys(suite, &secrets.traffic)?;
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

    /// A HelloRetryRequest: checked, then the second ClientHello sent.
    pub(super) fn handle_retry(
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
        let ours = self.key_shares;
        if ours.is_empty() {
            return Err(Error::IllegalParameter(
                "HelloRetryRequest for a version we did not offer",
            ));
        }
        // RFC 8446 §4.1.4: the group must be one we offered in
        // supported_groups and not one we already sent a share for.
        let key_shares = match group {
            None if cookie.is_none() => {
                return Err(Error::IllegalParameter(
                    "HelloRetryRequest would not change the hello",
                ))
            }
            None => ours,
            Some(g)
                if ours.iter().any(|kx| kx.offers(g))
                    || !hello.config.groups.contains(&g)
                    || !supported_tls13_group(g) =>
            {
                return Err(Error::IllegalParameter(
                    "HelloRetryRequest asks for an unusable group",
                ))
            }
            Some(g) => vec![KeyExchange::start(g, hello.config.rng.as_ref())?],
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
        let second = hello.encode_hello(&key_shares, cookie, Some(&transcript))?;
        transcript.update(&second);
        common.send_handshake(&second)?;
        Ok(ClientState::ExpectServerHello(ExpectServerHello {
            hello,
            key_shares,
            first_hello: Vec::new(),
            after_retry: Some((transcript, suite)),
        }))
    }
}

/// The handshake secret and the two handshake traffic secrets.
struct HandshakeSecrets {
    schedule: HandshakeSecret,
    traffic: HandshakeTrafficSecrets,
}

impl HandshakeSecrets {
    fn derive(early: EarlySecret, shared: Secret, transcript: &Transcript) -> Self {
        let schedule = early.into_handshake(shared.as_ref());
        let hello_hash = transcript.current();
        HandshakeSecrets {
            traffic: schedule.traffic_secrets(hello_hash.as_ref()),
            schedule,
        }
    }
}

/// Waiting for EncryptedExtensions.
pub(crate) struct ExpectEncryptedExtensions {
    hello: Box<Hello>,
    suite: &'static Suite,
    group: NamedGroup,
    transcript: Transcript,
    secrets: HandshakeSecrets,
    /// The PSK the server accepted, if any.
    psk: Option<ServerPsk>,
}

impl ExpectEncryptedExtensions {
    pub(super) fn handle(
        mut self,
        ee: EncryptedExtensions,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
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
                    server_auth: ServerAuth::Resumed,
                })
            }
            // No certificate: the server's Finished will prove it holds the key.
            Some(ServerPsk::External(_)) => ClientState::ExpectFinished(ExpectFinished {
                inner: state,
                server_auth: ServerAuth::ExternalPsk,
            }),
            None => ClientState::ExpectCertificate(state),
        })
    }
}

/// Waiting for the server's Certificate (or a CertificateRequest before it).
pub(crate) struct ExpectCertificate {
    hello: Box<Hello>,
    suite: &'static Suite,
    transcript: Transcript,
    secrets: HandshakeSecrets,
    negotiated: Negotiated,
    /// The server's CertificateRequest, if it sent one.
    certificate_requested: Option<CertificateRequest>,
}

impl ExpectCertificate {
    pub(super) fn handle_request(
        mut self,
        request: CertificateRequest,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
        if self.certificate_requested.is_some() {
            return Err(Error::UnexpectedMessage("second CertificateRequest"));
        }
        // The context "SHALL be zero length" in the handshake (RFC 8446
        // §4.3.2): a longer one is out of the field's range, decode_error
        // (§6.2), as BoringSSL answers it.
        if !request.context.is_empty() {
            return Err(Error::Decode("CertificateRequest context in the handshake"));
        }
        self.transcript.update(encoded);
        self.certificate_requested = Some(request);
        Ok(ClientState::ExpectCertificate(self))
    }

    pub(super) fn handle(
        mut self,
        payload: CertificatePayload,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
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
        crate::verify::check_peer_leaf_key_usage(&end_entity)?;
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
                verified,
            },
        ))
    }
}

/// Waiting for the server's CertificateVerify; the chain is already accepted.
pub(crate) struct ExpectCertificateVerify {
    inner: ExpectCertificate,
    verified: ServerCertVerified,
}

impl ExpectCertificateVerify {
    pub(super) fn handle(
        self,
        cv: crate::msgs::handshake::CertificateVerify,
        encoded: &[u8],
    ) -> Result<ClientState, Error> {
        let mut s = self.inner;
        let verifier = &s.hello.config.verifier;
        let signed = crate::tls13::certificate::check_certificate_verify(
            Side::Server,
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
            server_auth: ServerAuth::Certified(self.verified, signed),
        }))
    }
}

/// Waiting for the server's Finished; how it proved itself before it is
/// settled.
pub(crate) struct ExpectFinished {
    inner: ExpectCertificate,
    server_auth: ServerAuth,
}

impl ExpectFinished {
    pub(super) fn handle(
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
            secrets.traffic.server().as_ref(),
            transcript.current().as_ref(),
            &finished.verify_data,
        )?;
        transcript.update(encoded);
        let handshake_hash = transcript.current();
        let master = secrets.schedule.into_master();
        let app = AppSecrets::derive(&master, handshake_hash.as_ref(), common);
        app.install_read_key(common, suite)?;
        // Certificate, CertificateVerify, Finished: one flight, packed.
        common.begin_flight();
        if let Some(request) = certificate_requested {
            send_client_certificate(common, &hello.config, request, &mut transcript)?;
        }
        let verify_data = finished_verify_data(
            suite.hash,
            secrets.traffic.client().as_ref(),
            transcript.current().as_ref(),
        );
        let ours = HandshakeMessage::Finished(Finished {
            verify_data: verify_data.as_ref().to_vec(),
        });
        common.send_message(&ours, &mut transcript)?;
        common.end_flight()?;
        app.install_write_key(common, suite)?;
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
        let peer_auth = PeerAuth::from(self.server_auth);
        Ok(Traffic::new(suite, app, resumption, peer_auth, verified).with_ticket_sink(sink))
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
    certificate::send_certificate(common, request.context, signer, None, transcript)
}
