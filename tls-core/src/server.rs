//! The server's TLS 1.3 handshake: ClientHello (possibly twice, around a
//! HelloRetryRequest), our flight, then the client's Finished.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::{CertifiedKey, ClientHelloInfo, ServerConfig};
use crate::conn::{Common, Negotiated, Side};
use crate::crypto::{
    certificate_verify_message, supported_group, tls13_suite, KeyExchange, Secret, Suite,
    TrafficKey, Transcript,
};
use crate::error::Error;
use crate::key_schedule::{check_finished, finished_verify_data, EarlySecret, MasterSecret};
use crate::msgs::enums::{NamedGroup, ProtocolVersion, SignatureScheme};
use crate::msgs::extensions::{
    CertReqExtension, EncryptedExtension, HrrExtension, KeyShareEntry, ServerExtension,
};
use crate::msgs::handshake::{
    CertificateEntry, CertificatePayload, CertificateRequest, CertificateVerify, ClientHello,
    EncryptedExtensions, Finished, HandshakeMessage, HelloRetryRequest, ServerHello,
};
use crate::traffic::{AppSecrets, Traffic};
use crate::verify::{ClientCertVerified, ClientCertVerifier, SignatureVerified};

/// What the server state machine moves to after a message (transient, so
/// the size difference between variants does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next {
    /// Still handshaking.
    Handshaking(ServerState),
    /// Handshake complete.
    Traffic(Traffic),
}

/// The server's handshake states.
#[allow(clippy::enum_variant_names, clippy::large_enum_variant)] // named for the message each awaits; boxed by Connection
pub(crate) enum ServerState {
    ExpectClientHello(ExpectClientHello),
    ExpectCertificate(ExpectCertificate),
    ExpectCertificateVerify(ExpectCertificateVerify),
    ExpectFinished(ExpectFinished),
}

/// A new server handshake.
pub(crate) fn start(config: Arc<ServerConfig>) -> ServerState {
    ServerState::ExpectClientHello(ExpectClientHello {
        config,
        retry: None,
    })
}

impl ServerState {
    /// Handles one handshake message (`encoded` is its transcript form).
    pub fn handle(
        self,
        common: &mut Common,
        msg: HandshakeMessage,
        encoded: &[u8],
    ) -> Result<Next, Error> {
        match (self, msg) {
            (ServerState::ExpectClientHello(s), HandshakeMessage::ClientHello(ch)) => {
                s.handle(common, ch, encoded).map(Next::Handshaking)
            }
            (ServerState::ExpectCertificate(s), HandshakeMessage::Certificate(c)) => {
                s.handle(common, c, encoded).map(Next::Handshaking)
            }
            (ServerState::ExpectCertificateVerify(s), HandshakeMessage::CertificateVerify(cv)) => {
                s.handle(cv, encoded).map(Next::Handshaking)
            }
            (ServerState::ExpectFinished(s), HandshakeMessage::Finished(f)) => {
                s.handle(common, f, encoded).map(Next::Traffic)
            }
            (_, _) => Err(Error::UnexpectedMessage("handshake message out of order")),
        }
    }
}

/// What a HelloRetryRequest fixed, for checking the second ClientHello.
struct RetrySent {
    suite: &'static Suite,
    group: NamedGroup,
    cookie: Vec<u8>,
    transcript: Transcript,
    first_random: [u8; 32],
    sent_ccs: bool,
}

/// Waiting for a ClientHello (the second one when `retry` is set).
pub(crate) struct ExpectClientHello {
    config: Arc<ServerConfig>,
    retry: Option<RetrySent>,
}

/// Everything chosen from a ClientHello.
struct Choices {
    suite: &'static Suite,
    share: KeyShareEntry,
    certified: Arc<CertifiedKey>,
    scheme: SignatureScheme,
    alpn: Option<Vec<u8>>,
    server_name: Option<String>,
}

