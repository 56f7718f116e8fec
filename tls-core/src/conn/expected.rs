//! Which handshake message types each state accepts: the whole table in one
//! place. `Connection` checks a message's type against it before decoding
//! the body, so a message that does not belong in the current state is
//! unexpected_message however malformed its body is (RFC 8446 §6.2: a first
//! message that is not a ClientHello is not a decode_error). Each state's
//! handler still matches the decoded message, so the two cannot disagree
//! into accepting something: a type missing here is refused early, and a
//! type listed here that the handler does not take is refused there.

use crate::client::tls12::ClientState12;
use crate::client::ClientState;
use crate::conn::{Side, State};
use crate::msgs::enums::HandshakeType;
use crate::server::tls12::ServerState12;
use crate::server::ServerState;

use HandshakeType as T;

impl State {
    /// True when a handshake message of type `typ` may come now.
    pub(crate) fn expects(&self, typ: HandshakeType) -> bool {
        match self {
            State::Client(s) => s.expects(typ),
            State::Server(s) => s.expects(typ),
            // After the TLS 1.3 handshake: tickets (to a client) and KeyUpdate.
            State::Traffic(t) => match t.side {
                Side::Client => matches!(typ, T::NewSessionTicket | T::KeyUpdate),
                Side::Server => typ == T::KeyUpdate,
            },
            State::Client12(s) => s.expects(typ),
            State::Server12(s) => s.expects(typ),
            // After the TLS 1.2 handshake: a renegotiation attempt, refused
            // with a no_renegotiation warning.
            State::Traffic12(t) => match t.side {
                Side::Client => typ == T::HelloRequest,
                Side::Server => typ == T::ClientHello,
            },
            State::Failed => false,
        }
    }
}

impl ClientState {
    fn expects(&self, typ: HandshakeType) -> bool {
        match self {
            // ServerHello, HelloRetryRequest, or a TLS 1.2 ServerHello.
            ClientState::ExpectServerHello(_) => typ == T::ServerHello,
            ClientState::ExpectEncryptedExtensions(_) => typ == T::EncryptedExtensions,
            ClientState::ExpectCertificate(_) => {
                matches!(typ, T::Certificate | T::CertificateRequest)
            }
            ClientState::ExpectCertificateVerify(_) => typ == T::CertificateVerify,
            ClientState::ExpectFinished(_) => typ == T::Finished,
        }
    }
}

impl ServerState {
    fn expects(&self, typ: HandshakeType) -> bool {
        typ == match self {
            // The first ClientHello, or the second after a HelloRetryRequest.
            ServerState::ExpectClientHello(_) => T::ClientHello,
            ServerState::ExpectCertificate(_) => T::Certificate,
            ServerState::ExpectCertificateVerify(_) => T::CertificateVerify,
            ServerState::ExpectFinished(_) => T::Finished,
        }
    }
}

impl ClientState12 {
    fn expects(&self, typ: HandshakeType) -> bool {
        // A HelloRequest is ignored during the handshake (RFC 5246 §7.4.1.1).
        typ == T::HelloRequest
            || match self {
                ClientState12::ExpectCertificate(_) => typ == T::Certificate,
                ClientState12::ExpectCertificateStatus(_) => {
                    matches!(typ, T::CertificateStatus | T::ServerKeyExchange)
                }
                ClientState12::ExpectServerKeyExchange(_) => typ == T::ServerKeyExchange,
                ClientState12::ExpectServerHelloDone(_) => {
                    matches!(typ, T::CertificateRequest | T::ServerHelloDone)
                }
                ClientState12::ExpectNewSessionTicket(_) => typ == T::NewSessionTicket,
                // Only a ChangeCipherSpec record (or that HelloRequest).
                ClientState12::ExpectChangeCipherSpec(_) => false,
                ClientState12::ExpectFinished(_) => typ == T::Finished,
            }
    }
}

impl ServerState12 {
    fn expects(&self, typ: HandshakeType) -> bool {
        match self {
            ServerState12::ExpectCertificate(_) => typ == T::Certificate,
            ServerState12::ExpectClientKeyExchange(_) => typ == T::ClientKeyExchange,
            ServerState12::ExpectCertificateVerify(_) => typ == T::CertificateVerify,
            ServerState12::ExpectChangeCipherSpec(_) => false,
            ServerState12::ExpectFinished(_) => typ == T::Finished,
        }
    }
}
