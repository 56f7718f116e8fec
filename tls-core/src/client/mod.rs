//! The client: the ClientHello we send (both versions offered from one
//! hello), and the state machine that the connection feeds. The ServerHello
//! decides the version: `tls13` continues a TLS 1.3 handshake, `tls12` takes
//! over for TLS 1.2 (the ServerHello without supported_versions).

pub(crate) mod tls12;
mod tls13;

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use crate::config::ClientConfig;
use crate::conn::common::Common;
use crate::crypto::{hybrid_group, supported_group, tls13_suite, KeyExchange, Suite, Transcript};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, ProtocolVersion};
use crate::msgs::extensions::{ClientExtension, KeyShareEntry};
use crate::msgs::handshake::{ClientHello, HandshakeMessage, ServerHello};
use crate::psk::{Offer, PSK_DHE_KE};
use crate::tickets::StoredTicket;
use crate::tls12::session::StoredSession12;
use crate::tls12::suites::tls12_suite;
use crate::tls13::traffic::Traffic;
use crate::versions;

use tls13::{
    ExpectCertificate, ExpectCertificateVerify, ExpectEncryptedExtensions, ExpectFinished,
};

/// What the client state machine moves to after a message (transient, so
/// the size difference between variants does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next {
    /// Still handshaking.
    Handshaking(Box<ClientState>),
    /// Handshake complete.
    Traffic(Box<Traffic>),
    /// The server chose TLS 1.2.
    Tls12(Box<tls12::ClientState12>),
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
    let versions = crate::versions::enabled_versions(&config.versions, &config.cipher_suites);
    if versions.is_empty() {
        return Err(Error::InvalidConfig("no supported cipher suite configured"));
    }
    let offer_tls13 = versions.contains(&ProtocolVersion::Tls13);
    let offer_tls12 = versions.contains(&ProtocolVersion::Tls12);
    // TLS 1.2 has no use for the hybrids: without TLS 1.3 a classical
    // group is needed.
    if !config
        .groups
        .iter()
        .any(|g| offer_tls13 || !hybrid_group(*g))
    {
        return Err(Error::InvalidConfig("no groups configured"));
    }
    let mut random = [0u8; 32];
    let mut session_id = [0u8; 32];
    config.rng.fill(&mut random).map_err(|_| Error::Entropy)?;
    common.client_random = random;
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
    let hello = Box::new(Hello {
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
    });
    // Key shares are only for TLS 1.3; a TLS 1.2-only hello carries none.
    let key_shares = if offer_tls13 {
        first_key_shares(&hello.config)?
    } else {
        Vec::new()
    };
    let encoded = hello.encode_hello(&key_shares, None, None)?;
    common.send_initial_hello(&encoded);
    Ok(ClientState::ExpectServerHello(ExpectServerHello {
        hello,
        key_shares,
        first_hello: encoded,
        after_retry: None,
    }))
}

/// A ClientHello shorter than this, but of 256 bytes or more, is padded to
/// it (RFC 7685 §4).
const PADDED_HELLO_LEN: usize = 512;

/// The key shares of the first ClientHello: one for the most preferred
/// group; when that is a post-quantum hybrid, also one for the most
/// preferred classical group (if `classical_share_with_hybrid`), so a server
/// without the hybrid can answer at once (as Chrome and OpenSSL 3.5 send
/// X25519MLKEM768 and X25519). When the classical group is the hybrid's
/// own ECDH group, its share is the hybrid's ECDH public key (one key pair,
/// as Chrome and rustls do: the server completes only one of the shares);
/// otherwise it is a key pair of its own.
fn first_key_shares(config: &ClientConfig) -> Result<Vec<KeyExchange>, Error> {
    let first = *config
        .groups
        .first()
        .ok_or(Error::Internal("no groups configured"))?;
    let rng = config.rng.as_ref();
    let mut hybrid = KeyExchange::start(first, rng)?;
    let classical = config.groups.iter().copied().find(|g| supported_group(*g));
    let separate = match classical {
        Some(classical) if hybrid_group(first) && config.classical_share_with_hybrid => {
            (!hybrid.offer_classical_too(classical)).then_some(classical)
        }
        _ => None,
    };
    let mut shares = Vec::with_capacity(2);
    shares.push(hybrid);
    if let Some(classical) = separate {
        shares.push(KeyExchange::start(classical, rng)?);
    }
    Ok(shares)
}

