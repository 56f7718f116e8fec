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

use tls_core::{ClientCertVerifier, Clock, Negotiated, SystemClock};

use crate::config::Addr;
use crate::tls::checked::{self, Check, Peer};

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
        *verifier = Some(checked::on_client(check.clone(), AdmitFailures));
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

/// The engine verifier's check in redirect mode: what the real verifier
/// below refuses is admitted (and judged again after the handshake); a
/// client without a certificate is admitted too. Signatures are still
/// checked.
struct AdmitFailures;

impl Check for AdmitFailures {
    fn check(&self, _peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        Ok(())
    }

    fn refused_below(&self, _peer: &Peer<'_>, e: tls_core::Error) -> Result<(), tls_core::Error> {
        tracing::debug!("client certificate failed ({e}): to be redirected");
        Ok(())
    }

    fn mandatory(&self, _below: bool) -> bool {
        false
    }
}
