//! The server's TLS 1.3 handshake (RFC 8446 §4): the ClientHello (possibly
//! twice, around a HelloRetryRequest), our flight from ServerHello to
//! Finished with the handshake and application keys installed, then the
//! client's Certificate, CertificateVerify and Finished, and tickets.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::{CertifiedKey, ClientHelloInfo, ServerConfig};
use crate::conn::common::{Common, Negotiated, Side};
use crate::crypto::{supported_tls13_group, tls13_suite, KeyExchange, Suite, Transcript};
use crate::error::Error;
use crate::msgs::enums::{NamedGroup, ProtocolVersion, SignatureScheme};
use crate::msgs::extensions::{
    CertReqExtension, EncryptedExtension, HrrExtension, KeyShareEntry, ServerExtension,
};
use crate::msgs::handshake::{
    CertificatePayload, CertificateRequest, CertificateVerify, ClientHello, EncryptedExtensions,
    Finished, HandshakeMessage, HelloRetryRequest, NewSessionTicket, ServerHello,
};
use crate::psk::{AcceptedPsk, PskKind, PSK_DHE_KE};
use crate::tickets::ServerSession;
use crate::tls13::certificate;
use crate::tls13::key_schedule::{
    check_finished, finished_verify_data, resumption_psk, EarlySecret, HandshakeTrafficSecrets,
    MasterSecret,
};
use crate::tls13::traffic::{AppSecrets, Traffic};
use crate::verify::{ClientAuth, ClientCertVerified, ClientCertVerifier, PeerAuth};
use zeroize::{Zeroize, Zeroizing};

use super::{host_name, ServerState};

/// What a HelloRetryRequest fixed, for checking the second ClientHello.
pub(super) struct RetrySent {
    suite: &'static Suite,
    group: NamedGroup,
    cookie: Vec<u8>,
    transcript: Transcript,
    first_random: [u8; 32],
    sent_ccs: bool,
    /// The first ClientHello offered a PSK we would have accepted with `suite`.
    psk_usable: bool,
}

/// Waiting for a ClientHello (the second one when `retry` is set).
pub(crate) struct ExpectClientHello {
    pub(super) config: Arc<ServerConfig>,
    pub(super) retry: Option<RetrySent>,
}

/// Everything chosen from a ClientHello.
struct Choices {
    suite: &'static Suite,
    share: KeyShareEntry,
    auth: Authentication,
    alpn: Option<Vec<u8>>,
    server_name: Option<String>,
    /// The client takes tickets for psk_dhe_ke resumption.
    wants_tickets: bool,
}

/// How the server proves itself in this handshake.
enum Authentication {
    /// With a certificate and a signature made with its key.
    Certificate {
        certified: Arc<CertifiedKey>,
        scheme: SignatureScheme,
    },
    /// By a PSK (a ticket we issued, or an external PSK) whose binder
    /// checked out.
    Psk(AcceptedPsk),
}

impl ExpectClientHello {
    pub(super) fn handle(
        self,
        common: &mut Common,
        ch: ClientHello,
        encoded: &[u8],
    ) -> Result<ServerState, Error> {
        match ch.supported_versions() {
            Some(versions) if versions.contains(&ProtocolVersion::Tls13) => {}
            _ => return Err(Error::ProtocolVersion),
        }
        if ch.compression_methods != [0] {
            return Err(Error::IllegalParameter(
                "TLS 1.3 ClientHello offers compression",
            ));
        }
        // RFC 8446 §4.2.9: a pre_shared_key without psk_key_exchange_modes
        // MUST abort, whether or not we would resume (found by fuzz/differential).
        if ch.pre_shared_key().is_some() && ch.psk_modes().is_none() {
            return Err(Error::MissingExtension("psk_key_exchange_modes"));
        }
        // RFC 8446 §9.2: without a pre_shared_key, signature_algorithms is
        // required; abort now rather than after a HelloRetryRequest.
        if ch.pre_shared_key().is_none() && ch.signature_algorithms().is_none() {
            return Err(Error::MissingExtension("signature_algorithms"));
        }
        let suite = match &self.retry {
            Some(retry) => {
                self.check_second_hello(&ch, retry)?;
                retry.suite
            }
            None => self.choose_suite(&ch)?,
        };
        let Some(share) = self.choose_share(&ch)? else {
            return self.send_retry(common, ch, suite, encoded);
        };
        let (mut transcript, retried) = match &self.retry {
            Some(retry) => (
                retry.transcript.clone(),
                Attempt::AfterRetry {
                    sent_ccs: retry.sent_ccs,
                },
            ),
            None => (Transcript::new(suite.hash), Attempt::First),
        };
        let psk = crate::psk::accept(&self.config, &ch, suite, &transcript, encoded, common.now())?;
        let choices = self.choose_rest(&ch, suite, share, psk)?;
        transcript.update(encoded);
        send_flight(common, &self.config, &ch, choices, transcript, retried)
    }