impl ExpectClientHello {
    fn handle(
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
        let choices = self.choose_rest(&ch, suite, share)?;
        let (mut transcript, retried) = match self.retry {
            Some(retry) => (retry.transcript, Some(retry.sent_ccs)),
            None => (Transcript::new(suite.hash), None),
        };
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
            .filter(|g| supported_group(**g))
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
    ) -> Result<Choices, Error> {
        let schemes = ch
            .signature_algorithms()
            .ok_or(Error::MissingExtension("signature_algorithms"))?;
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
        let info = ClientHelloInfo {
            server_name: server_name.as_deref(),
            signature_schemes: schemes,
            alpn: offered_alpn,
        };
        let certified = match self.config.cert_resolver.resolve(&info) {
            Some(certified) => certified,
            None if server_name.is_some() => return Err(Error::UnrecognizedName),
            None => return Err(Error::HandshakeFailure("no certificate to present")),
        };
        let scheme = certified
            .key
            .choose_tls13_scheme(schemes)
            .ok_or(Error::HandshakeFailure("no signature scheme in common"))?;
        Ok(Choices {
            suite,
            share,
            certified,
            scheme,
            alpn,
            server_name,
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
        match ch.key_shares() {
            Some([share]) if share.group == retry.group => Ok(()),
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
            .find(|g| supported_group(*g) && offered.contains(g))
            .ok_or(Error::HandshakeFailure("no key exchange group in common"))?;
        let mut cookie = vec![0u8; 32];
        self.config
            .rng
            .fill(&mut cookie)
            .map_err(|_| Error::Entropy)?;
        let mut transcript = Transcript::for_hello_retry(suite.hash, encoded);
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
            }),
        }))
    }
}

/// A SNI host name as a string: printable ASCII, as RFC 6066 requires.
fn host_name(raw: &[u8]) -> Result<String, Error> {
    if raw.is_empty() || !raw.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Error::IllegalParameter("server_name is not a host name"));
    }
    Ok(raw.iter().map(|&b| char::from(b)).collect())
}

/// Sends ServerHello through Finished and derives the application secrets.
/// `retried` is `Some(sent_ccs)` after a HelloRetryRequest.
fn send_flight(
    common: &mut Common,
    config: &ServerConfig,
    ch: &ClientHello,
    choices: Choices,
    mut transcript: Transcript,
    retried: Option<bool>,
) -> Result<ServerState, Error> {
    let Choices {
        suite,
        share,
        certified,
        scheme,
        alpn,
        server_name,
    } = choices;
    let kx = KeyExchange::generate(share.group)?;
    let our_share = KeyShareEntry {
        group: share.group,
        key_exchange: kx.public_key().to_vec(),
    };
    let shared = kx.complete(&share.key_exchange)?;
    let mut random = [0u8; 32];
    config.rng.fill(&mut random).map_err(|_| Error::Entropy)?;
    let hello = HandshakeMessage::ServerHello(ServerHello {
        legacy_version: 0x0303,
        random,
        session_id: ch.session_id.clone(),
        cipher_suite: suite.suite,
        compression_method: 0,
        extensions: vec![
            ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
            ServerExtension::KeyShare(our_share),
        ],
    });
    common.send_message(&hello, &mut transcript)?;
    if !ch.session_id.is_empty() && retried != Some(true) {
        // Middlebox compatibility: the client asked for it with a session id.
        common.send_ccs();
    }
    let schedule = EarlySecret::new(suite.hash, None).into_handshake(shared.as_ref());
    let hello_hash = transcript.current();
    let client_hs = schedule.client_traffic(hello_hash.as_ref());
    let server_hs = schedule.server_traffic(hello_hash.as_ref());
    common.set_keys(suite, client_hs.as_ref(), server_hs.as_ref())?;
    if ch.has(crate::msgs::enums::ExtensionType::EarlyData) {
        // We never accept 0-RTT: skip what the client sent under its early key.
        common.early_data_skip = MAX_SKIPPED_EARLY_DATA;
    }

    let mut extensions = Vec::new();
    if server_name.is_some() {
        extensions.push(EncryptedExtension::ServerName);
    }
    if let Some(protocol) = &alpn {
        extensions.push(EncryptedExtension::Alpn(protocol.clone()));
    }
    common.send_message(
        &HandshakeMessage::EncryptedExtensions(EncryptedExtensions { extensions }),
        &mut transcript,
    )?;
    if let Some(verifier) = &config.client_verifier {
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
        common.send_message(
            &HandshakeMessage::CertificateRequest(request),
            &mut transcript,
        )?;
    }
    let entries = certified
        .chain
        .iter()
        .map(|cert| CertificateEntry {
            cert: cert.clone(),
            extensions: Vec::new(),
        })
        .collect();
    let certificate = HandshakeMessage::Certificate(CertificatePayload {
        context: Vec::new(),
        entries,
    });
    common.send_message(&certificate, &mut transcript)?;
    let signed = certificate_verify_message(true, transcript.current().as_ref());
    let signature = certified.key.sign(scheme, &signed)?;
    common.send_message(
        &HandshakeMessage::CertificateVerify(CertificateVerify { scheme, signature }),
        &mut transcript,
    )?;
    let verify_data = finished_verify_data(
        suite.hash,
        server_hs.as_ref(),
        transcript.current().as_ref(),
    );
    let finished = HandshakeMessage::Finished(Finished {
        verify_data: verify_data.as_ref().to_vec(),
    });
    common.send_message(&finished, &mut transcript)?;

    let handshake_hash = transcript.current();
    let master = schedule.into_master();
    let app = AppSecrets::derive(&master, handshake_hash.as_ref());
    common.set_write_key(TrafficKey::from_secret(suite, app.server())?);
    let awaiting = AwaitingClient {
        suite,
        transcript,
        client_hs,
        app,
        master,
        negotiated: Negotiated {
            version: ProtocolVersion::Tls13,
            suite: suite.suite,
            group: share.group,
            alpn,
            server_name,
            peer_certificates: Vec::new(),
            hello_retry: retried.is_some(),
        },
    };
    Ok(match &config.client_verifier {
        Some(verifier) => ServerState::ExpectCertificate(ExpectCertificate {
            awaiting,
            verifier: verifier.clone(),
        }),
        None => ServerState::ExpectFinished(ExpectFinished {
            awaiting,
            _client_auth: ClientAuth::NotRequested,
        }),
    })
}