impl Hello {
    /// The encoded ClientHello, with psk_key_exchange_modes when we keep
    /// tickets and, when resuming, the ticket and its binder computed over
    /// `prefix` (the transcript before this hello) and the truncated hello.
    fn encode_hello(
        &self,
        key_shares: &[KeyExchange],
        cookie: Option<&[u8]>,
        prefix: Option<&Transcript>,
    ) -> Result<Vec<u8>, Error> {
        let mut ch = self.client_hello(key_shares, cookie);
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
        let unbound = crate::psk::encode_unbound(&mut ch, &offers)?;
        // RFC 7685 §4: a hello of 256 to 511 bytes (with its 4-byte header)
        // hangs some F5 load balancers; the padding extension, before
        // pre_shared_key (which stays last, its binders computed after), makes
        // it at least 512 (BoGo's ClientHelloPadding). The length is known
        // before the binders are computed, so they are computed once.
        let unbound = match PADDED_HELLO_LEN.checked_sub(unbound.len()) {
            Some(short) if short > 0 && unbound.len() >= 256 => {
                let pad = short.saturating_sub(4).max(1);
                ch.extensions.push(ClientExtension::Padding(pad));
                crate::psk::encode_unbound(&mut ch, &offers)?
            }
            _ => unbound,
        };
        unbound.bind(&offers, prefix)
    }

    fn client_hello(&self, key_shares: &[KeyExchange], cookie: Option<&[u8]>) -> ClientHello {
        let config = &self.config;
        // Room for every extension we may add (padding and pre_shared_key too).
        let mut extensions = Vec::with_capacity(16);
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
        // The post-quantum hybrids are TLS 1.3 only: a TLS 1.2-only hello
        // leaves them out.
        let groups = config
            .groups
            .iter()
            .copied()
            .filter(|g| self.offer_tls13 || !hybrid_group(*g))
            .collect();
        extensions.push(ClientExtension::SupportedGroups(groups));
        let mut schemes = config.verifier.supported_schemes().to_vec();
        if self.offer_tls12 {
            for scheme in config.verifier.supported_tls12_schemes() {
                if !schemes.contains(scheme) {
                    schemes.push(*scheme);
                }
            }
        }
        extensions.push(ClientExtension::SignatureAlgorithms(schemes));
        if !key_shares.is_empty() {
            let entries = key_shares
                .iter()
                .flat_map(KeyExchange::shares)
                .map(|(group, share)| KeyShareEntry {
                    group,
                    key_exchange: share.to_vec(),
                })
                .collect();
            extensions.push(ClientExtension::KeyShare(entries));
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
                    || (self.offer_tls12 && tls12_suite(*cs).is_some())
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
    pub(crate) fn handle(
        self,
        common: &mut Common,
        msg: HandshakeMessage,
        encoded: &[u8],
    ) -> Result<Next, Error> {
        let next = match (self, msg) {
            (ClientState::ExpectServerHello(s), HandshakeMessage::ServerHello(sh)) => {
                if sh.supported_version().is_none() {
                    return s
                        .into_tls12(common, sh, encoded)
                        .map(|s| Next::Tls12(Box::new(s)));
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
                return s
                    .handle(common, f, encoded)
                    .map(|t| Next::Traffic(Box::new(t)));
            }
            (_, _) => return Err(Error::UnexpectedMessage("handshake message out of order")),
        };
        Ok(Next::Handshaking(Box::new(next)))
    }
}

/// Waiting for ServerHello or HelloRetryRequest.
pub(crate) struct ExpectServerHello {
    hello: Box<Hello>,
    /// Our TLS 1.3 key shares (one or two; after a HelloRetryRequest that
    /// names a group, one); empty when only TLS 1.2 is offered.
    key_shares: Vec<KeyExchange>,
    /// The first ClientHello as sent, hashed once the suite is known.
    first_hello: Vec<u8>,
    /// After a HelloRetryRequest: the transcript so far and the suite it fixed.
    after_retry: Option<(Transcript, &'static Suite)>,
}

impl ExpectServerHello {
    /// A ServerHello without supported_versions: TLS 1.2 (RFC 8446 §4.1.3).
    fn into_tls12(
        self,
        common: &Common,
        sh: ServerHello,
        encoded: &[u8],
    ) -> Result<tls12::ClientState12, Error> {
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
        let offer = tls12::Offer {
            config: hello.config,
            server_name: hello.server_name,
            sent_sni: hello.sent_sni,
            random: hello.random,
            session_id: hello.session_id,
            session: hello.session12,
            client_hello: self.first_hello,
        };
        tls12::start(common, offer, sh, encoded)
    }
}