    fn choose_suite(&self, ch: &ClientHello) -> Result<&'static Suite, Error> {
        self.config
            .cipher_suites
            .iter()
            .filter(|cs| ch.cipher_suites.contains(cs))
            .find_map(|cs| tls13_suite(*cs))
            .ok_or(Error::HandshakeFailure("no cipher suite in common"))
    }

    /// The client's share for our most preferred group it sent one for; `None`
    /// asks for a HelloRetryRequest.
    ///
    /// A usable share is taken even when the client supports a group we
    /// prefer but sent no share for it: a client offering X25519MLKEM768 in
    /// supported_groups with only an X25519 share gets X25519, not a
    /// HelloRetryRequest for the hybrid. The retry would cost each such
    /// connection a round trip, and a client that wants the hybrid sends
    /// its share (Chrome, Firefox, OpenSSL 3.5 and rustls do by default).
    /// An attacker cannot strip the hybrid share unnoticed: the transcript
    /// is signed and MACed. This differs from OpenSSL 3.5's default server
    /// (X25519MLKEM768 in a tuple of its own) and rustls 0.23's (the
    /// client's supported_groups order): both ask for the hybrid then.
    fn choose_share(&self, ch: &ClientHello) -> Result<Option<KeyShareEntry>, Error> {
        let groups = ch
            .supported_groups()
            .ok_or(Error::MissingExtension("supported_groups"))?;
        let shares = ch
            .key_shares()
            .ok_or(Error::MissingExtension("key_share"))?;
        if shares.iter().any(|s| !groups.contains(&s.group)) {
            return Err(Error::IllegalParameter(
                "key share for a group not in supported_groups",
            ));
        }
        let chosen = self
            .config
            .groups
            .iter()
            .filter(|g| supported_tls13_group(**g))
            .find_map(|g| shares.iter().find(|s| s.group == *g));
        match (chosen, &self.retry) {
            (Some(share), _) => Ok(Some(share.clone())),
            (None, Some(_)) => Err(Error::IllegalParameter(
                "no usable key share after HelloRetryRequest",
            )),
            (None, None) => Ok(None),
        }
    }

    fn choose_rest(
        &self,
        ch: &ClientHello,
        suite: &'static Suite,
        share: KeyShareEntry,
        psk: Option<AcceptedPsk>,
    ) -> Result<Choices, Error> {
        let server_name = match ch.server_name() {
            Some(name) => Some(host_name(name)?),
            None => None,
        };
        let offered_alpn = ch.alpn().unwrap_or_default();
        let alpn = match (
            self.config.alpn_protocols.is_empty(),
            offered_alpn.is_empty(),
        ) {
            (false, false) => Some(
                self.config
                    .alpn_protocols
                    .iter()
                    .find(|p| offered_alpn.contains(p))
                    .cloned()
                    .ok_or(Error::NoApplicationProtocol)?,
            ),
            _ => None,
        };
        let wants_tickets = ch
            .psk_modes()
            .is_some_and(|modes| modes.contains(&PSK_DHE_KE));
        let auth = match psk {
            Some(psk) => Authentication::Psk(psk),
            None => {
                let schemes = ch
                    .signature_algorithms()
                    .ok_or(Error::MissingExtension("signature_algorithms"))?;
                let info = ClientHelloInfo {
                    server_name: server_name.as_deref(),
                    signature_schemes: schemes,
                    alpn: offered_alpn,
                    version: ProtocolVersion::Tls13,
                    groups: ch.supported_groups().unwrap_or_default(),
                    cipher_suites: &ch.cipher_suites,
                };
                let certified = match self.config.cert_resolver.resolve(&info) {
                    Some(certified) => certified,
                    None if !self.config.external_psks.is_empty() => {
                        return Err(Error::HandshakeFailure(
                            "no usable PSK offered and no certificate to present",
                        ))
                    }
                    None if server_name.is_some() => return Err(Error::UnrecognizedName),
                    None => return Err(Error::HandshakeFailure("no certificate to present")),
                };
                let scheme = certified
                    .key()
                    .choose_tls13_scheme(schemes)
                    .ok_or(Error::HandshakeFailure("no signature scheme in common"))?;
                Authentication::Certificate { certified, scheme }
            }
        };
        Ok(Choices {
            suite,
            share,
            auth,
            alpn,
            server_name,
            wants_tickets,
        })
    }

    /// The second ClientHello must repeat the first but for the key share and
    /// cookie (RFC 8446 §4.1.2).
    fn check_second_hello(&self, ch: &ClientHello, retry: &RetrySent) -> Result<(), Error> {
        if ch.random != retry.first_random {
            return Err(Error::IllegalParameter(
                "second ClientHello changed its random",
            ));
        }
        if ch.cookie() != Some(retry.cookie.as_slice()) {
            return Err(Error::IllegalParameter(
                "second ClientHello did not echo our cookie",
            ));
        }
        // RFC 8446 §4.1.2: the second ClientHello may drop only the PSKs
        // incompatible with the suite we chose; the suite is fixed and the PSK
        // we would have accepted is compatible with it (BoGo's
        // Resume-Server-OmitPSKsOnSecondClientHello, BoringSSL's
        // INCONSISTENT_CLIENT_HELLO).
        if retry.psk_usable && ch.pre_shared_key().is_none() {
            return Err(Error::IllegalParameter(
                "second ClientHello dropped the PSK it offered first",
            ));
        }
        match ch.key_shares() {
            Some([share]) if share.group == retry.group => Ok(()),
            // No key_share at all: RFC 8446 §9.2 ("MUST also contain a
            // key_share extension") names missing_extension.
            None => Err(Error::MissingExtension(
                "second ClientHello without key_share",
            )),
            _ => Err(Error::IllegalParameter(
                "second ClientHello has the wrong key share",
            )),
        }
    }

    fn send_retry(
        self,
        common: &mut Common,
        ch: ClientHello,
        suite: &'static Suite,
        encoded: &[u8],
    ) -> Result<ServerState, Error> {
        let offered = ch.supported_groups().unwrap_or_default();
        let group = self
            .config
            .groups
            .iter()
            .copied()
            .find(|g| supported_tls13_group(*g) && offered.contains(g))
            .ok_or(Error::HandshakeFailure("no key exchange group in common"))?;
        let mut cookie = vec![0u8; 32];
        self.config
            .rng
            .fill(&mut cookie)
            .map_err(|_| Error::Entropy)?;
        // Whether a PSK of this hello is acceptable: the second hello must keep
        // it. A bad binder here is left to the second hello's check.
        let first = Transcript::new(suite.hash);
        let psk_usable =
            crate::psk::accept(&self.config, &ch, suite, &first, encoded, common.now())
                .is_ok_and(|psk| psk.is_some());
        let mut transcript = Transcript::for_hello_retry(suite.hash, encoded);
        if ch.has(crate::msgs::enums::ExtensionType::EarlyData) {
            // The client's 0-RTT records may come before its second
            // ClientHello, while we have no key to try them with: skip them.
            common.early_data_skip = MAX_SKIPPED_EARLY_DATA;
        }
        let retry = HandshakeMessage::HelloRetryRequest(HelloRetryRequest {
            legacy_version: 0x0303,
            session_id: ch.session_id.clone(),
            cipher_suite: suite.suite,
            compression_method: 0,
            extensions: vec![
                HrrExtension::SupportedVersions(ProtocolVersion::Tls13),
                HrrExtension::KeyShare(group),
                HrrExtension::Cookie(cookie.clone()),
            ],
        });
        common.send_message(&retry, &mut transcript)?;
        let sent_ccs = !ch.session_id.is_empty();
        if sent_ccs {
            common.send_ccs();
        }
        Ok(ServerState::ExpectClientHello(ExpectClientHello {
            config: self.config,
            retry: Some(RetrySent {
                suite,
                group,
                cookie,
                transcript,
                first_random: ch.random,
                sent_ccs,
                psk_usable,
            }),
        }))
    }
}

