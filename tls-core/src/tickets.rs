//! Session tickets: what a server seals into them, how it seals them
//! (rotating AEAD keys), and where a client keeps them.

#[cfg(feature = "std")]
use alloc::string::String;
use alloc::vec::Vec;

use zeroize::{Zeroize, Zeroizing};

use crate::config::UnixTime;
use crate::crypto::Secret;
#[cfg(feature = "std")]
use crate::error::Error;
use crate::msgs::codec::{put_bytes, put_u16, put_u32, read_list, write_list, LenPrefix, Reader};
use crate::msgs::enums::CipherSuite;
use crate::msgs::handshake::Asn1Cert;

/// Encrypts and decrypts the tickets a server issues. Implementations must
/// authenticate the ticket: a forged or altered ticket decrypts to `None`.
pub trait TicketEncrypter: Send + Sync {
    /// Seals `plain` into an opaque ticket, or `None` if it cannot now.
    fn encrypt(&self, plain: &[u8], now: UnixTime) -> Option<Vec<u8>>;
    /// Opens a ticket this (or a cooperating) server issued, if still valid.
    fn decrypt(&self, ticket: &[u8], now: UnixTime) -> Option<Vec<u8>>;
    /// How long, in seconds, a ticket may be used (at most 7 days).
    fn lifetime(&self) -> u32;
}

/// What a server remembers about a session inside its ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerSession {
    pub suite: CipherSuite,
    pub psk: Zeroizing<Vec<u8>>,
    pub issued_at: u64,
    pub age_add: u32,
    pub lifetime: u32,
    pub client_certificates: Vec<Vec<u8>>,
}

const SESSION_FORMAT: u8 = 1;

impl ServerSession {
    /// The ticket plaintext. The caller zeroizes it after sealing. The
    /// buffer is allocated at its final size: growing it would leave copies
    /// of the PSK behind in freed memory, out of the caller's reach.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // format, suite, psk<u8>, issued_at, age_add, lifetime, certs<u24>
        // of cert<u24> each.
        let certs: usize = self
            .client_certificates
            .iter()
            .map(|c| c.len().saturating_add(3))
            .fold(0, usize::saturating_add);
        let len = (1 + 2 + 1 + 8 + 4 + 4 + 3usize)
            .saturating_add(self.psk.len())
            .saturating_add(certs);
        let mut out = Vec::with_capacity(len);
        out.push(SESSION_FORMAT);
        put_u16(&mut out, self.suite.to_wire());
        put_bytes(&mut out, LenPrefix::U8, &self.psk);
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        put_u32(&mut out, self.age_add);
        put_u32(&mut out, self.lifetime);
        write_list::<Asn1Cert>(&mut out, &self.client_certificates);
        out
    }

    /// Parses a ticket plaintext; `None` for anything we did not write.
    pub(crate) fn decode(plain: &[u8]) -> Option<Self> {
        let mut r = Reader::new(plain);
        if r.u8("format").ok()? != SESSION_FORMAT {
            return None;
        }
        let suite = CipherSuite::from_wire(r.u16("suite").ok()?);
        let psk = Zeroizing::new(r.vec_u8("psk").ok()?.rest().to_vec());
        let issued_at = u64::from_be_bytes(r.array("issued").ok()?);
        let age_add = r.u32("age_add").ok()?;
        let lifetime = r.u32("lifetime").ok()?;
        let client_certificates = read_list::<Asn1Cert>(&mut r).ok()?;
        r.finish("session").ok()?;
        Some(ServerSession {
            suite,
            psk,
            issued_at,
            age_add,
            lifetime,
            client_certificates,
        })
    }
}

/// A resumable session as a client keeps it.
#[derive(Clone)]
pub struct StoredTicket {
    pub(crate) suite: CipherSuite,
    pub(crate) ticket: Vec<u8>,
    pub(crate) psk: Secret,
    pub(crate) age_add: u32,
    pub(crate) lifetime: u32,
    pub(crate) received_at: UnixTime,
    pub(crate) server_certificates: Vec<Vec<u8>>,
}

impl core::fmt::Debug for StoredTicket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredTicket")
            .field("suite", &self.suite)
            .field("lifetime", &self.lifetime)
            .field("received_at", &self.received_at)
            .finish_non_exhaustive()
    }
}

impl StoredTicket {
    /// True once the server's lifetime for it has passed.
    pub fn expired(&self, now: UnixTime) -> bool {
        now.0.saturating_sub(self.received_at.0) >= u64::from(self.lifetime)
    }

