//! After the handshake: application traffic secrets and KeyUpdate.

use crate::conn::{Common, Side};
use crate::crypto::{Secret, Suite, TrafficKey};
use crate::error::Error;
use crate::key_schedule::{next_traffic_secret, FinishedVerified};
use crate::msgs::handshake::{HandshakeMessage, KeyUpdateRequest};

/// The established connection's secrets, kept to derive the next generation
/// on KeyUpdate (RFC 8446 §7.2).
pub(crate) struct Traffic {
    side: Side,
    suite: &'static Suite,
    client_secret: Secret,
    server_secret: Secret,
}

impl Traffic {
    /// The state once both Finished messages have been exchanged; it requires
    /// the proof that the peer's Finished was checked.
    pub fn new(
        side: Side,
        suite: &'static Suite,
        client_secret: Secret,
        server_secret: Secret,
        _peer_finished: FinishedVerified,
    ) -> Self {
        Traffic {
            side,
            suite,
            client_secret,
            server_secret,
        }
    }

    /// Handles a post-handshake message.
    pub fn handle(mut self, common: &mut Common, msg: HandshakeMessage) -> Result<Self, Error> {
        match (msg, self.side) {
            // Resumption is not offered yet: tickets are parsed (strictly) and dropped.
            (HandshakeMessage::NewSessionTicket(_), Side::Client) => Ok(self),
            (HandshakeMessage::KeyUpdate(request), _) => {
                self.update_read_key(common)?;
                if request == KeyUpdateRequest::Requested && !common.key_update_answered {
                    // Answer once, however many requests arrive before we send data.
                    self.send_key_update(common, KeyUpdateRequest::NotRequested)?;
                    common.key_update_answered = true;
                }
                Ok(self)
            }
            _ => Err(Error::UnexpectedMessage(
                "handshake message after the handshake",
            )),
        }
    }

    fn update_read_key(&mut self, common: &mut Common) -> Result<(), Error> {
        let secret = match self.side {
            Side::Client => &mut self.server_secret,
            Side::Server => &mut self.client_secret,
        };
        *secret = next_traffic_secret(self.suite.hash, secret.as_ref());
        common.set_read_key(TrafficKey::from_secret(self.suite, secret.as_ref())?)
    }

    fn send_key_update(
        &mut self,
        common: &mut Common,
        request: KeyUpdateRequest,
    ) -> Result<(), Error> {
        let mut encoded = alloc::vec::Vec::new();
        HandshakeMessage::KeyUpdate(request).encode(&mut encoded);
        common.send_handshake(&encoded)?;
        let secret = match self.side {
            Side::Client => &mut self.client_secret,
            Side::Server => &mut self.server_secret,
        };
        *secret = next_traffic_secret(self.suite.hash, secret.as_ref());
        common.set_write_key(TrafficKey::from_secret(self.suite, secret.as_ref())?);
        Ok(())
    }
}