/// Which ClientHello our flight answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// The first: no HelloRetryRequest was sent.
    First,
    /// The second, after our HelloRetryRequest; `sent_ccs` when the dummy
    /// ChangeCipherSpec already went out with the HelloRetryRequest.
    AfterRetry { sent_ccs: bool },
}

/// Sends ServerHello through Finished and derives the application secrets.
/// `attempt` says which ClientHello this flight answers.
fn send_flight(
    common: &mut Common,
    config: &Arc<ServerConfig>,
    ch: &ClientHello,
    choices: Choices,
    mut transcript: Transcript,
    attempt: Attempt,
) -> Result<ServerState, Error> {
    let Choices {
        suite,
        share,
        auth,
        alpn,
        server_name,
        wants_tickets,
    } = choices;
    let (key_exchange, shared) =
        KeyExchange::respond(share.group, &share.key_exchange, config.rng.as_ref())?;
    let our_share = KeyShareEntry {
        group: share.group,
        key_exchange,
    };
    let (early, certificate, psk, peer_certificates) = match auth {
        Authentication::Psk(psk) => {
            let (client_auth, certificates) = match psk.kind {
                PskKind::Resumption(session) => (
                    ClientAuth::ResumedPsk(psk.binder),
                    session.client_certificates,
                ),
                PskKind::External => (ClientAuth::ExternalPsk(psk.binder), Vec::new()),
            };
            (
                psk.early,
                None,
                Some((psk.index, client_auth)),
                certificates,
            )
        }
        Authentication::Certificate { certified, scheme } => (
            EarlySecret::new(suite.hash, None),
            Some((certified, scheme)),
            None,
            Vec::new(),
        ),
    };
    let mut random = [0u8; 32];
    config.rng.fill(&mut random).map_err(|_| Error::Entropy)?;
    let mut extensions = vec![
        ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
        ServerExtension::KeyShare(our_share),
    ];
    extensions.extend(
        psk.as_ref()
            .map(|(index, _)| ServerExtension::PreSharedKey(*index)),
    );
    let hello = ServerHello {
        legacy_version: 0x0303,
        random,
        session_id: ch.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: 0,
        extensions,
    };
    common.send_message(&HandshakeMessage::ServerHello(hello), &mut transcript)?;
    if !ch.session_id.is_empty() && attempt != (Attempt::AfterRetry { sent_ccs: true }) {
        // Middlebox compatibility: the client asked for it with a session id.
        common.send_ccs();
    }
    let schedule = early.into_handshake(shared.as_ref());
    let hello_hash = transcript.current();
    let handshake = schedule.traffic_secrets(hello_hash.as_ref());
    common.set_handshake_keys(suite, &handshake)?;
    // We never accept 0-RTT: skip what the client sent under its early key.
    // After a HelloRetryRequest there is none to skip any more.
    common.early_data_skip =
        if attempt == Attempt::First && ch.has(crate::msgs::enums::ExtensionType::EarlyData) {
            MAX_SKIPPED_EARLY_DATA
        } else {
            0
        };

    let mut extensions = Vec::new();
    if server_name.is_some() {
        extensions.push(EncryptedExtension::ServerName);
    }
    if let Some(protocol) = &alpn {
        extensions.push(EncryptedExtension::Alpn(protocol.clone()));
    }
    let encrypted_extensions = EncryptedExtensions { extensions };
    // EncryptedExtensions through Finished: one flight, packed into records.
    common.begin_flight();
    common.send_message(
        &HandshakeMessage::EncryptedExtensions(encrypted_extensions),
        &mut transcript,
    )?;
    // A resumed session keeps the authentication of its original handshake.
    let client_verifier = match &certificate {
        Some((certified, scheme)) => {
            let verifier = config.client_verifier.clone();
            if let Some(verifier) = &verifier {
                send_certificate_request(common, verifier.as_ref(), &mut transcript)?;
            }
            let staple = crate::stapling::for_hello(config, ch, certified);
            certificate::send_certificate(
                common,
                Vec::new(),
                Some((certified, *scheme)),
                staple.as_deref(),
                &mut transcript,
            )?;
            verifier
        }
        None => None,
    };
    let verify_data = finished_verify_data(
        suite.hash,
        handshake.server().as_ref(),
        transcript.current().as_ref(),
    );
    let finished = HandshakeMessage::Finished(Finished {
        verify_data: verify_data.as_ref().to_vec(),
    });
    common.send_message(&finished, &mut transcript)?;
    common.end_flight()?;

    let handshake_hash = transcript.current();
    let master = schedule.into_master();
    let app = AppSecrets::derive(&master, handshake_hash.as_ref(), common);
    app.install_write_key(common, suite)?;
    let awaiting = AwaitingClient {
        config: config.clone(),
        suite,
        transcript,
        handshake,
        app,
        master,
        wants_tickets,
        negotiated: Negotiated {
            version: ProtocolVersion::Tls13,
            suite: suite.suite,
            group: share.group,
            alpn,
            server_name,
            peer_certificates,
            hello_retry: attempt != Attempt::First,
            resumed: matches!(psk, Some((_, ClientAuth::ResumedPsk(_)))),
            ocsp_response: None,
        },
    };
    Ok(match (client_verifier, psk) {
        (Some(verifier), _) => {
            ServerState::ExpectCertificate(ExpectCertificate { awaiting, verifier })
        }
        (None, Some((_, client_auth))) => ServerState::ExpectFinished(ExpectFinished {
            awaiting,
            client_auth,
        }),
        (None, None) => ServerState::ExpectFinished(ExpectFinished {
            awaiting,
            client_auth: ClientAuth::NotRequested,
        }),
    })
}