/// How many bytes of rejected 0-RTT data a server skips before giving up.
const MAX_SKIPPED_EARLY_DATA: usize = 64 * 1024;

/// What the server keeps while the client finishes its side.
struct AwaitingClient {
    suite: &'static Suite,
    transcript: Transcript,
    client_hs: Secret,
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
    fn handle(
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
        self.awaiting.transcript.update(encoded);
        let mut chain = payload.entries.into_iter().map(|entry| entry.cert);
        let Some(end_entity) = chain.next() else {
            if self.verifier.mandatory() {
                return Err(Error::CertificateRequired);
            }
            return Ok(ServerState::ExpectFinished(ExpectFinished {
                awaiting: self.awaiting,
                _client_auth: ClientAuth::NoneOffered,
            }));
        };
        let intermediates: Vec<Vec<u8>> = chain.collect();
        let verified =
            self.verifier
                .verify_client_cert(&end_entity, &intermediates, common.now())?;
        let certificates = &mut self.awaiting.negotiated.peer_certificates;
        certificates.push(end_entity);
        certificates.extend(intermediates);
        Ok(ServerState::ExpectCertificateVerify(
            ExpectCertificateVerify {
                inner: self,
                _verified: verified,
            },
        ))
    }
}

/// Waiting for the client's CertificateVerify; its chain is accepted.
pub(crate) struct ExpectCertificateVerify {
    inner: ExpectCertificate,
    _verified: ClientCertVerified,
}

impl ExpectCertificateVerify {
    fn handle(self, cv: CertificateVerify, encoded: &[u8]) -> Result<ServerState, Error> {
        let ExpectCertificate {
            mut awaiting,
            verifier,
        } = self.inner;
        if !verifier.supported_schemes().contains(&cv.scheme) {
            return Err(Error::IllegalParameter(
                "client signed with a scheme we did not offer",
            ));
        }
        let message = certificate_verify_message(false, awaiting.transcript.current().as_ref());
        let end_entity = awaiting
            .negotiated
            .peer_certificates
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let signed =
            verifier.verify_tls13_signature(end_entity, cv.scheme, &message, &cv.signature)?;
        awaiting.transcript.update(encoded);
        Ok(ServerState::ExpectFinished(ExpectFinished {
            awaiting,
            _client_auth: ClientAuth::Verified(signed),
        }))
    }
}

/// How the client authenticated, as the Finished state requires it stated.
enum ClientAuth {
    /// We did not ask for a certificate.
    NotRequested,
    /// We asked; the client had none and the verifier allows that.
    NoneOffered,
    /// The client's chain and signature checked out.
    Verified(SignatureVerified),
}

/// Waiting for the client's Finished; our whole flight is sent.
pub(crate) struct ExpectFinished {
    awaiting: AwaitingClient,
    _client_auth: ClientAuth,
}

impl ExpectFinished {
    fn handle(
        self,
        common: &mut Common,
        finished: Finished,
        encoded: &[u8],
    ) -> Result<Traffic, Error> {
        let mut s = self.awaiting;
        let verified = check_finished(
            s.suite.hash,
            s.client_hs.as_ref(),
            s.transcript.current().as_ref(),
            &finished.verify_data,
        )?;
        s.transcript.update(encoded);
        common.set_read_key(TrafficKey::from_secret(s.suite, s.app.client())?)?;
        common.handshake_complete(s.negotiated)?;
        let resumption = s.master.resumption(s.transcript.current().as_ref());
        Ok(Traffic::new(
            Side::Server,
            s.suite,
            s.app,
            resumption,
            verified,
        ))
    }
}
