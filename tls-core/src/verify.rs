//! Deciding whether the peer's certificate is acceptable.

use alloc::vec::Vec;

use crate::config::UnixTime;
use crate::crypto;
use crate::der;
use crate::error::Error;
use crate::msgs::enums::SignatureScheme;
use crate::tls13::key_schedule::FinishedVerified;
use crate::Side;

/// Proof that a verifier accepted the server's certificate chain; the state
/// machine cannot move on to CertificateVerify without one.
#[derive(Debug)]
pub struct ServerCertVerified(());

impl ServerCertVerified {
    /// Made only by a verifier that has accepted a chain.
    pub fn assertion() -> Self {
        ServerCertVerified(())
    }
}

/// Proof that the peer's CertificateVerify signature checked out.
#[derive(Debug)]
pub struct SignatureVerified(());

impl SignatureVerified {
    /// Made only by a verifier that has checked a signature.
    pub fn assertion() -> Self {
        SignatureVerified(())
    }
}

/// Proof that a verifier accepted the client's certificate chain.
#[derive(Debug)]
pub struct ClientCertVerified(());

impl ClientCertVerified {
    /// Made only by a verifier that has accepted a chain.
    pub fn assertion() -> Self {
        ClientCertVerified(())
    }
}

/// How a client knows who the server is: the proofs of the checks it made,
/// held to the end of the handshake and by its traffic state. Each variant
/// is built where the handshake takes that path, never as a default.
#[derive(Debug)]
pub(crate) enum ServerAuth {
    /// The chain was accepted and the handshake signature (TLS 1.3
    /// CertificateVerify, TLS 1.2 ServerKeyExchange) checked.
    Certified(ServerCertVerified, SignatureVerified),
    /// A resumed session (TLS 1.3 ticket, TLS 1.2 session ID or ticket):
    /// the server was certified in the full handshake, and its Finished,
    /// keyed from that session's secret, shows it is the same server.
    Resumed,
    /// TLS 1.3 with our external PSK: no certificate; the server's Finished,
    /// keyed from the PSK, shows it holds the key.
    ExternalPsk,
}

/// How a server knows who the client is: the proofs of the checks it made
/// (or why none was due), held to the end of the handshake and by its
/// traffic state. Each variant is built where the handshake takes that
/// path, never as a default.
#[derive(Debug)]
pub(crate) enum ClientAuth {
    /// No client certificate was asked for: no client verifier is
    /// configured.
    NotRequested,
    /// One was asked for; the client sent none and the verifier allows that.
    NoneOffered,
    /// The client's chain was accepted and its CertificateVerify checked.
    Certified(ClientCertVerified, SignatureVerified),
    /// A resumed TLS 1.2 session: the client was authenticated (or not) in
    /// the full handshake; its Finished, keyed from that session's master
    /// secret, shows it is the same client.
    Resumed12,
    /// A TLS 1.3 resumption ticket whose PSK binder checked out.
    ResumedPsk(FinishedVerified),
    /// One of our external PSKs, whose binder checked out.
    ExternalPsk(FinishedVerified),
}

/// The peer's authentication, by the peer's side: a traffic state requires
/// it, keeps it (the proof is held, never read), and takes our own side
/// from it. Made from a [`ServerAuth`] or a [`ClientAuth`] with `from`.
#[derive(Debug)]
pub(crate) enum PeerAuth {
    /// The peer is a server (we are the client).
    Server { _auth: ServerAuth },
    /// The peer is a client (we are the server).
    Client { _auth: ClientAuth },
}

impl From<ServerAuth> for PeerAuth {
    fn from(auth: ServerAuth) -> Self {
        PeerAuth::Server { _auth: auth }
    }
}

impl From<ClientAuth> for PeerAuth {
    fn from(auth: ClientAuth) -> Self {
        PeerAuth::Client { _auth: auth }
    }
}

impl PeerAuth {
    /// The side of the connection that holds this proof.
    pub(crate) fn our_side(&self) -> Side {
        match self {
            PeerAuth::Server { .. } => Side::Client,
            PeerAuth::Client { .. } => Side::Server,
        }
    }
}

