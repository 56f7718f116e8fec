//! TLS 1.3 pre-shared keys (RFC 8446 §4.2.11): external PSKs configured on
//! both ends, resumption PSKs from tickets, and the binders that tie an
//! offered PSK to the ClientHello it is offered in.
//!
//! Only psk_dhe_ke is ever used: a PSK always goes with an (EC)DHE exchange,
//! so a leaked PSK does not expose past sessions (forward secrecy). A client
//! that offers our external PSK only with psk_ke is refused.

use alloc::vec;
use alloc::vec::Vec;

use zeroize::{Zeroize, Zeroizing};

use crate::config::{ServerConfig, UnixTime};
use crate::crypto::{HashAlg, Suite, Transcript};
use crate::error::Error;
use crate::msgs::extensions::{ClientExtension, OfferedPsks, PskIdentity};
use crate::msgs::handshake::ClientHello;
use crate::tickets::{ServerSession, StoredTicket};
use crate::tls13::key_schedule::{
    check_finished, finished_verify_data, EarlySecret, FinishedVerified,
};

/// psk_dhe_ke, the only PSK key-exchange mode we use (RFC 8446 §4.2.9).
pub(crate) const PSK_DHE_KE: u8 = 1;

/// The shortest external PSK accepted, in bytes: 128 bits, so that the
/// binder a passive observer sees cannot be used to guess the key offline
/// (RFC 9257 §6). stunnel has the same minimum for its `PSKsecrets`.
pub const MIN_EXTERNAL_PSK_LEN: usize = 16;

/// The longest external PSK accepted, in bytes.
pub const MAX_EXTERNAL_PSK_LEN: usize = 1024;

/// The longest PSK identity accepted, in bytes.
pub const MAX_PSK_IDENTITY_LEN: usize = 1024;

/// An external pre-shared key (RFC 8446 §4.2.11, RFC 9257): an identity
/// sent in clear, a secret both ends know, and the hash it is used with.
/// With one, a handshake is authenticated by the key instead of
/// certificates; the secret is wiped when dropped.
#[derive(Clone)]
pub struct ExternalPsk {
    identity: Vec<u8>,
    secret: Zeroizing<Vec<u8>>,
    hash: HashAlg,
}

impl core::fmt::Debug for ExternalPsk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ExternalPsk")
            .field("identity", &self.identity)
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl ExternalPsk {
    /// A PSK used with SHA-256 suites (TLS_AES_128_GCM_SHA256,
    /// TLS_CHACHA20_POLY1305_SHA256), as OpenSSL's `-psk` option and
    /// stunnel's `PSKsecrets` use it. The identity must be 1 to
    /// [`MAX_PSK_IDENTITY_LEN`] bytes and the secret
    /// [`MIN_EXTERNAL_PSK_LEN`] to [`MAX_EXTERNAL_PSK_LEN`] bytes.
    pub fn new(identity: Vec<u8>, secret: Vec<u8>) -> Result<Self, Error> {
        let secret = Zeroizing::new(secret);
        if identity.is_empty() || identity.len() > MAX_PSK_IDENTITY_LEN {
            return Err(Error::InvalidConfig("PSK identity must be 1 to 1024 bytes"));
        }
        if secret.len() < MIN_EXTERNAL_PSK_LEN || secret.len() > MAX_EXTERNAL_PSK_LEN {
            return Err(Error::InvalidConfig("PSK must be 16 to 1024 bytes"));
        }
        Ok(ExternalPsk {
            identity,
            secret,
            hash: HashAlg::Sha256,
        })
    }

    /// The same PSK used with suites of another hash (RFC 8446 §4.2.11: a
    /// PSK is tied to one hash; the handshake must choose a suite with it).
    pub fn with_hash(mut self, hash: HashAlg) -> Self {
        self.hash = hash;
        self
    }

    /// The identity, as sent in the ClientHello.
    pub fn identity(&self) -> &[u8] {
        &self.identity
    }

    /// The hash the PSK is used with.
    pub fn hash(&self) -> HashAlg {
        self.hash
    }

    /// The key itself, as given.
    pub fn key(&self) -> &[u8] {
        &self.secret
    }
}

/// The PSK a server accepted from a client's offer.
pub(crate) enum ServerPsk {
    /// A resumption ticket.
    Ticket(StoredTicket),
    /// Our external PSK.
    External(ExternalPsk),
}

impl ServerPsk {
    /// The PSK's hash (`None` for a ticket of an unknown suite).
    fn hash(&self) -> Option<HashAlg> {
        match self {
            ServerPsk::Ticket(t) => crate::crypto::tls13_suite(t.suite).map(|s| s.hash),
            ServerPsk::External(psk) => Some(psk.hash),
        }
    }

    /// The PSK itself.
    pub(crate) fn secret(&self) -> &[u8] {
        match self {
            ServerPsk::Ticket(t) => t.psk.as_ref(),
            ServerPsk::External(psk) => &psk.secret,
        }
    }
}