/// Asks the client for a certificate (RFC 8446 §4.3.2).
fn send_certificate_request(
    common: &mut Common,
    verifier: &dyn ClientCertVerifier,
    transcript: &mut Transcript,
) -> Result<(), Error> {
    let mut extensions = vec![CertReqExtension::SignatureAlgorithms(
        verifier.supported_schemes().to_vec(),
    )];
    if !verifier.root_hint_subjects().is_empty() {
        extensions.push(CertReqExtension::CertificateAuthorities(
            verifier.root_hint_subjects().to_vec(),
        ));
    }
    let request = CertificateRequest {
        context: Vec::new(),
        extensions,
    };
    common.send_message(&HandshakeMessage::CertificateRequest(request), transcript)
}

/// How many bytes of rejected 0-RTT data a server skips before giving up:
/// more than one full record of the 16 KiB an OpenSSL ticket allows by
/// default (tests/tests/openssl_early_data.rs), where BoringSSL stops at
/// 16 KiB of records.
const MAX_SKIPPED_EARLY_DATA: usize = 64 * 1024;

/// What the server keeps while the client finishes its side.
struct AwaitingClient {
    config: Arc<ServerConfig>,
    suite: &'static Suite,
    /// The client offered psk_dhe_ke, so it can use tickets.
    wants_tickets: bool,
    transcript: Transcript,
    /// The handshake secrets: the client's keys its Finished.
    handshake: HandshakeTrafficSecrets,
    app: AppSecrets,
    master: MasterSecret,
    negotiated: Negotiated,
}

