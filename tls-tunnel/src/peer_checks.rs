//! The certificate verifiers of ghostunnel's out-of-band key pinning
//! (--allow-spki-pin, --verify-spki-pin: the peer is authenticated by its
//! public key alone, as RFC 7858, section 4.2 describes) and of the
//! client-mode name checks made on top of chain validation (--verify-cn,
//! --verify-ou, --verify-dns, --verify-uri).

use std::sync::Arc;

use tls_core::{
    ClientCertVerified, ClientCertVerifier, ServerCertVerified, ServerCertVerifier, UnixTime,
};

use crate::config::{NameRules, SpkiPin};

/// True when the public key of the DER certificate `der` matches a pin.
fn pinned(pins: &[SpkiPin], der: &[u8]) -> bool {
    crate::access::peer_names(der).is_ok_and(|n| pins.iter().any(|p| p.matches(&n.spki)))
}

/// Server mode: a client is admitted when its certificate's key matches a
/// pin; the handshake still proves it holds that key.
pub struct PinnedClients(pub Vec<SpkiPin>);

impl ClientCertVerifier for PinnedClients {
    fn verify_client_cert(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, tls_core::Error> {
        if pinned(&self.0, end_entity) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(tls_core::Error::AccessDenied(
                "client certificate's public key matches no --allow-spki-pin",
            ))
        }
    }
}

/// Client mode: the server is accepted when its certificate's key matches
/// a pin, whatever the chain, validity or names.
pub struct PinnedServer(pub Vec<SpkiPin>);

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, tls_core::Error> {
        if pinned(&self.0, end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(tls_core::Error::BadCertificate(
                "server certificate's public key matches no --verify-spki-pin",
            ))
        }
    }
}

/// Client mode's stunnel `verifyPeer`: the server's certificate must be one
/// of those listed in the CA file, byte for byte, and valid now (OpenSSL
/// checks the validity of the trusted certificate too, so stunnel refuses an
/// expired one).
pub struct ListedServer(pub Vec<Vec<u8>>);

impl ServerCertVerifier for ListedServer {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, tls_core::Error> {
        // Certificates are public: no constant-time comparison is needed.
        if !self.0.iter().any(|c| c.as_slice() == end_entity) {
            return Err(tls_core::Error::BadCertificate(
                "server certificate is not in the CA file (verifyPeer)",
            ));
        }
        tls_core::x509::check_trusted_certificate(end_entity, None, now)?;
        Ok(ServerCertVerified::assertion())
    }
}

/// Client mode: `inner`'s verification, then one of the names of `rules`.
pub struct NamesChecked {
    /// The chain and host-name verification.
    pub inner: Arc<dyn ServerCertVerifier>,
    /// The names the certificate must also carry, any one of them.
    pub rules: NameRules,
    /// The service, for the log line saying why.
    pub service: String,
}

impl ServerCertVerifier for NamesChecked {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, tls_core::Error> {
        let verified =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, now)?;
        if let Err(why) = crate::access::check_server(&self.rules, end_entity) {
            tracing::warn!(service = %self.service, "{why}");
            return Err(tls_core::Error::BadCertificate(
                "server certificate matches no --verify-cn/-ou/-dns/-uri",
            ));
        }
        Ok(verified)
    }
}
