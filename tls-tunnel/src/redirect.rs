//! stunnel's `redirect`: in server mode, a client whose certificate fails
//! verification (or who sends none) is not refused; it is connected to the
//! redirect addresses instead of the service's targets.
//!
//! The engine's verifier is shared by every connection of the service, so
//! it cannot carry one connection's verdict. In redirect mode it admits
//! whatever the real verifier refuses (the client must still prove it holds
//! the certificate's key), and after the handshake the service asks the
//! real verifier again about the certificate the session holds, full or
//! resumed handshake alike. Only an [`Admitted`] proof, which nothing but
//! that verification (or, without redirect, the engine's) makes, leads to
//! the service's own targets.

use std::sync::Arc;

use tls_core::{
    ClientCertVerified, ClientCertVerifier, Clock, Negotiated, SignatureScheme, SignatureVerified,
    SystemClock, UnixTime,
};

use crate::config::Addr;

/// A service's redirect: the real verifier and where failures go.
pub struct Redirect {
    check: Arc<dyn ClientCertVerifier>,
    targets: Vec<Addr>,
}

/// Proof that this connection's client may reach the service's own
/// targets: the engine verified it (no redirect: the engine refuses
/// failures), or the real verifier did after the handshake. Made only by
/// [`destination`].
pub struct Admitted(());

/// Where a server-mode connection goes once its handshake is done.
pub enum Destination<'a> {
    /// The service's targets (or program).
    Service(Admitted),
    /// The client failed verification: these targets, and why.
    Redirected(&'a [Addr], String),
}

/// Where the connection of `n` goes, for a service with `redirect` (or none).
pub fn destination<'a>(redirect: Option<&'a Redirect>, n: &Negotiated) -> Destination<'a> {
    match redirect {
        None => Destination::Service(Admitted(())),
        Some(r) => match r.judge(n) {
            Ok(()) => Destination::Service(Admitted(())),
            Err(why) => Destination::Redirected(&r.targets, why),
        },
    }
}

impl Redirect {
    /// In redirect mode (`targets` not empty): replaces the engine
    /// verifier of `verifier` with one that admits failures, and returns
    /// the redirect that judges connections after their handshake.
    pub fn install(
        verifier: &mut Option<Arc<dyn ClientCertVerifier>>,
        targets: &[Addr],
    ) -> Option<Redirect> {
        if targets.is_empty() {
            return None;
        }
        let check = verifier.take()?;
        *verifier = Some(Arc::new(AdmitFailures(check.clone())));
        Some(Redirect {
            check,
            targets: targets.to_vec(),
        })
    }

    /// Asks the real verifier about the certificate a finished handshake
    /// holds; why not, when it refuses.
    fn judge(&self, n: &Negotiated) -> Result<(), String> {
        let Some((leaf, intermediates)) = n.peer_certificates.split_first() else {
            return Err("no client certificate".into());
        };
        self.check
            .verify_client_cert(leaf, intermediates, SystemClock.now())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The engine verifier of redirect mode: what the real verifier refuses is
/// admitted (and judged again after the handshake); a client without a
/// certificate is admitted too. Signatures are still checked.
struct AdmitFailures(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for AdmitFailures {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, tls_core::Error> {
        match self.0.verify_client_cert(end_entity, intermediates, now) {
            Ok(v) => Ok(v),
            Err(e) => {
                tracing::debug!("client certificate failed ({e}): to be redirected");
                Ok(ClientCertVerified::assertion())
            }
        }
    }

    fn verify_tls13_signature(
        &self,
        end_entity: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureVerified, tls_core::Error> {
        self.0
            .verify_tls13_signature(end_entity, scheme, message, signature)
    }

    fn supported_schemes(&self) -> &[SignatureScheme] {
        self.0.supported_schemes()
    }

    fn verify_tls12_signature(
        &self,
        end_entity: &[u8],
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureVerified, tls_core::Error> {
        self.0
            .verify_tls12_signature(end_entity, scheme, message, signature)
    }

    fn supported_tls12_schemes(&self) -> &[SignatureScheme] {
        self.0.supported_tls12_schemes()
    }

    fn mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[Vec<u8>] {
        self.0.root_hint_subjects()
    }
}
