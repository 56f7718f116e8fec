//! After a TLS 1.2 handshake: exporters (RFC 5705) and the refusal of
//! renegotiation (a no_renegotiation warning, RFC 5246 §7.2.2). The
//! handshakes in `client::tls12` and `server::tls12` end in a [`Traffic12`];
//! `conn::dispatch` hands it what arrives afterwards.

use crate::conn::common::{Common, Side};
use crate::crypto::Secret;
use crate::error::Error;
use crate::msgs::enums::AlertDescription;
use crate::msgs::handshake12::Message12;
use crate::tls12::prf::{self as tls12, Finished12Verified};
use crate::tls12::suites::Tls12Suite;
use crate::verify::PeerAuth;

/// Renegotiation attempts answered with a warning before the peer is judged
/// to be flooding us.
const MAX_RENEGOTIATION_ATTEMPTS: u32 = 8;

/// An established TLS 1.2 connection's secrets.
pub(crate) struct Traffic12 {
    pub(crate) side: Side,
    suite: &'static Tls12Suite,
    master: Secret,
    client_random: [u8; 32],
    server_random: [u8; 32],
    renegotiation_attempts: u32,
    /// How the peer was authenticated (or why it needed not be).
    _peer_auth: PeerAuth,
    /// The peer's Finished checked out.
    _peer_finished: Finished12Verified,
}

impl Traffic12 {
    /// The state once both Finished messages have been exchanged; it requires
    /// and keeps the proofs of every check made on the peer: its
    /// authentication (which also tells our side) and its Finished.
    pub(crate) fn new(
        suite: &'static Tls12Suite,
        master: Secret,
        client_random: [u8; 32],
        server_random: [u8; 32],
        peer_auth: PeerAuth,
        peer_finished: Finished12Verified,
    ) -> Self {
        Traffic12 {
            side: peer_auth.our_side(),
            suite,
            master,
            client_random,
            server_random,
            renegotiation_attempts: 0,
            _peer_auth: peer_auth,
            _peer_finished: peer_finished,
        }
    }

    /// Handles a post-handshake message: a HelloRequest (to a client) or a
    /// ClientHello (to a server) gets a no_renegotiation warning; anything
    /// else is unexpected.
    pub(crate) fn handle(&mut self, common: &mut Common, msg: Message12) -> Result<(), Error> {
        match (msg, self.side) {
            (Message12::HelloRequest, Side::Client) | (Message12::ClientHello(_), Side::Server) => {
                self.renegotiation_attempts += 1;
                if self.renegotiation_attempts > MAX_RENEGOTIATION_ATTEMPTS {
                    return Err(Error::UnexpectedMessage("renegotiation flood"));
                }
                common.send_warning(AlertDescription::NoRenegotiation);
                Ok(())
            }
            _ => Err(Error::UnexpectedMessage(
                "handshake message after the TLS 1.2 handshake",
            )),
        }
    }

    /// Exports keying material (RFC 5705); an absent context and an empty one
    /// give different output.
    pub(crate) fn export(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), Error> {
        tls12::export(
            self.suite.hash,
            self.master.as_ref(),
            &self.client_random,
            &self.server_random,
            label,
            context,
            out,
        )
    }
}
