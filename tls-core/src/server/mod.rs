//! The server: the state machine the connection feeds. The first
//! ClientHello goes through [`crate::versions::choose_version`]; `tls13`
//! handles a TLS 1.3 handshake (including a HelloRetryRequest and the second
//! ClientHello), `tls12` takes over when TLS 1.2 is chosen.

pub(crate) mod tls12;
mod tls13;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;

use crate::config::ServerConfig;
use crate::conn::common::Common;
use crate::error::Error;
use crate::msgs::enums::ProtocolVersion;
use crate::msgs::handshake::HandshakeMessage;
use crate::tls13::traffic::Traffic;

use tls13::{ExpectCertificate, ExpectCertificateVerify, ExpectClientHello, ExpectFinished};

/// What the server state machine moves to after a message (transient, so
/// the size difference between variants does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Next {
    /// Still handshaking.
    Handshaking(Box<ServerState>),
    /// Handshake complete.
    Traffic(Box<Traffic>),
    /// The ClientHello chose TLS 1.2.
    Tls12(Box<tls12::ServerState12>),
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
    pub(crate) fn handle(
        self,
        common: &mut Common,
        msg: HandshakeMessage,
        encoded: &[u8],
    ) -> Result<Next, Error> {
        match (self, msg) {
            (ServerState::ExpectClientHello(s), HandshakeMessage::ClientHello(ch)) => {
                let first = s.retry.is_none();
                common.client_random = ch.random;
                if first
                    && crate::versions::choose_version(&s.config, &ch)? == ProtocolVersion::Tls12
                {
                    return tls12::start(common, s.config, ch, encoded)
                        .map(|s| Next::Tls12(Box::new(s)));
                }
                s.handle(common, ch, encoded)
                    .map(|s| Next::Handshaking(Box::new(s)))
            }
            (ServerState::ExpectCertificate(s), HandshakeMessage::Certificate(c)) => s
                .handle(common, c, encoded)
                .map(|s| Next::Handshaking(Box::new(s))),
            (ServerState::ExpectCertificateVerify(s), HandshakeMessage::CertificateVerify(cv)) => s
                .handle(cv, encoded)
                .map(|s| Next::Handshaking(Box::new(s))),
            (ServerState::ExpectFinished(s), HandshakeMessage::Finished(f)) => s
                .handle(common, f, encoded)
                .map(|t| Next::Traffic(Box::new(t))),
            (_, _) => Err(Error::UnexpectedMessage("handshake message out of order")),
        }
    }
}

/// A SNI host name as a string: printable ASCII, as RFC 6066 requires.
pub(crate) fn host_name(raw: &[u8]) -> Result<String, Error> {
    if raw.is_empty() || !raw.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Error::IllegalParameter("server_name is not a host name"));
    }
    Ok(raw.iter().map(|&b| char::from(b)).collect())
}
