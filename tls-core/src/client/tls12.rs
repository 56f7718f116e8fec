//! The client's TLS 1.2 handshake (RFC 5246 §7.3, ECDHE only), entered from
//! `client` when the server answers our hello with a TLS 1.2 ServerHello.
//!
//! Full: ServerHello → Certificate → [CertificateStatus] → ServerKeyExchange
//! → [CertificateRequest]
//! → ServerHelloDone; we send [Certificate] ClientKeyExchange
//! [CertificateVerify] ChangeCipherSpec Finished; then [NewSessionTicket]
//! → ChangeCipherSpec → Finished.
//! Abbreviated (session ID or RFC 5077 ticket): ServerHello →
//! [NewSessionTicket] → ChangeCipherSpec → Finished; we answer with
//! ChangeCipherSpec Finished.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::config::ClientConfig;
use crate::conn::common::{Common, Negotiated, Side};
use crate::crypto::{
    cert_spki, parse_spki, supported_group, KeyExchange, RecordKey12, Secret, SpkiAlg,
};
use crate::error::Error;
use crate::keylog;
use crate::msgs::enums::{ExtensionType, NamedGroup, ProtocolVersion};
use crate::msgs::extensions::ServerExtension;
use crate::msgs::handshake::{CertificateVerify, Finished, ServerHello};
use crate::msgs::handshake12::{
    signed_params, CertificateRequest12, Message12, NewSessionTicket12, ServerKeyExchange,
    ECDSA_SIGN, RSA_SIGN,
};
use crate::tls12::prf::{check_finished12, finished_verify_data, master_secret, record_keys};
use crate::tls12::session::{StoredSession12, DEFAULT_SESSION_LIFETIME};
use crate::tls12::suites::{ecdsa_curve, tls12_suite, Tls12Suite};
use crate::tls12::traffic::Traffic12;
use crate::tls12::transcript::Transcript12;
use crate::verify::{PeerAuth, ServerAuth, ServerCertVerified};

/// What the client's hello offered, handed over from the TLS 1.3 client.
pub(crate) struct Offer {
    pub config: Arc<ClientConfig>,
    pub server_name: Option<String>,
    pub sent_sni: bool,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    /// The TLS 1.2 session offered for resumption, if any.
    pub session: Option<StoredSession12>,
    /// The ClientHello as sent.
    pub client_hello: Vec<u8>,
}

/// What the client state machine moves to after a message.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next12 {
    /// Still handshaking.
    Handshaking(Box<ClientState12>),
    /// Handshake complete.
    Traffic(Box<Traffic12>),
}

/// The client's TLS 1.2 states, named for what each awaits.
#[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
pub(crate) enum ClientState12 {
    ExpectCertificate(Box<Handshake>),
    /// The ServerHello acknowledged our status_request: a CertificateStatus
    /// may come before the ServerKeyExchange (RFC 6066 §8).
    ExpectCertificateStatus(ExpectServerKeyExchange),
    ExpectServerKeyExchange(ExpectServerKeyExchange),
    ExpectServerHelloDone(ExpectServerHelloDone),
    ExpectNewSessionTicket(ExpectCcs),
    ExpectChangeCipherSpec(ExpectCcs),
    ExpectFinished(ExpectFinished),
}

/// What every state after the ServerHello carries.
pub(crate) struct Handshake {
    offer: Offer,
    suite: &'static Tls12Suite,
    server_random: [u8; 32],
    transcript: Transcript12,
    /// The server's session ID (empty if it keeps none).
    session_id: Vec<u8>,
    /// The server will send a NewSessionTicket.
    ticket_acked: bool,
    /// The server acknowledged our status_request: it may send a
    /// CertificateStatus.
    status_acked: bool,
    /// The ticket it sent.
    new_ticket: Option<NewSessionTicket12>,
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

    fn send_finished(&mut self, common: &mut Common, master: &Secret) -> Result<(), Error> {
        let verify_data = finished_verify_data(
            self.suite.hash,
            master.as_ref(),
            Side::Client,
            self.hash().as_ref(),
        );
        self.send(
            common,
            &Message12::Finished(Finished {
                verify_data: verify_data.to_vec(),
            }),
        )
    }
}

