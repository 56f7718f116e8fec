//! The certificate verifiers of ghostunnel's out-of-band key pinning
//! (--allow-spki-pin, --verify-spki-pin: the peer is authenticated by its
//! public key alone, as RFC 7858, section 4.2 describes) and of the
//! client-mode name checks made on top of chain validation (--verify-cn,
//! --verify-ou, --verify-dns, --verify-uri).

use crate::config::{NameRules, SpkiPin};
use crate::tls::checked::{Check, Peer};

/// ghostunnel's key pinning: the peer is admitted when its certificate's
/// key matches a pin, whatever the chain, validity or names; the handshake
/// still proves it holds that key.
pub struct Pinned {
    pins: Vec<SpkiPin>,
    /// The refusal of a key that matches no pin.
    refusal: tls_core::Error,
}

impl Pinned {
    /// Server mode's `--allow-spki-pin`: the clients admitted.
    pub fn clients(pins: Vec<SpkiPin>) -> Pinned {
        Pinned {
            pins,
            refusal: tls_core::Error::AccessDenied(
                "client certificate's public key matches no --allow-spki-pin",
            ),
        }
    }

    /// Client mode's `--verify-spki-pin`: the servers accepted.
    pub fn servers(pins: Vec<SpkiPin>) -> Pinned {
        Pinned {
            pins,
            refusal: tls_core::Error::BadCertificate(
                "server certificate's public key matches no --verify-spki-pin",
            ),
        }
    }
}

impl Check for Pinned {
    fn check(&self, peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        let matched = crate::access::peer_names(peer.end_entity)
            .is_ok_and(|n| self.pins.iter().any(|p| p.matches(&n.spki)));
        if matched {
            Ok(())
        } else {
            Err(self.refusal.clone())
        }
    }
}

/// Client mode's stunnel `verifyPeer`: the server's certificate must be one
/// of those listed in the CA file, byte for byte, and valid now (OpenSSL
/// checks the validity of the trusted certificate too, so stunnel refuses an
/// expired one).
pub struct ListedServer(pub Vec<Vec<u8>>);

impl Check for ListedServer {
    fn check(&self, peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        // Certificates are public: no constant-time comparison is needed.
        if !self.0.iter().any(|c| c.as_slice() == peer.end_entity) {
            return Err(tls_core::Error::BadCertificate(
                "server certificate is not in the CA file (verifyPeer)",
            ));
        }
        Ok(tls_core::x509::check_trusted_certificate(
            peer.end_entity,
            None,
            peer.now,
        )?)
    }
}

/// Client mode, on top of the chain and host-name verification: one of the
/// names of `rules`.
pub struct NamesChecked {
    /// The names the certificate must also carry, any one of them.
    pub rules: NameRules,
    /// The service, for the log line saying why.
    pub service: String,
}

impl Check for NamesChecked {
    fn check(&self, peer: &Peer<'_>) -> Result<(), tls_core::Error> {
        if let Err(why) = crate::access::check_server(&self.rules, peer.end_entity) {
            tracing::warn!(service = %self.service, "{why}");
            return Err(tls_core::Error::BadCertificate(
                "server certificate matches no --verify-cn/-ou/-dns/-uri",
            ));
        }
        Ok(())
    }
}
