//! Session resumption across reloads: the server's ticket keys and TLS 1.2
//! session-ID cache, the client's store of the server's sessions, and the
//! basis they were made under.

use std::path::PathBuf;
use std::sync::Arc;

use tls_core::{
    ClientSessionStore, Clock, MemorySessionCache, MemorySessionStore, RotatingTicketer,
    SessionIdCache, SystemClock, TicketEncrypter,
};

use crate::config::{Addr, ClientRole, Resumption, ServerRole, Service};
use crate::stateful_tickets::StatefulTickets;
use crate::ticket_keys::{self, KeyFileTicketer};

/// What a service's sessions were made under. Sessions made under another
/// basis must not resume: a resumed handshake skips the certificate checks,
/// so a session from before a reload that changed a CA file, a pinned
/// certificate or the names checked would bypass the new checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Basis {
    /// Sessions are resumed at all.
    resume: bool,
    /// What the peer's certificate is checked against, per side.
    side: SideBasis,
    /// stunnel's securityLevel: a session made under a lower one must not
    /// resume under a higher one.
    security_level: u8,
    /// Digests of the certificates peers are checked against and, in
    /// client mode, of our own certificate.
    trust: Vec<u8>,
}

/// The part of a [`Basis`] only one side has.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SideBasis {
    /// How sessions are kept, and how client certificates are required
    /// and pinned.
    Server {
        settings: Resumption,
        pinned: bool,
        optional: bool,
        require_any: bool,
        /// stunnel's redirect: a session admitted for redirection must not
        /// resume in a configuration that refuses such clients.
        redirect: Vec<Addr>,
        /// The ticket keys come from this file (shared by a fleet).
        key_file: Option<PathBuf>,
    },
    /// How the server is checked; its `server_name` is the name sessions
    /// are kept under.
    Client(ClientRole),
}

impl Basis {
    /// The basis of a server-mode `service` whose server side is `server`.
    pub(super) fn server(service: &Service, server: &ServerRole, trust: Vec<u8>) -> Basis {
        let access = &server.access;
        let side = SideBasis::Server {
            settings: server.resumption,
            pinned: access.pinned,
            optional: access.optional,
            require_any: access.require_any,
            redirect: access.redirect.clone(),
            key_file: server.ticket_key_file.clone(),
        };
        Basis::new(service, side, trust)
    }

    /// The basis of a client-mode `service` checking the server as `client`
    /// says, its sessions kept under `name`.
    pub(super) fn client(
        service: &Service,
        client: &ClientRole,
        name: Option<String>,
        trust: Vec<u8>,
    ) -> Basis {
        let side = SideBasis::Client(ClientRole {
            server_name: name,
            ..client.clone()
        });
        Basis::new(service, side, trust)
    }

    fn new(service: &Service, side: SideBasis, trust: Vec<u8>) -> Basis {
        Basis {
            resume: service.resume,
            side,
            security_level: service.algorithms.security_level,
            trust,
        }
    }
}

/// A service's session-resumption state: the server's ticket keys and TLS
/// 1.2 session-ID cache, or the client's store of the server's sessions.
/// A reload hands it on to the new configuration.
#[derive(Clone)]
pub struct Sessions {
    basis: Basis,
    state: SessionState,
}

#[derive(Clone)]
enum SessionState {
    Off,
    Server {
        ticketer: Option<Arc<dyn TicketEncrypter>>,
        cache: Arc<MemorySessionCache>,
        /// The ticketer again when its keys come from a file, to reload it.
        key_file: Option<Arc<KeyFileTicketer>>,
    },
    Client(Arc<MemorySessionStore>),
}

/// Server names a client-mode service keeps sessions for: it talks to one
/// (a new name on reload is a new [`Basis`], so a new store).
const CLIENT_SESSION_NAMES: usize = 1;