/// The PSK the server selected with `selected_identity` (RFC 8446
/// §4.2.11), among the `ticket` and `external` PSK we offered in that
/// order: it must be one of them, for the hash of the chosen `suite`.
pub(crate) fn selected(
    selected: Option<u16>,
    ticket: Option<StoredTicket>,
    external: Option<ExternalPsk>,
    suite: &'static Suite,
) -> Result<Option<ServerPsk>, Error> {
    let Some(index) = selected else {
        return Ok(None);
    };
    if ticket.is_none() && external.is_none() {
        // RFC 8446 §4.2: an extension we did not send is unsolicited.
        return Err(Error::UnsupportedExtension("pre_shared_key"));
    }
    let mut offered = ticket
        .into_iter()
        .map(ServerPsk::Ticket)
        .chain(external.map(ServerPsk::External));
    match offered.nth(usize::from(index)) {
        Some(psk) if psk.hash() == Some(suite.hash) => Ok(Some(psk)),
        _ => Err(Error::IllegalParameter(
            "server selected a PSK we did not offer",
        )),
    }
}

/// One PSK a client offers, with what its binder needs.
pub(crate) struct Offer<'a> {
    /// The identity on the wire (a ticket, or an external PSK's identity).
    pub identity: &'a [u8],
    /// The obfuscated ticket age (0 for an external PSK, RFC 8446 §4.2.11).
    pub obfuscated_age: u32,
    /// The PSK itself.
    pub secret: &'a [u8],
    /// The PSK's hash.
    pub hash: HashAlg,
    /// External ("ext binder") or resumption ("res binder").
    pub external: bool,
}

impl<'a> Offer<'a> {
    /// Offers a resumption ticket.
    pub(crate) fn ticket(ticket: &'a StoredTicket, hash: HashAlg, now: UnixTime) -> Self {
        Offer {
            identity: &ticket.ticket,
            obfuscated_age: ticket.obfuscated_age(now),
            secret: ticket.psk.as_ref(),
            hash,
            external: false,
        }
    }

    /// Offers an external PSK.
    pub(crate) fn external(psk: &'a ExternalPsk) -> Self {
        Offer {
            identity: &psk.identity,
            obfuscated_age: 0,
            secret: &psk.secret,
            hash: psk.hash,
            external: true,
        }
    }
}

/// A ClientHello encoded with its final length: pre_shared_key (the last
/// extension) holds the offers with zeroed binders, which [`bind`](Self::bind)
/// computes. The client decides its padding from [`len`](Self::len) before
/// any binder is computed, so each binder is computed once.
pub(crate) struct UnboundHello {
    encoded: Vec<u8>,
    /// Where the binders list starts (the hello before it is what they sign).
    truncated_len: usize,
}