/// Continues a handshake whose ServerHello chose TLS 1.2.
pub(crate) fn start(
    common: &Common,
    offer: Offer,
    sh: ServerHello,
    encoded: &[u8],
) -> Result<ClientState12, Error> {
    let config = offer.config.clone();
    let suite = match tls12_suite(sh.cipher_suite) {
        Some(suite) if config.cipher_suites.contains(&sh.cipher_suite) => suite,
        _ => {
            return Err(Error::IllegalParameter(
                "server chose a cipher suite we did not offer",
            ))
        }
    };
    if sh.compression_method != 0 {
        return Err(Error::IllegalParameter("server chose compression"));
    }
    let (mut secure_renegotiation, mut ems, mut ticket_acked, mut alpn) =
        (false, false, false, None);
    let mut status_acked = false;
    for ext in sh.extensions {
        match ext {
            ServerExtension::RenegotiationInfo(v) if v.is_empty() => secure_renegotiation = true,
            ServerExtension::RenegotiationInfo(_) => {
                return Err(Error::HandshakeFailure("renegotiation_info not empty"))
            }
            ServerExtension::ExtendedMasterSecret => ems = true,
            ServerExtension::EcPointFormats(formats) if formats.contains(&0) => {}
            ServerExtension::EcPointFormats(_) => {
                return Err(Error::IllegalParameter("no uncompressed point format"))
            }
            ServerExtension::SessionTicket if config.session_store.is_some() => ticket_acked = true,
            ServerExtension::Alpn(protocol) if config.alpn_protocols.contains(&protocol) => {
                alpn = Some(protocol)
            }
            // ALPN we did not offer at all is unsolicited (RFC 5246 §7.4.1.4).
            ServerExtension::Alpn(_) if config.alpn_protocols.is_empty() => {
                return Err(Error::UnsupportedExtension("unsolicited ALPN"))
            }
            ServerExtension::Alpn(_) => {
                return Err(Error::IllegalParameter(
                    "server chose an ALPN protocol we did not offer",
                ))
            }
            // An echo of our supported_groups: allowed in TLS 1.2 (RFC 5246
            // §7.4.1.4: the client sent it), it carries nothing we use.
            ServerExtension::Unknown(u) if u.typ == ExtensionType::SupportedGroups.to_wire() => {}
            // An empty server_name acknowledges our SNI.
            ServerExtension::Unknown(u) if u.typ == 0 && u.data.is_empty() && offer.sent_sni => {}
            ServerExtension::Unknown(u)
                if config.request_ocsp && crate::stapling::is_server_hello_ack(u.typ, &u.data)? =>
            {
                status_acked = true
            }
            _ => {
                return Err(Error::UnsupportedExtension(
                    "unsolicited extension in ServerHello",
                ))
            }
        }
    }
    if !secure_renegotiation {
        return Err(Error::HandshakeFailure(
            "server does not support secure renegotiation",
        ));
    }
    if !ems && !config.allow_no_ems {
        return Err(Error::HandshakeFailure(
            "server does not support the extended master secret (RFC 7627)",
        ));
    }
    let mut transcript = Transcript12::new(suite.hash, &offer.client_hello);
    transcript.add(encoded);
    let resumed = !sh.session_id.is_empty() && sh.session_id == offer.session_id;
    let mut hs = Box::new(Handshake {
        negotiated: Negotiated {
            version: ProtocolVersion::Tls12,
            suite: suite.suite,
            group: NamedGroup::Unknown(0),
            alpn,
            server_name: offer.server_name.clone(),
            peer_certificates: Vec::new(),
            hello_retry: false,
            resumed,
            ocsp_response: None,
        },
        offer,
        suite,
        server_random: sh.random,
        transcript,
        session_id: sh.session_id,
        ticket_acked,
        status_acked,
        new_ticket: None,
        ems,
    });
    if !resumed {
        return Ok(ClientState12::ExpectCertificate(hs));
    }
    let session = match hs.offer.session.take() {
        Some(session) if session.suite == suite.suite && ems => session,
        _ => {
            return Err(Error::IllegalParameter(
                "server resumed a session we did not offer",
            ))
        }
    };
    hs.negotiated.peer_certificates = session.server_certificates.clone();
    hs.negotiated.group = session.group;
    common.log_secret(keylog::CLIENT_RANDOM, session.master.as_ref());
    let keys = record_keys(
        Side::Client,
        suite,
        session.master.as_ref(),
        &hs.offer.random,
        &hs.server_random,
    )?;
    let ccs = ExpectCcs {
        hs,
        master: session.master,
        read_key: keys.read,
        write_key: Some(keys.write),
        server_auth: ServerAuth::Resumed,
    };
    Ok(if ccs.hs.ticket_acked {
        ClientState12::ExpectNewSessionTicket(ccs)
    } else {
        ClientState12::ExpectChangeCipherSpec(ccs)
    })
}

