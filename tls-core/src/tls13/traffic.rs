//! After the TLS 1.3 handshake: application traffic secrets, KeyUpdate,
//! exporters, and (on a client) the tickets the server sends. The handshakes
//! in `client::tls13` and `server::tls13` end in a [`Traffic`]; from then on
//! `conn::dispatch` hands it the post-handshake messages.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::conn::common::{Common, Side};
use crate::crypto::{Secret, Suite, TrafficKey};
use crate::error::Error;
use crate::keylog;
use crate::msgs::handshake::{HandshakeMessage, KeyUpdateRequest, NewSessionTicket};
use crate::tickets::{ClientSessionStore, StoredTicket, MAX_TICKET_LIFETIME};
use crate::tls13::key_schedule::{
    export_keying_material, next_traffic_secret, resumption_psk, FinishedVerified, MasterSecret,
};
use crate::verify::PeerAuth;

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
    /// Derives the application traffic and exporter secrets, and hands
    /// them to `common`'s key log.
    pub(crate) fn derive(master: &MasterSecret, handshake_hash: &[u8], common: &Common) -> Self {
        let (client, server, exporter) = master.app_secrets(handshake_hash);
        common.log_secret(keylog::CLIENT_TRAFFIC_SECRET_0, client.as_ref());
        common.log_secret(keylog::SERVER_TRAFFIC_SECRET_0, server.as_ref());
        common.log_secret(keylog::EXPORTER_SECRET, exporter.as_ref());
        AppSecrets {
            client,
            server,
            exporter,
        }
    }

    /// Installs the first application read key: the peer's secret, by
    /// `common`'s side.
    pub(crate) fn install_read_key(&self, common: &mut Common, suite: &Suite) -> Result<(), Error> {
        let peer = match common.side {
            Side::Client => &self.server,
            Side::Server => &self.client,
        };
        common.set_read_key(TrafficKey::from_secret(suite, peer.as_ref())?)
    }

    /// Installs the first application write key: our own secret, by
    /// `common`'s side.
    pub(crate) fn install_write_key(
        &self,
        common: &mut Common,
        suite: &Suite,
    ) -> Result<(), Error> {
        let ours = match common.side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        };
        common.set_write_key(TrafficKey::from_secret(suite, ours.as_ref())?);
        Ok(())
    }
}

/// A client's place for NewSessionTickets, with what a resumed session
/// must remember about this one.
pub(crate) struct TicketSink {
    pub store: Arc<dyn ClientSessionStore>,
    pub server_name: String,
    pub server_certificates: Vec<Vec<u8>>,
}

/// The established connection's secrets, kept to derive the next generation
/// on KeyUpdate (RFC 8446 §7.2), to export keying material, and (client) to
/// derive the PSKs of received tickets.
pub(crate) struct Traffic {
    pub(crate) side: Side,
    suite: &'static Suite,
    secrets: AppSecrets,
    /// The resumption master secret.
    resumption: Secret,
    key_updates_received: u32,
    tickets: Option<TicketSink>,
    /// How the peer was authenticated (or why it needed not be).
    _peer_auth: PeerAuth,
    /// The peer's Finished checked out.
    _peer_finished: FinishedVerified,
}

impl Traffic {
    /// The state once both Finished messages have been exchanged; it requires
    /// and keeps the proofs of every check made on the peer: its
    /// authentication (which also tells our side) and its Finished.
    pub(crate) fn new(
        suite: &'static Suite,
        secrets: AppSecrets,
        resumption: Secret,
        peer_auth: PeerAuth,
        peer_finished: FinishedVerified,
    ) -> Self {
        Traffic {
            side: peer_auth.our_side(),
            suite,
            secrets,
            resumption,
            key_updates_received: 0,
            tickets: None,
            _peer_auth: peer_auth,
            _peer_finished: peer_finished,
        }
    }

    /// Keeps the tickets this (client) connection receives in `sink`.
    pub(crate) fn with_ticket_sink(mut self, sink: Option<TicketSink>) -> Self {
        self.tickets = sink;
        self
    }

    /// Handles a post-handshake message.
    pub(crate) fn handle(
        &mut self,
        common: &mut Common,
        msg: HandshakeMessage,
    ) -> Result<(), Error> {
        match (msg, self.side) {
            (HandshakeMessage::NewSessionTicket(ticket), Side::Client) => {
                self.store_ticket(common, ticket)
            }
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
                Ok(())
            }
            _ => Err(Error::UnexpectedMessage(
                "handshake message after the handshake",
            )),
        }
    }

    /// Derives a ticket's PSK and hands the ticket to the client's store.
    fn store_ticket(&self, common: &Common, ticket: NewSessionTicket) -> Result<(), Error> {
        let Some(sink) = &self.tickets else {
            return Ok(());
        };
        if ticket.lifetime == 0 {
            return Ok(());
        }
        let psk = resumption_psk(self.suite.hash, self.resumption.as_ref(), &ticket.nonce)?;
        let stored = StoredTicket {
            suite: self.suite.suite,
            ticket: ticket.ticket,
            psk,
            age_add: ticket.age_add,
            lifetime: ticket.lifetime.min(MAX_TICKET_LIFETIME),
            received_at: common.now(),
            server_certificates: sink.server_certificates.clone(),
        };
        sink.store.put(&sink.server_name, stored);
        Ok(())
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
    pub(crate) fn send_key_update(
        &mut self,
        common: &mut Common,
        request: KeyUpdateRequest,
    ) -> Result<(), Error> {
        common.send_handshake(&HandshakeMessage::KeyUpdate(request).to_vec())?;
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
    pub(crate) fn export(&self, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), Error> {
        export_keying_material(
            self.suite.hash,
            self.secrets.exporter.as_ref(),
            label,
            context,
            out,
        )
    }
}