/// The signature schemes a client accepts for TLS 1.3 handshake signatures.
pub const TLS13_SIGNATURE_SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::EcdsaSecp384r1Sha384,
    SignatureScheme::Ed25519,
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
];

/// Decides whether a server's certificate chain is acceptable for a name.
pub trait ServerCertVerifier: Send + Sync {
    /// Checks the chain (end-entity certificate first, then what the server sent
    /// as intermediates) for `server_name` at time `now`.
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error>;

    /// Checks a TLS 1.3 CertificateVerify signature made with the end-entity
    /// certificate's key.
    fn verify_tls13_signature(
        &self,
        end_entity: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureVerified, Error> {
        verify_with_certificate_key(end_entity, scheme, message, signature)
    }

    /// The signature schemes to offer in signature_algorithms.
    fn supported_schemes(&self) -> &[SignatureScheme] {
        &TLS13_SIGNATURE_SCHEMES
    }

    /// Checks the DER OCSPResponse the server stapled for `end_entity`
    /// (asked for with [`crate::ClientConfig::request_ocsp`]); called once
    /// [`ServerCertVerifier::verify_server_cert`] has accepted the same
    /// chain, and only when a response came. An error aborts the handshake
    /// with its alert ([`Error::BadCertificateStatus`] for an unsatisfactory
    /// response: bad_certificate_status_response, RFC 6066 §8).
    ///
    /// The default accepts it unchecked: the response stays available in
    /// [`crate::Negotiated::ocsp_response`] for a caller that checks it
    /// after the handshake.
    fn verify_stapled_ocsp(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        response: &[u8],
        now: UnixTime,
    ) -> Result<(), Error> {
        let _ = (end_entity, intermediates, response, now);
        Ok(())
    }

    /// Checks a TLS 1.2 ServerKeyExchange signature made with the end-entity
    /// certificate's key.
    fn verify_tls12_signature(
        &self,
        end_entity: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureVerified, Error> {
        verify_tls12_with_certificate_key(end_entity, scheme, message, signature)
    }

    /// The signature schemes accepted in TLS 1.2 (RSA PKCS#1 added, never SHA-1).
    fn supported_tls12_schemes(&self) -> &[SignatureScheme] {
        &crate::crypto::TLS12_SIGNATURE_SCHEMES
    }
}

/// Checks a TLS 1.2 handshake signature with the key of `end_entity`.
pub fn verify_tls12_with_certificate_key(
    end_entity: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureVerified, Error> {
    let spki = crypto::cert_spki(end_entity)?;
    crate::crypto::verify_tls12_signature(spki, scheme, message, signature)?;
    Ok(SignatureVerified::assertion())
}

/// Checks a TLS 1.3 handshake signature with the key of `end_entity`.
pub fn verify_with_certificate_key(
    end_entity: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureVerified, Error> {
    let spki = crypto::cert_spki(end_entity)?;
    crypto::verify_tls13_signature(spki, scheme, message, signature)?;
    Ok(SignatureVerified::assertion())
}

/// The peer's end-entity certificate signs the handshake (its
/// CertificateVerify, or a TLS 1.2 ServerKeyExchange), so a keyUsage
/// extension, when present, must assert digitalSignature (RFC 5280
/// §4.2.1.3; RFC 8446 §4.4.2.2: the certificate MUST allow the key to be used
/// with the signature scheme). The engine checks it for every peer leaf,
/// whatever the verifier decided (as BoringSSL does): a verifier that pins
/// or accepts any chain does not lift it. Refused: bad_certificate, the
/// alert the X.509 path validation sends for the same defect.
pub(crate) fn check_peer_leaf_key_usage(end_entity: &[u8]) -> Result<(), Error> {
    const MALFORMED: Error = Error::BadCertificate("malformed certificate");
    // id-ce-keyUsage, 2.5.29.15
    const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    // Past the subjectPublicKeyInfo (see `crypto::cert_spki`): the optional
    // unique IDs and the [3] extensions.
    let mut outer = der::Reader::new(end_entity);
    let mut tbs = outer
        .sequence()
        .and_then(|mut cert| cert.sequence())
        .ok_or(MALFORMED)?;
    tbs.optional(der::context_constructed(0)).ok_or(MALFORMED)?; // version
    for tag in [der::INTEGER, der::SEQUENCE, der::SEQUENCE, der::SEQUENCE] {
        tbs.take(tag).ok_or(MALFORMED)?; // serial, signature, issuer, validity
    }
    tbs.take(der::SEQUENCE).ok_or(MALFORMED)?; // subject
    tbs.take(der::SEQUENCE).ok_or(MALFORMED)?; // subjectPublicKeyInfo
    tbs.optional(der::context(1)).ok_or(MALFORMED)?;
    tbs.optional(der::context(2)).ok_or(MALFORMED)?;
    let Some(extensions) = tbs.optional(der::context_constructed(3)).ok_or(MALFORMED)? else {
        return Ok(());
    };
    let mut list = der::Reader::new(der::single(extensions, der::SEQUENCE).ok_or(MALFORMED)?);
    while !list.is_empty() {
        let mut ext = list.sequence().ok_or(MALFORMED)?;
        let oid = ext.take(der::OID).ok_or(MALFORMED)?;
        ext.optional(der::BOOLEAN).ok_or(MALFORMED)?; // critical
        let value = ext.take(der::OCTET_STRING).ok_or(MALFORMED)?;
        if oid != KEY_USAGE {
            continue;
        }
        // digitalSignature is bit 0: the first byte's high bit.
        let (_, bits) = der::single(value, der::BIT_STRING)
            .and_then(der::bit_string)
            .ok_or(MALFORMED)?;
        if bits.first().is_none_or(|b| b & 0x80 == 0) {
            return Err(Error::BadCertificate(
                "end-entity keyUsage lacks digitalSignature",
            ));
        }
    }
    Ok(())
}

/// Decides whether a client's certificate chain is acceptable (mutual TLS).
pub trait ClientCertVerifier: Send + Sync {
    /// Checks the client's chain (end-entity first) at time `now`.
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error>;

    /// Checks the client's CertificateVerify signature.
    fn verify_tls13_signature(
        &self,
        end_entity: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureVerified, Error> {
        verify_with_certificate_key(end_entity, scheme, message, signature)
    }

    /// The signature schemes to request in the CertificateRequest.
    fn supported_schemes(&self) -> &[SignatureScheme] {
        &TLS13_SIGNATURE_SCHEMES
    }

    /// Checks the client's TLS 1.2 CertificateVerify signature.
    fn verify_tls12_signature(
        &self,
        end_entity: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureVerified, Error> {
        verify_tls12_with_certificate_key(end_entity, scheme, message, signature)
    }

    /// The signature schemes to request in a TLS 1.2 CertificateRequest.
    fn supported_tls12_schemes(&self) -> &[SignatureScheme] {
        &crate::crypto::TLS12_SIGNATURE_SCHEMES
    }

    /// True when a client without a certificate is refused (certificate_required).
    fn mandatory(&self) -> bool {
        true
    }

    /// DER-encoded subject names of acceptable CAs, sent as certificate_authorities.
    fn root_hint_subjects(&self) -> &[Vec<u8>] {
        &[]
    }
}

/// Accepts exactly a fixed set of end-entity certificates, compared byte for
/// byte (stunnel's `verifyPeer`): no chain, name or validity checks.
#[derive(Debug, Clone)]
pub struct PinnedCertVerifier {
    pins: Vec<Vec<u8>>,
}

impl PinnedCertVerifier {
    /// A verifier accepting these DER certificates.
    pub fn new(pins: Vec<Vec<u8>>) -> Self {
        PinnedCertVerifier { pins }
    }
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        // Certificates are public: no constant-time comparison is needed.
        if self.pins.iter().any(|pin| pin.as_slice() == end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::BadCertificate("certificate is not pinned"))
        }
    }
}

impl ClientCertVerifier for PinnedCertVerifier {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        if self.pins.iter().any(|pin| pin.as_slice() == end_entity) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(Error::BadCertificate("certificate is not pinned"))
        }
    }
}
