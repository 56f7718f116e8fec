//! After the handshake: application traffic secrets, KeyUpdate and exporters.

use alloc::vec::Vec;

use crate::conn::{Common, Side};
use crate::crypto::{Secret, Suite, TrafficKey};
use crate::error::Error;
use crate::key_schedule::{
    export_keying_material, next_traffic_secret, FinishedVerified, MasterSecret,
};
use crate::msgs::handshake::{HandshakeMessage, KeyUpdateRequest};

/// KeyUpdates accepted from the peer without application data in between;
/// more is a flood (each costs a key derivation).
const MAX_KEY_UPDATES_WITHOUT_DATA: u32 = 32;

/// The secrets derived from the master secret and the handshake transcript
/// (through the server's Finished).
pub(crate) struct AppSecrets {
    client: Secret,
    server: Secret,
    exporter: Secret,
}

impl AppSecrets {
    /// Derives the application traffic and exporter secrets.
    pub fn derive(master: &MasterSecret, handshake_hash: &[u8]) -> Self {
        AppSecrets {
            client: master.client_traffic(handshake_hash),
            server: master.server_traffic(handshake_hash),
            exporter: master.exporter(handshake_hash),
        }
    }

    /// The client's first application traffic secret.
    pub fn client(&self) -> &[u8] {
        self.client.as_ref()
    }

    /// The server's first application traffic secret.
    pub fn server(&self) -> &[u8] {
        self.server.as_ref()
    }
}

/// The established connection's secrets, kept to derive the next generation
/// on KeyUpdate (RFC 8446 §7.2) and to export keying material.
pub(crate) struct Traffic {
    side: Side,
    suite: &'static Suite,
    secrets: AppSecrets,
    /// The resumption master secret, from which ticket PSKs are derived.
    resumption: Secret,
    key_updates_received: u32,
}

impl Traffic {
    /// The state once both Finished messages have been exchanged; it requires
    /// the proof that the peer's Finished was checked.
    pub fn new(
        side: Side,
        suite: &'static Suite,
        secrets: AppSecrets,
        resumption: Secret,
        _peer_finished: FinishedVerified,
    ) -> Self {
        Traffic {
            side,
            suite,
            secrets,
            resumption,
            key_updates_received: 0,
        }
    }

    /// The resumption master secret.
    pub fn resumption(&self) -> &[u8] {
        self.resumption.as_ref()
    }

    /// Handles a post-handshake message.
    pub fn handle(mut self, common: &mut Common, msg: HandshakeMessage) -> Result<Self, Error> {
        match (msg, self.side) {
            // Resumption is not offered yet: tickets are parsed (strictly) and dropped.
            (HandshakeMessage::NewSessionTicket(_), Side::Client) => Ok(self),
            (HandshakeMessage::KeyUpdate(request), _) => {
                if common.take_data_received() {
                    self.key_updates_received = 0;
                }
                self.key_updates_received += 1;
                if self.key_updates_received > MAX_KEY_UPDATES_WITHOUT_DATA {
                    return Err(Error::UnexpectedMessage("KeyUpdate flood"));
                }
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
            Side::Client => &mut self.secrets.server,
            Side::Server => &mut self.secrets.client,
        };
        *secret = next_traffic_secret(self.suite.hash, secret.as_ref());
        common.set_read_key(TrafficKey::from_secret(self.suite, secret.as_ref())?)
    }

    /// Sends a KeyUpdate and moves our sending side to the next secret.
    pub fn send_key_update(
        &mut self,
        common: &mut Common,
        request: KeyUpdateRequest,
    ) -> Result<(), Error> {
        let mut encoded = Vec::new();
        HandshakeMessage::KeyUpdate(request).encode(&mut encoded);
        common.send_handshake(&encoded)?;
        let secret = match self.side {
            Side::Client => &mut self.secrets.client,
            Side::Server => &mut self.secrets.server,
        };
        *secret = next_traffic_secret(self.suite.hash, secret.as_ref());
        common.set_write_key(TrafficKey::from_secret(self.suite, secret.as_ref())?);
        Ok(())
    }

    /// Exports keying material (RFC 8446 §7.5); an absent context and an empty
    /// one give the same output in TLS 1.3.
    pub fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        export_keying_material(
            self.suite.hash,
            self.secrets.exporter.as_ref(),
            label,
            context,
            out,
        )
    }
}