    /// Flips a bit of the opaque ticket, so a server cannot open it (tests of
    /// servers and stores use this; it has no other purpose).
    #[doc(hidden)]
    pub fn tamper_for_test(&mut self) {
        if let Some(byte) = self.ticket.last_mut() {
            *byte ^= 1;
        }
    }

    /// The obfuscated ticket age to send (RFC 8446 §4.2.11.1).
    pub(crate) fn obfuscated_age(&self, now: UnixTime) -> u32 {
        let age_ms = now
            .0
            .saturating_sub(self.received_at.0)
            .saturating_mul(1000);
        (age_ms as u32).wrapping_add(self.age_add)
    }
}

/// Where a client keeps tickets between connections, keyed by server name.
/// Each ticket is handed out once (tickets are single-use).
pub trait ClientSessionStore: Send + Sync {
    /// Keeps a ticket for `server_name`.
    fn put(&self, server_name: &str, ticket: StoredTicket);
    /// Takes the newest unexpired ticket for `server_name`.
    fn take(&self, server_name: &str, now: UnixTime) -> Option<StoredTicket>;
    /// Keeps a TLS 1.2 session for `server_name` (replacing an older one).
    /// The default keeps nothing.
    fn put_tls12(&self, _server_name: &str, _session: crate::tls12::session::StoredSession12) {}
    /// Takes the TLS 1.2 session for `server_name`, if unexpired.
    fn take_tls12(
        &self,
        _server_name: &str,
        _now: UnixTime,
    ) -> Option<crate::tls12::session::StoredSession12> {
        None
    }
}

/// An in-memory session store bounded in names and tickets per name.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct MemorySessionStore {
    inner: std::sync::Mutex<std::collections::VecDeque<(String, Vec<StoredTicket>)>>,
    tls12: std::sync::Mutex<
        std::collections::VecDeque<(String, crate::tls12::session::StoredSession12)>,
    >,
    max_names: usize,
}

/// Tickets kept per server name.
#[cfg(feature = "std")]
const TICKETS_PER_NAME: usize = 4;

#[cfg(feature = "std")]
impl MemorySessionStore {
    /// A store remembering tickets for at most `max_names` servers.
    pub fn new(max_names: usize) -> Self {
        MemorySessionStore {
            inner: std::sync::Mutex::new(Default::default()),
            tls12: std::sync::Mutex::new(Default::default()),
            max_names,
        }
    }
}

#[cfg(feature = "std")]
impl ClientSessionStore for MemorySessionStore {
    fn put(&self, server_name: &str, ticket: StoredTicket) {
        let Ok(mut names) = self.inner.lock() else {
            return;
        };
        let index = names.iter().position(|(name, _)| name == server_name);
        let mut entry = match index.and_then(|i| names.remove(i)) {
            Some(entry) => entry,
            None => (String::from(server_name), Vec::new()),
        };
        entry.1.push(ticket);
        if entry.1.len() > TICKETS_PER_NAME {
            entry.1.remove(0);
        }
        names.push_back(entry);
        while names.len() > self.max_names {
            names.pop_front();
        }
    }

    fn take(&self, server_name: &str, now: UnixTime) -> Option<StoredTicket> {
        let mut names = self.inner.lock().ok()?;
        let (_, tickets) = names.iter_mut().find(|(name, _)| name == server_name)?;
        tickets.retain(|t| !t.expired(now));
        tickets.pop()
    }

    fn put_tls12(&self, server_name: &str, session: crate::tls12::session::StoredSession12) {
        let Ok(mut sessions) = self.tls12.lock() else {
            return;
        };
        sessions.retain(|(name, _)| name != server_name);
        sessions.push_back((String::from(server_name), session));
        while sessions.len() > self.max_names {
            sessions.pop_front();
        }
    }

    fn take_tls12(
        &self,
        server_name: &str,
        now: UnixTime,
    ) -> Option<crate::tls12::session::StoredSession12> {
        let mut sessions = self.tls12.lock().ok()?;
        let at = sessions.iter().position(|(name, _)| name == server_name)?;
        let (_, session) = sessions.remove(at)?;
        (!session.expired(now)).then_some(session)
    }
}