/// Waiting for the client's Certificate, which we asked for.
pub(crate) struct ExpectCertificate {
    awaiting: AwaitingClient,
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ExpectCertificate {
    pub(super) fn handle(
        mut self,
        common: &mut Common,
        payload: CertificatePayload,
        encoded: &[u8],
    ) -> Result<ServerState, Error> {
        if !payload.context.is_empty() {
            return Err(Error::IllegalParameter(
                "client Certificate has a request context",
            ));
        }
        // Our CertificateRequest asks for no CertificateEntry extension.
        crate::stapling::tls13_leaf_response(&payload.entries, false)?;
        self.awaiting.transcript.update(encoded);
        let mut chain = payload.entries.into_iter().map(|entry| entry.cert);
        let Some(end_entity) = chain.next() else {
            if self.verifier.mandatory() {
                return Err(Error::CertificateRequired);
            }
            return Ok(ServerState::ExpectFinished(ExpectFinished {
                awaiting: self.awaiting,
                client_auth: ClientAuth::NoneOffered,
            }));
        };
        let intermediates: Vec<Vec<u8>> = chain.collect();
        let verified =
            self.verifier
                .verify_client_cert(&end_entity, &intermediates, common.now())?;
        crate::verify::check_peer_leaf_key_usage(&end_entity)?;
        let certificates = &mut self.awaiting.negotiated.peer_certificates;
        certificates.push(end_entity);
        certificates.extend(intermediates);
        Ok(ServerState::ExpectCertificateVerify(
            ExpectCertificateVerify {
                inner: self,
                verified,
            },
        ))
    }
}

/// Waiting for the client's CertificateVerify; its chain is accepted.
pub(crate) struct ExpectCertificateVerify {
    inner: ExpectCertificate,
    verified: ClientCertVerified,
}

impl ExpectCertificateVerify {
    pub(super) fn handle(
        self,
        cv: CertificateVerify,
        encoded: &[u8],
    ) -> Result<ServerState, Error> {
        let ExpectCertificate {
            mut awaiting,
            verifier,
        } = self.inner;
        let signed = crate::tls13::certificate::check_certificate_verify(
            Side::Client,
            verifier.supported_schemes(),
            &awaiting.transcript,
            &awaiting.negotiated.peer_certificates,
            &cv,
            |cert, scheme, message, signature| {
                verifier.verify_tls13_signature(cert, scheme, message, signature)
            },
        )?;
        awaiting.transcript.update(encoded);
        Ok(ServerState::ExpectFinished(ExpectFinished {
            awaiting,
            client_auth: ClientAuth::Certified(self.verified, signed),
        }))
    }
}

/// Waiting for the client's Finished; our whole flight is sent.
pub(crate) struct ExpectFinished {
    awaiting: AwaitingClient,
    client_auth: ClientAuth,
}

impl ExpectFinished {
    pub(super) fn handle(
        self,
        common: &mut Common,
        finished: Finished,
        encoded: &[u8],
    ) -> Result<Traffic, Error> {
        let mut s = self.awaiting;
        let verified = check_finished(
            s.suite.hash,
            s.handshake.client().as_ref(),
            s.transcript.current().as_ref(),
            &finished.verify_data,
        )?;
        s.transcript.update(encoded);
        s.app.install_read_key(common, s.suite)?;
        let resumption = s.master.resumption(s.transcript.current().as_ref());
        if s.wants_tickets {
            issue_tickets(
                common,
                &s.config,
                s.suite,
                &s.negotiated,
                resumption.as_ref(),
            )?;
        }
        common.handshake_complete(s.negotiated)?;
        Ok(Traffic::new(
            s.suite,
            s.app,
            resumption,
            PeerAuth::from(self.client_auth),
            verified,
        ))
    }
}

/// Sends the configured number of NewSessionTickets (RFC 8446 §4.6.1), each
/// with its own nonce and age_add, sealing the session with the ticketer.
fn issue_tickets(
    common: &mut Common,
    config: &ServerConfig,
    suite: &'static Suite,
    negotiated: &Negotiated,
    resumption_master: &[u8],
) -> Result<(), Error> {
    let Some(ticketer) = &config.ticketer else {
        return Ok(());
    };
    let now = common.now();
    // The tickets are one flight too: packed into records.
    common.begin_flight();
    for n in 0..config.session_tickets {
        let nonce = [n];
        let mut age_add = [0u8; 4];
        config.rng.fill(&mut age_add).map_err(|_| Error::Entropy)?;
        let psk = resumption_psk(suite.hash, resumption_master, &nonce)?;
        let session = ServerSession {
            suite: suite.suite,
            psk: Zeroizing::new(psk.as_ref().to_vec()),
            issued_at: now.0,
            age_add: u32::from_be_bytes(age_add),
            lifetime: ticketer.lifetime(),
            client_certificates: negotiated.peer_certificates.clone(),
        };
        let mut plain = session.encode();
        let sealed = ticketer.encrypt(&plain, now);
        plain.zeroize();
        let Some(ticket) = sealed else { continue };
        let message = HandshakeMessage::NewSessionTicket(NewSessionTicket {
            lifetime: session.lifetime,
            age_add: session.age_add,
            nonce: nonce.to_vec(),
            ticket,
            extensions: Vec::new(),
        });
        common.send_handshake(&message.to_vec())?;
    }
    common.end_flight()
}