impl Sessions {
    /// The previous state when it was made under the same basis, else a new one.
    pub(super) fn keep_or_new(
        previous: Option<&Sessions>,
        basis: Basis,
    ) -> Result<Sessions, String> {
        if let Some(previous) = previous.filter(|p| p.basis == basis) {
            return Ok(previous.clone());
        }
        let state = match &basis.side {
            _ if !basis.resume => SessionState::Off,
            SideBasis::Server {
                settings: r,
                key_file: path,
                ..
            } => {
                let mut key_file = None;
                let ticketer = match (r.tickets, path, r.ticket_secret) {
                    (true, Some(path), _) => {
                        let t = Arc::new(KeyFileTicketer::load(path, r.lifetime_secs())?);
                        key_file = Some(t.clone());
                        t as Arc<dyn TicketEncrypter>
                    }
                    // A fixed key: instances sharing the secret, and
                    // restarts, open each other's tickets.
                    (true, None, Some(secret)) => {
                        Arc::new(ticket_keys::fixed(&secret, r.lifetime_secs())?)
                    }
                    (true, None, None) => Arc::new(
                        RotatingTicketer::new(
                            Arc::new(entropy::HostEntropy),
                            r.lifetime_secs(),
                            SystemClock.now(),
                        )
                        .map_err(|e| format!("cannot make session ticket keys: {e}"))?,
                    ),
                    // stunnel's NO_TICKET: as OpenSSL does in TLS 1.3, a
                    // session stays here and the client gets its name.
                    (false, ..) => Arc::new(StatefulTickets::new(
                        Arc::new(entropy::HostEntropy),
                        r.lifetime_secs(),
                        r.cache_size,
                    )),
                };
                SessionState::Server {
                    ticketer: Some(ticketer),
                    cache: Arc::new(MemorySessionCache::new(r.cache_size)),
                    key_file,
                }
            }
            SideBasis::Client(_) => {
                SessionState::Client(Arc::new(MemorySessionStore::new(CLIENT_SESSION_NAMES)))
            }
        };
        Ok(Sessions { basis, state })
    }

    /// True when sessions made under `previous` still resume: the state was
    /// handed on, or there was none to lose.
    pub fn continues(&self, previous: &Sessions) -> bool {
        self.basis == previous.basis || matches!(previous.state, SessionState::Off)
    }

    pub(super) fn ticketer(&self) -> Option<Arc<dyn TicketEncrypter>> {
        match &self.state {
            SessionState::Server {
                ticketer: Some(t), ..
            } => Some(t.clone()),
            _ => None,
        }
    }

    /// The key file its ticket keys come from, if any.
    pub fn key_file(&self) -> Option<Arc<KeyFileTicketer>> {
        match &self.state {
            SessionState::Server { key_file, .. } => key_file.clone(),
            _ => None,
        }
    }

    pub(super) fn session_cache(&self) -> Option<Arc<dyn SessionIdCache>> {
        match &self.state {
            SessionState::Server { cache, .. } => Some(cache.clone()),
            _ => None,
        }
    }

    pub(super) fn client_store(&self) -> Option<Arc<dyn ClientSessionStore>> {
        match &self.state {
            SessionState::Client(store) => Some(store.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{Live, TlsConfig};
    use std::path::Path;

    fn server(cacert: Option<&Path>) -> Service {
        let mut s = crate::config::toml::parse(
            "t.toml",
            "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\ntarget = \"127.0.0.1:1\"\n",
        )
        .unwrap()
        .services
        .remove(0);
        if let (Some(path), crate::config::Role::Server(server)) = (cacert, &mut s.role) {
            server.access.cacert = Some(path.to_path_buf());
            server.access.allow_all = true;
        }
        s
    }

    fn same_ticketer(a: &Live, b: &Live) -> bool {
        match (&a.sessions.state, &b.sessions.state) {
            (
                SessionState::Server {
                    ticketer: Some(x), ..
                },
                SessionState::Server {
                    ticketer: Some(y), ..
                },
            ) => std::ptr::addr_eq(Arc::as_ptr(x), Arc::as_ptr(y)),
            _ => false,
        }
    }

    #[test]
    fn reload_keeps_sessions_unless_their_basis_changed() {
        let dir = std::env::temp_dir().join(format!("tls-tunnel-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let write_ca = || {
            let c = rcgen::generate_simple_self_signed(vec!["ca".to_string()]).unwrap();
            std::fs::write(&ca, c.cert.pem()).unwrap();
        };
        write_ca();

        let first = Live::build(server(Some(&ca)), None).unwrap();
        let same = Live::build(server(Some(&ca)), Some(&first)).unwrap();
        assert!(same_ticketer(&first, &same));
        assert!(same.sessions.continues(&first.sessions));

        // A new CA file at the same path: sessions of the old clients must not resume.
        write_ca();
        let new_ca = Live::build(server(Some(&ca)), Some(&same)).unwrap();
        assert!(!same_ticketer(&same, &new_ca));
        assert!(!new_ca.sessions.continues(&same.sessions));

        let mut longer = server(Some(&ca));
        let crate::config::Role::Server(side) = &mut longer.role else {
            panic!("server mode")
        };
        side.resumption.timeout = std::time::Duration::from_secs(600);
        let longer = Live::build(longer, Some(&new_ca)).unwrap();
        assert!(!same_ticketer(&new_ca, &longer));

        let mut off = server(Some(&ca));
        off.resume = false;
        let off = Live::build(off, Some(&longer)).unwrap();
        let TlsConfig::Server(config, _) = &off.tls else {
            panic!("server mode")
        };
        assert!(config.ticketer.is_none() && config.session_cache.is_none());
        let on = Live::build(server(Some(&ca)), Some(&off)).unwrap();
        assert!(on.sessions.continues(&off.sessions));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