/// One ticket-encryption key: an identifier (sent in clear in every ticket,
/// so a fleet can tell which key sealed it) and a 256-bit AEAD key.
#[derive(Clone)]
pub struct TicketKey {
    /// Names the key inside each ticket.
    pub id: [u8; 16],
    /// The AES-256-GCM key.
    pub key: [u8; 32],
}

impl Drop for TicketKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl core::fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TicketKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Seals tickets with AES-256-GCM under a current key, rotating it on a
/// schedule; the previous key still opens tickets for one ticket lifetime
/// (the grace period). Keys may instead be supplied from outside
/// ([`RotatingTicketer::set_keys`]) so that a fleet of servers shares them.
#[cfg(feature = "std")]
pub struct RotatingTicketer {
    keys: std::sync::RwLock<TicketKeys>,
    rng: alloc::sync::Arc<dyn entropy::EntropySource>,
    lifetime: u32,
    rotate_every: Option<u64>,
}

#[cfg(feature = "std")]
struct TicketKeys {
    current: TicketKey,
    current_since: u64,
    previous: Vec<TicketKey>,
}

/// Ticket layout: key id, nonce, then ciphertext and tag.
#[cfg(feature = "std")]
const TICKET_NONCE: usize = 12;

#[cfg(feature = "std")]
impl RotatingTicketer {
    /// A ticketer with a fresh random key, rotated every `lifetime` seconds,
    /// issuing tickets valid for `lifetime` seconds (capped at 7 days).
    pub fn new(
        rng: alloc::sync::Arc<dyn entropy::EntropySource>,
        lifetime: u32,
        now: UnixTime,
    ) -> Result<Self, Error> {
        let current = random_key(rng.as_ref())?;
        Ok(RotatingTicketer {
            keys: std::sync::RwLock::new(TicketKeys {
                current,
                current_since: now.0,
                previous: Vec::new(),
            }),
            rng,
            lifetime: lifetime.min(MAX_TICKET_LIFETIME),
            rotate_every: Some(u64::from(lifetime.min(MAX_TICKET_LIFETIME)).max(1)),
        })
    }

    /// Replaces the keys with ones supplied from outside: `current` seals new
    /// tickets, `previous` only open old ones. Automatic rotation stops: the
    /// supplier rotates by calling this again.
    pub fn set_keys(&mut self, current: TicketKey, previous: Vec<TicketKey>, now: UnixTime) {
        self.rotate_every = None;
        if let Ok(mut keys) = self.keys.write() {
            *keys = TicketKeys {
                current,
                current_since: now.0,
                previous,
            };
        }
    }

    fn rotate_if_due(&self, now: UnixTime) {
        let Some(every) = self.rotate_every else {
            return;
        };
        let due = self
            .keys
            .read()
            .is_ok_and(|k| now.0.saturating_sub(k.current_since) >= every);
        if !due {
            return;
        }
        let Ok(fresh) = random_key(self.rng.as_ref()) else {
            return;
        };
        if let Ok(mut keys) = self.keys.write() {
            if now.0.saturating_sub(keys.current_since) >= every {
                let old = core::mem::replace(&mut keys.current, fresh);
                keys.previous = alloc::vec![old];
                keys.current_since = now.0;
            }
        }
    }
}

/// RFC 8446 §4.6.1: ticket lifetimes are at most seven days.
pub const MAX_TICKET_LIFETIME: u32 = 7 * 24 * 3600;

#[cfg(feature = "std")]
fn random_key(rng: &dyn entropy::EntropySource) -> Result<TicketKey, Error> {
    let mut key = TicketKey {
        id: [0; 16],
        key: [0; 32],
    };
    rng.fill(&mut key.id).map_err(|_| Error::Entropy)?;
    rng.fill(&mut key.key).map_err(|_| Error::Entropy)?;
    Ok(key)
}

#[cfg(feature = "std")]
impl TicketEncrypter for RotatingTicketer {
    fn encrypt(&self, plain: &[u8], now: UnixTime) -> Option<Vec<u8>> {
        self.rotate_if_due(now);
        let keys = self.keys.read().ok()?;
        let mut nonce = [0u8; TICKET_NONCE];
        self.rng.fill(&mut nonce).ok()?;
        let mut ticket = Vec::with_capacity(16 + TICKET_NONCE + plain.len() + 16);
        ticket.extend_from_slice(&keys.current.id);
        ticket.extend_from_slice(&nonce);
        let body_at = ticket.len();
        ticket.extend_from_slice(plain);
        let tag = crate::crypto::seal_aes256_gcm(
            &keys.current.key,
            nonce,
            &keys.current.id,
            ticket.get_mut(body_at..)?,
        )?;
        ticket.extend_from_slice(&tag);
        Some(ticket)
    }