/// Encodes `ch` with pre_shared_key (the last extension) holding `offers`
/// with zeroed binders, unless there are none. `ch` is left as it was, so a
/// caller can add padding and encode again without a copy of the hello.
pub(crate) fn encode_unbound(
    ch: &mut ClientHello,
    offers: &[Offer<'_>],
) -> Result<UnboundHello, Error> {
    if offers.is_empty() {
        let encoded = ch.to_message();
        return Ok(UnboundHello {
            truncated_len: encoded.len(),
            encoded,
        });
    }
    let offered = OfferedPsks {
        identities: offers
            .iter()
            .map(|o| PskIdentity {
                identity: o.identity.to_vec(),
                obfuscated_ticket_age: o.obfuscated_age,
            })
            .collect(),
        binders: offers
            .iter()
            .map(|o| vec![0; o.hash.output_len()])
            .collect(),
    };
    let binders_len = offered.binders_encoded_len();
    ch.extensions.push(ClientExtension::PreSharedKey(offered));
    let encoded = ch.to_message();
    ch.extensions.pop();
    let truncated_len = encoded
        .len()
        .checked_sub(binders_len)
        .ok_or(Error::Internal("binders"))?;
    Ok(UnboundHello {
        encoded,
        truncated_len,
    })
}

impl UnboundHello {
    /// The encoded hello's length, binders included.
    pub(crate) fn len(&self) -> usize {
        self.encoded.len()
    }

    /// Computes each binder of `offers` (those given to [`encode_unbound`])
    /// over `prefix` (the transcript before this hello, after a
    /// HelloRetryRequest) and the hello up to its binders; returns the hello.
    pub(crate) fn bind(
        self,
        offers: &[Offer<'_>],
        prefix: Option<&Transcript>,
    ) -> Result<Vec<u8>, Error> {
        let UnboundHello {
            mut encoded,
            truncated_len,
        } = self;
        // The binders list: a two-byte length, then each binder after its
        // one-byte length.
        let mut at = truncated_len.saturating_add(2);
        for offer in offers {
            let mut transcript = prefix
                .cloned()
                .unwrap_or_else(|| Transcript::new(offer.hash));
            transcript.update(encoded.get(..truncated_len).unwrap_or_default());
            let binder_key =
                EarlySecret::new(offer.hash, Some(offer.secret)).binder_key(offer.external);
            let binder = finished_verify_data(
                offer.hash,
                binder_key.as_ref(),
                transcript.current().as_ref(),
            );
            let start = at.saturating_add(1);
            let end = start.saturating_add(offer.hash.output_len());
            encoded
                .get_mut(start..end)
                .ok_or(Error::Internal("binders"))?
                .copy_from_slice(binder.as_ref());
            at = end;
        }
        Ok(encoded)
    }
}

/// What a PSK the client offered and we accepted was.
pub(crate) enum PskKind {
    /// A ticket we issued: the session it sealed.
    Resumption(ServerSession),
    /// One of our external PSKs.
    External,
}

/// A PSK accepted by the server, its binder verified.
pub(crate) struct AcceptedPsk {
    /// The early secret from the PSK.
    pub early: EarlySecret,
    /// Its index among the client's identities (selected_identity).
    pub index: u16,
    /// Resumption or external.
    pub kind: PskKind,
    /// The proof that its binder checked out.
    pub binder: FinishedVerified,
}

/// PSK identities tried per ClientHello, bounding the ticket decryptions a
/// client can make us do.
const MAX_PSK_IDENTITIES: usize = 4;

/// The first PSK the client offers that we can use with `suite` (one of our
/// external PSKs, or a ticket we issued), its binder verified: a bad binder
/// fails the handshake with decrypt_error (RFC 8446 §6.2). Unknown
/// identities are skipped (RFC 8446 §4.2.11). `prefix` is the transcript
/// before this ClientHello and `encoded` the ClientHello.
pub(crate) fn accept(
    config: &ServerConfig,
    ch: &ClientHello,
    suite: &'static Suite,
    prefix: &Transcript,
    encoded: &[u8],
    now: UnixTime,
) -> Result<Option<AcceptedPsk>, Error> {
    let Some(offered) = ch.pre_shared_key() else {
        return Ok(None);
    };
    if config.ticketer.is_none() && config.external_psks.is_empty() {
        return Ok(None);
    }
    let dhe = ch
        .psk_modes()
        .is_some_and(|modes| modes.contains(&PSK_DHE_KE));
    if !dhe {
        // psk_ke alone: no (EC)DHE, so no forward secrecy. A ticket is
        // simply not resumed; our external PSK is refused with the reason.
        if offered
            .identities
            .iter()
            .any(|id| config.external_psk(&id.identity).is_some())
        {
            return Err(Error::HandshakeFailure(
                "the client offers its PSK only without (EC)DHE (psk_ke): no forward secrecy",
            ));
        }
        return Ok(None);
    }
    let truncated_len = encoded
        .len()
        .checked_sub(offered.binders_encoded_len())
        .ok_or(Error::Decode("pre_shared_key binders"))?;
    for (index, identity) in offered
        .identities
        .iter()
        .enumerate()
        .take(MAX_PSK_IDENTITIES)
    {
        let external = config.external_psk(&identity.identity);
        let (secret, kind) = match external {
            Some(psk) if psk.hash == suite.hash => (psk.secret.clone(), PskKind::External),
            Some(_) => continue,
            None => match open_ticket(config, &identity.identity, suite, now) {
                Some(session) => (session.psk.clone(), PskKind::Resumption(session)),
                None => continue,
            },
        };
        let binder = offered
            .binders
            .get(index)
            .ok_or(Error::Decode("pre_shared_key binders"))?;
        let mut transcript = prefix.clone();
        transcript.update(encoded.get(..truncated_len).unwrap_or_default());
        let early = EarlySecret::new(suite.hash, Some(&secret));
        let binder_key = early.binder_key(matches!(kind, PskKind::External));
        let binder = check_finished(
            suite.hash,
            binder_key.as_ref(),
            transcript.current().as_ref(),
            binder,
        )
        .map_err(|_| Error::DecryptError("bad PSK binder"))?;
        let index = u16::try_from(index).map_err(|_| Error::Decode("too many PSK identities"))?;
        return Ok(Some(AcceptedPsk {
            early,
            index,
            kind,
            binder,
        }));
    }
    Ok(None)
}

/// The session sealed in a ticket we issued, if it opens, is fresh and its
/// hash is `suite`'s.
fn open_ticket(
    config: &ServerConfig,
    ticket: &[u8],
    suite: &'static Suite,
    now: UnixTime,
) -> Option<ServerSession> {
    let mut plain = config.ticketer.as_ref()?.decrypt(ticket, now)?;
    let session = ServerSession::decode(&plain);
    plain.zeroize();
    let session = session?;
    let fresh = now.0.saturating_sub(session.issued_at) < u64::from(session.lifetime);
    let same_hash = crate::crypto::tls13_suite(session.suite).is_some_and(|s| s.hash == suite.hash);
    (fresh && same_hash).then_some(session)
}

/// A certificate resolver with no certificate, for a server that
/// authenticates only with external PSKs: a client offering none of them
/// is refused with handshake_failure.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCertificate;

impl crate::config::ResolvesServerCert for NoCertificate {
    fn resolve(
        &self,
        _hello: &crate::config::ClientHelloInfo<'_>,
    ) -> Option<alloc::sync::Arc<crate::config::CertifiedKey>> {
        None
    }
}