impl ClientState12 {
    /// Handles one handshake message (`encoded` is its transcript form).
    pub(crate) fn handle(
        self,
        common: &mut Common,
        msg: Message12,
        encoded: &[u8],
    ) -> Result<Next12, Error> {
        use ClientState12 as S;
        let next = match (self, msg) {
            (S::ExpectCertificate(hs), Message12::Certificate(chain)) => {
                handle_certificate(hs, chain, encoded)?
            }
            (S::ExpectCertificateStatus(s), Message12::CertificateStatus(response)) => {
                s.handle_status(response, encoded)?
            }
            (
                S::ExpectCertificateStatus(s) | S::ExpectServerKeyExchange(s),
                Message12::ServerKeyExchange(ske),
            ) => s.handle(ske, encoded)?,
            (S::ExpectServerHelloDone(s), Message12::CertificateRequest(cr)) => {
                s.handle_request(cr, encoded)?
            }
            (S::ExpectServerHelloDone(s), Message12::ServerHelloDone) => {
                s.handle_done(common, encoded)?
            }
            (S::ExpectNewSessionTicket(mut s), Message12::NewSessionTicket(t)) => {
                s.hs.add(encoded);
                s.hs.new_ticket = Some(t);
                S::ExpectChangeCipherSpec(s)
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

    /// Handles the server's ChangeCipherSpec: allowed only right before its Finished.
    pub(crate) fn handle_ccs(self, common: &mut Common) -> Result<ClientState12, Error> {
        match self {
            ClientState12::ExpectChangeCipherSpec(s) => {
                common.set_tls12_read_key(s.read_key)?;
                Ok(ClientState12::ExpectFinished(ExpectFinished {
                    hs: s.hs,
                    master: s.master,
                    write_key: s.write_key,
                    server_auth: s.server_auth,
                }))
            }
            _ => Err(Error::UnexpectedMessage("ChangeCipherSpec out of order")),
        }
    }
}

/// The key type of a DER certificate.
fn cert_key_type(cert: &[u8]) -> Result<SpkiAlg, Error> {
    Ok(parse_spki(cert_spki(cert)?)?.alg)
}

fn handle_certificate(
    mut hs: Box<Handshake>,
    chain: Vec<Vec<u8>>,
    encoded: &[u8],
) -> Result<ClientState12, Error> {
    let mut chain = chain.into_iter();
    let end_entity = chain
        .next()
        .ok_or(Error::Decode("empty server Certificate"))?;
    let intermediates: Vec<Vec<u8>> = chain.collect();
    let config = &hs.offer.config;
    let verified = config.verifier.verify_server_cert(
        &end_entity,
        &intermediates,
        hs.offer.server_name.as_deref(),
        config.clock.now(),
    )?;
    crate::verify::check_peer_leaf_key_usage(&end_entity)?;
    let key_type = cert_key_type(&end_entity)?;
    if !hs.suite.auth.accepts(key_type) {
        return Err(Error::UnsupportedCertificate(
            "certificate key does not suit the cipher suite",
        ));
    }
    // RFC 8422 §5.3: an ECDSA certificate's curve MUST be one the client
    // offered in supported_groups (BoGo's CheckLeafCurve). TLS 1.3 names the
    // curve in the signature scheme instead.
    if ecdsa_curve(key_type).is_some_and(|c| !config.groups.contains(&c)) {
        return Err(Error::IllegalParameter(
            "certificate key on a curve we did not offer",
        ));
    }
    hs.add(encoded);
    hs.negotiated.peer_certificates.push(end_entity);
    hs.negotiated.peer_certificates.extend(intermediates);
    let next = ExpectServerKeyExchange { hs, verified };
    Ok(if next.hs.status_acked {
        ClientState12::ExpectCertificateStatus(next)
    } else {
        ClientState12::ExpectServerKeyExchange(next)
    })
}

/// Waiting for the signed ECDHE parameters; the chain is accepted.
pub(crate) struct ExpectServerKeyExchange {
    hs: Box<Handshake>,
    verified: ServerCertVerified,
}

impl ExpectServerKeyExchange {
    /// The stapled OCSP response, for the verifier; at most one, and only
    /// right after the Certificate (the state machine sees to both).
    fn handle_status(mut self, response: Vec<u8>, encoded: &[u8]) -> Result<ClientState12, Error> {
        let config = &self.hs.offer.config;
        if let Some((end_entity, intermediates)) =
            self.hs.negotiated.peer_certificates.split_first()
        {
            config.verifier.verify_stapled_ocsp(
                end_entity,
                intermediates,
                &response,
                config.clock.now(),
            )?;
        }
        self.hs.add(encoded);
        self.hs.negotiated.ocsp_response = Some(response);
        Ok(ClientState12::ExpectServerKeyExchange(self))
    }

    fn handle(mut self, ske: ServerKeyExchange, encoded: &[u8]) -> Result<ClientState12, Error> {
        let config = &self.hs.offer.config;
        if !config.groups.contains(&ske.group) || !supported_group(ske.group) {
            return Err(Error::IllegalParameter(
                "server chose a group we did not offer",
            ));
        }
        if !config
            .verifier
            .supported_tls12_schemes()
            .contains(&ske.scheme)
        {
            return Err(Error::IllegalParameter(
                "server signed with a scheme we did not offer",
            ));
        }
        let message = signed_params(&self.hs.offer.random, &self.hs.server_random, &ske.params());
        let end_entity = self
            .hs
            .negotiated
            .peer_certificates
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let signed = config.verifier.verify_tls12_signature(
            end_entity,
            ske.scheme,
            &message,
            &ske.signature,
        )?;
        self.hs.add(encoded);
        self.hs.negotiated.group = ske.group;
        Ok(ClientState12::ExpectServerHelloDone(
            ExpectServerHelloDone {
                kx: KeyExchange::generate(ske.group)?,
                server_public: ske.public,
                hs: self.hs,
                request: None,
                server_auth: ServerAuth::Certified(self.verified, signed),
            },
        ))
    }
}

/// Waiting for ServerHelloDone (or a CertificateRequest before it); the
/// server's chain is accepted and its key exchange signature checked.
pub(crate) struct ExpectServerHelloDone {
    hs: Box<Handshake>,
    kx: KeyExchange,
    server_public: Vec<u8>,
    request: Option<CertificateRequest12>,
    server_auth: ServerAuth,
}

impl ExpectServerHelloDone {
    fn handle_request(
        mut self,
        cr: CertificateRequest12,
        encoded: &[u8],
    ) -> Result<ClientState12, Error> {
        if self.request.is_some() {
            return Err(Error::UnexpectedMessage("second CertificateRequest"));
        }
        self.hs.add(encoded);
        self.request = Some(cr);
        Ok(ClientState12::ExpectServerHelloDone(self))
    }

    /// Sends our whole second flight.
    fn handle_done(self, common: &mut Common, encoded: &[u8]) -> Result<ClientState12, Error> {
        let mut hs = self.hs;
        hs.add(encoded);
        let public = self.kx.public_key().to_vec();
        let shared = self.kx.complete(&self.server_public)?;
        let config = hs.offer.config.clone();
        let signer = match &self.request {
            Some(request) => {
                let usable = config.client_cert.as_ref().and_then(|certified| {
                    let type_ok = match certified.key().alg() {
                        SpkiAlg::Rsa => request.cert_types.contains(&RSA_SIGN),
                        _ => request.cert_types.contains(&ECDSA_SIGN),
                    };
                    let scheme = certified.key().choose_tls12_scheme(&request.schemes)?;
                    type_ok.then_some((certified.clone(), scheme))
                });
                let chain = usable
                    .as_ref()
                    .map(|(c, _)| c.chain().to_vec())
                    .unwrap_or_default();
                hs.send(common, &Message12::Certificate(chain))?;
                usable
            }
            None => None,
        };
        hs.send(common, &Message12::ClientKeyExchange(public))?;
        let session_hash = hs.hash();
        let master = master_secret(
            hs.suite.hash,
            shared.as_ref(),
            hs.ems.then_some(session_hash.as_ref()),
            &hs.offer.random,
            &hs.server_random,
        )?;
        if let Some((certified, scheme)) = signer {
            let signature = certified.key().sign_tls12(scheme, hs.transcript.bytes())?;
            hs.send(
                common,
                &Message12::CertificateVerify(CertificateVerify { scheme, signature }),
            )?;
        }
        common.log_secret(keylog::CLIENT_RANDOM, master.as_ref());
        let keys = record_keys(
            Side::Client,
            hs.suite,
            master.as_ref(),
            &hs.offer.random,
            &hs.server_random,
        )?;
        common.send_ccs();
        common.set_tls12_write_key(keys.write);
        hs.send_finished(common, &master)?;
        let ccs = ExpectCcs {
            hs,
            master,
            read_key: keys.read,
            write_key: None,
            server_auth: self.server_auth,
        };
        Ok(if ccs.hs.ticket_acked {
            ClientState12::ExpectNewSessionTicket(ccs)
        } else {
            ClientState12::ExpectChangeCipherSpec(ccs)
        })
    }
}

/// Waiting for the server's ChangeCipherSpec (or a NewSessionTicket before it).
pub(crate) struct ExpectCcs {
    hs: Box<Handshake>,
    master: Secret,
    read_key: RecordKey12,
    /// Our key, still to be installed when resuming (we send our Finished last).
    write_key: Option<RecordKey12>,
    server_auth: ServerAuth,
}

/// Waiting for the server's Finished, its records now protected.
pub(crate) struct ExpectFinished {
    hs: Box<Handshake>,
    master: Secret,
    write_key: Option<RecordKey12>,
    server_auth: ServerAuth,
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
            Side::Server,
            hs.hash().as_ref(),
            &finished.verify_data,
        )?;
        hs.add(encoded);
        if let Some(write_key) = self.write_key {
            common.send_ccs();
            common.set_tls12_write_key(write_key);
            hs.send_finished(common, &self.master)?;
        }
        store_session(&hs, &self.master, common);
        let traffic = Traffic12::new(
            hs.suite,
            self.master,
            hs.offer.random,
            hs.server_random,
            PeerAuth::from(self.server_auth),
            verified,
        );
        common.handshake_complete(hs.negotiated)?;
        Ok(traffic)
    }
}

/// Keeps the session for resumption when it can be resumed: it used the
/// extended master secret and the server named it by ID or ticket.
fn store_session(hs: &Handshake, master: &Secret, common: &Common) {
    let (Some(store), Some(name)) = (&hs.offer.config.session_store, &hs.offer.server_name) else {
        return;
    };
    let (ticket, lifetime) = match &hs.new_ticket {
        Some(t) if !t.ticket.is_empty() => {
            let hint = if t.lifetime_hint == 0 {
                DEFAULT_SESSION_LIFETIME
            } else {
                t.lifetime_hint
            };
            (
                t.ticket.clone(),
                hint.min(crate::tickets::MAX_TICKET_LIFETIME),
            )
        }
        _ => (Vec::new(), DEFAULT_SESSION_LIFETIME),
    };
    if !hs.ems || (ticket.is_empty() && hs.session_id.is_empty()) {
        return;
    }
    store.put_tls12(
        name,
        StoredSession12 {
            suite: hs.suite.suite,
            group: hs.negotiated.group,
            session_id: hs.session_id.clone(),
            ticket,
            master: master.clone(),
            received_at: common.now(),
            lifetime,
            server_certificates: hs.negotiated.peer_certificates.clone(),
        },
    );
}