    fn decrypt(&self, ticket: &[u8], now: UnixTime) -> Option<Vec<u8>> {
        self.rotate_if_due(now);
        let id = ticket.get(..16)?;
        let nonce: [u8; TICKET_NONCE] = ticket.get(16..16 + TICKET_NONCE)?.try_into().ok()?;
        let keys = self.keys.read().ok()?;
        let key = core::iter::once(&keys.current)
            .chain(&keys.previous)
            .find(|k| k.id == id)?;
        let mut body = ticket.get(16 + TICKET_NONCE..)?.to_vec();
        let plain_len = crate::crypto::open_aes256_gcm(&key.key, nonce, &key.id, &mut body)?;
        body.truncate(plain_len);
        Some(body)
    }

    fn lifetime(&self) -> u32 {
        self.lifetime
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use alloc::sync::Arc;

    fn ticketer(now: u64) -> RotatingTicketer {
        RotatingTicketer::new(Arc::new(entropy::HostEntropy), 100, UnixTime(now)).unwrap()
    }

    #[test]
    fn session_round_trips_and_garbage_is_refused() {
        let session = ServerSession {
            suite: CipherSuite::Tls13Aes128GcmSha256,
            psk: Zeroizing::new(alloc::vec![7; 32]),
            issued_at: 1_700_000_000,
            age_add: 0xdead_beef,
            lifetime: 7200,
            client_certificates: alloc::vec![alloc::vec![1, 2, 3], alloc::vec![4]],
        };
        assert_eq!(
            ServerSession::decode(&session.encode()),
            Some(session.clone())
        );
        // Sized exactly up front: never regrown (no stray PSK copies).
        let mut encoded = session.encode();
        assert_eq!(encoded.capacity(), encoded.len());
        encoded.push(0);
        assert_eq!(ServerSession::decode(&encoded), None);
        assert_eq!(ServerSession::decode(&[2, 0]), None);
    }

    #[test]
    fn tickets_open_until_the_grace_period_ends() {
        let t = ticketer(1000);
        let ticket = t.encrypt(b"session", UnixTime(1000)).unwrap();
        assert_eq!(
            t.decrypt(&ticket, UnixTime(1050)).as_deref(),
            Some(&b"session"[..])
        );
        // Rotation at 1100: the old key still opens the ticket.
        let newer = t.encrypt(b"newer", UnixTime(1100)).unwrap();
        assert_ne!(ticket[..16], newer[..16]);
        assert_eq!(
            t.decrypt(&ticket, UnixTime(1150)).as_deref(),
            Some(&b"session"[..])
        );
        // The next rotation retires it.
        t.encrypt(b"newest", UnixTime(1200)).unwrap();
        assert_eq!(t.decrypt(&ticket, UnixTime(1200)), None);
        assert_eq!(
            t.decrypt(&newer, UnixTime(1200)).as_deref(),
            Some(&b"newer"[..])
        );
    }

    #[test]
    fn tampered_or_foreign_tickets_do_not_open() {
        let t = ticketer(0);
        let ticket = t.encrypt(b"session", UnixTime(0)).unwrap();
        for i in 0..ticket.len() {
            let mut bad = ticket.clone();
            bad[i] ^= 0x40;
            assert_eq!(t.decrypt(&bad, UnixTime(0)), None, "byte {i}");
        }
        assert_eq!(ticketer(0).decrypt(&ticket, UnixTime(0)), None);
        assert_eq!(t.decrypt(&ticket[..20], UnixTime(0)), None);
    }

    #[test]
    fn a_fleet_shares_supplied_keys() {
        let shared = TicketKey {
            id: [1; 16],
            key: [2; 32],
        };
        let (mut a, mut b) = (ticketer(0), ticketer(0));
        a.set_keys(shared.clone(), alloc::vec![], UnixTime(0));
        b.set_keys(
            TicketKey {
                id: [3; 16],
                key: [4; 32],
            },
            alloc::vec![shared],
            UnixTime(0),
        );
        let ticket = a.encrypt(b"fleet", UnixTime(10)).unwrap();
        assert_eq!(
            b.decrypt(&ticket, UnixTime(10_000)).as_deref(),
            Some(&b"fleet"[..])
        );
    }
}
