//! One shape for every certificate verifier of the tunnel: a [`Check`]
//! stacked on the verifier below it ([`Checked`]). The wrapper does what all
//! of them share: it asks the verifier below first, hands the handshake
//! signatures, the OCSP staple and the CA hints to it, and offers its
//! signature schemes; a check states only what it adds (a chain to a CA, a
//! pin, names, a security level, redirect's admission of failures).
//!
//! At the bottom sits [`AcceptAny`], which accepts every chain and leaves
//! signatures to tls-core's own checks, so a check on its own is a complete
//! verifier: see [`server`] and [`client`].

use std::sync::Arc;

use tls_core::{
    ClientCertVerified, ClientCertVerifier, Error, ServerCertVerified, ServerCertVerifier,
    SignatureScheme, SignatureVerified, UnixTime,
};

/// The peer's certificates as a verifier is asked about them.
pub struct Peer<'a> {
    /// The end-entity certificate (DER).
    pub end_entity: &'a [u8],
    /// The other certificates the peer sent, in its order (DER).
    pub intermediates: &'a [Vec<u8>],
    /// Client mode: the name the server was reached by; `None` for a client
    /// certificate (or when no name was given).
    pub server_name: Option<&'a str>,
    /// The time of the check.
    pub now: UnixTime,
}

/// What one verifier adds to the verifier below it.
pub trait Check: Send + Sync {
    /// Judges a chain the verifier below accepted.
    fn check(&self, peer: &Peer<'_>) -> Result<(), Error>;

    /// What becomes of a chain the verifier below refused with `error`:
    /// refused by default.
    fn refused_below(&self, _peer: &Peer<'_>, error: Error) -> Result<(), Error> {
        Err(error)
    }

    /// True when the signature scheme `scheme`, which the verifier below
    /// offers, is offered too (all by default).
    fn keeps(&self, _scheme: SignatureScheme) -> bool {
        true
    }

    /// Client certificates: whether a client must send one, given what the
    /// verifier below says (`below`, kept by default).
    fn mandatory(&self, below: bool) -> bool {
        below
    }
}

/// A [`Check`] on top of the verifier `below` (a `dyn ServerCertVerifier` or
/// a `dyn ClientCertVerifier`).
pub struct Checked<V: ?Sized, C> {
    below: Arc<V>,
    check: C,
    tls13: Vec<SignatureScheme>,
    tls12: Vec<SignatureScheme>,
}

/// The schemes of `all` that `check` keeps.
fn kept(check: &impl Check, all: &[SignatureScheme]) -> Vec<SignatureScheme> {
    all.iter().copied().filter(|s| check.keeps(*s)).collect()
}

/// The signature schemes a verifier offers: TLS 1.3's, then TLS 1.2's.
type Offered<V> = fn(&V) -> (&[SignatureScheme], &[SignatureScheme]);

impl<V: ?Sized, C: Check> Checked<V, C> {
    /// `check` on `below`, offering what `offered` says `below` offers and
    /// `check` keeps.
    fn new(below: Arc<V>, check: C, offered: Offered<V>) -> Self {
        let (tls13, tls12) = offered(&below);
        let (tls13, tls12) = (kept(&check, tls13), kept(&check, tls12));
        Checked {
            below,
            check,
            tls13,
            tls12,
        }
    }

    /// The verdict: the verifier below's (`below`), then the check's.
    fn judge(&self, peer: &Peer<'_>, below: Result<(), Error>) -> Result<(), Error> {
        match below {
            Ok(()) => self.check.check(peer),
            Err(e) => self.check.refused_below(peer, e),
        }
    }
}

/// Accepts every chain; the handshake signatures are checked by tls-core's
/// defaults (the holder of a certificate must still prove it has its key).
/// The bottom of every stack of checks: on its own, stunnel's
/// `verifyChain = no` (client mode) and `requireCert = yes` without
/// verification (server mode).
pub struct AcceptAny;

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }
}

impl ClientCertVerifier for AcceptAny {
    fn verify_client_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        Ok(ClientCertVerified::assertion())
    }
}

/// `check` on top of the server-certificate verifier `below`.
pub fn on_server<C: Check + 'static>(
    below: Arc<dyn ServerCertVerifier>,
    check: C,
) -> Arc<dyn ServerCertVerifier> {
    Arc::new(Checked::new(below, check, |v| {
        (v.supported_schemes(), v.supported_tls12_schemes())
    }))
}

/// `check` on top of the client-certificate verifier `below`.
pub fn on_client<C: Check + 'static>(
    below: Arc<dyn ClientCertVerifier>,
    check: C,
) -> Arc<dyn ClientCertVerifier> {
    Arc::new(Checked::new(below, check, |v| {
        (v.supported_schemes(), v.supported_tls12_schemes())
    }))
}

/// `check` alone as the verifier of server certificates.
pub fn server<C: Check + 'static>(check: C) -> Arc<dyn ServerCertVerifier> {
    on_server(Arc::new(AcceptAny), check)
}

/// `check` alone as the verifier of client certificates.
pub fn client<C: Check + 'static>(check: C) -> Arc<dyn ClientCertVerifier> {
    on_client(Arc::new(AcceptAny), check)
}

/// The handshake-signature methods of a [`Checked`], the same on both
/// sides: the verifier below checks signatures, and the schemes offered are
/// those of its that the check keeps.
macro_rules! signatures_below {
    () => {
        signatures_below!(
            verify_tls13_signature, supported_schemes, tls13;
            verify_tls12_signature, supported_tls12_schemes, tls12
        );
    };
    ($($verify:ident, $schemes:ident, $kept:ident);+) => {
        $(
            fn $verify(
                &self,
                end_entity: &[u8],
                scheme: SignatureScheme,
                message: &[u8],
                signature: &[u8],
            ) -> Result<SignatureVerified, Error> {
                self.below.$verify(end_entity, scheme, message, signature)
            }

            fn $schemes(&self) -> &[SignatureScheme] {
                &self.$kept
            }
        )+
    };
}

impl<C: Check> ServerCertVerifier for Checked<dyn ServerCertVerifier, C> {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let below = self
            .below
            .verify_server_cert(end_entity, intermediates, server_name, now)
            .map(|_| ());
        let peer = Peer {
            end_entity,
            intermediates,
            server_name,
            now,
        };
        self.judge(&peer, below)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_stapled_ocsp(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        response: &[u8],
        now: UnixTime,
    ) -> Result<(), Error> {
        self.below
            .verify_stapled_ocsp(end_entity, intermediates, response, now)
    }

    signatures_below!();
}

impl<C: Check> ClientCertVerifier for Checked<dyn ClientCertVerifier, C> {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let below = self
            .below
            .verify_client_cert(end_entity, intermediates, now)
            .map(|_| ());
        let peer = Peer {
            end_entity,
            intermediates,
            server_name: None,
            now,
        };
        self.judge(&peer, below)
            .map(|()| ClientCertVerified::assertion())
    }

    signatures_below!();

    fn mandatory(&self) -> bool {
        self.check.mandatory(self.below.mandatory())
    }

    fn root_hint_subjects(&self) -> &[Vec<u8>] {
        self.below.root_hint_subjects()
    }
}
