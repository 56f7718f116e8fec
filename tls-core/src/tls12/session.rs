//! TLS 1.2 session resumption state: what a server seals into an RFC 5077
//! ticket or keeps in its session-ID cache, the cache itself, and what a
//! client keeps to resume.

use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::config::UnixTime;
use crate::crypto::Secret;
use crate::msgs::codec::{put_bytes, put_u16, put_u32, read_list, write_list, LenPrefix, Reader};
use crate::msgs::enums::{CipherSuite, NamedGroup};
use crate::msgs::handshake::Asn1Cert;

/// What a server remembers about a TLS 1.2 session (always one that used
/// the extended master secret: others are never made resumable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerSession12 {
    pub suite: CipherSuite,
    /// The group of the full handshake that made the session.
    pub group: NamedGroup,
    pub master: Zeroizing<Vec<u8>>,
    pub issued_at: u64,
    pub lifetime: u32,
    pub client_certificates: Vec<Vec<u8>>,
}

/// The format byte of a TLS 1.2 session; TLS 1.3 sessions use 1, so a ticket
/// from one version never resumes the other.
const SESSION12_FORMAT: u8 = 2;

impl ServerSession12 {
    /// The sealed form. The caller zeroizes it after sealing.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.push(SESSION12_FORMAT);
        put_u16(&mut out, self.suite.to_wire());
        put_u16(&mut out, self.group.to_wire());
        put_bytes(&mut out, LenPrefix::U8, &self.master);
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        put_u32(&mut out, self.lifetime);
        write_list::<Asn1Cert>(&mut out, &self.client_certificates);
        out
    }

    /// Parses a session; `None` for anything we did not write.
    pub(crate) fn decode(plain: &[u8]) -> Option<Self> {
        let mut r = Reader::new(plain);
        if r.u8("format").ok()? != SESSION12_FORMAT {
            return None;
        }
        let suite = CipherSuite::from_wire(r.u16("suite").ok()?);
        let group = NamedGroup::from_wire(r.u16("group").ok()?);
        let master = Zeroizing::new(r.vec_u8("master").ok()?.rest().to_vec());
        let issued_at = u64::from_be_bytes(r.array("issued").ok()?);
        let lifetime = r.u32("lifetime").ok()?;
        let client_certificates = read_list::<Asn1Cert>(&mut r).ok()?;
        r.finish("session").ok()?;
        (master.len() == crate::tls12::prf::MASTER_SECRET_LEN).then_some(ServerSession12 {
            suite,
            group,
            master,
            issued_at,
            lifetime,
            client_certificates,
        })
    }

    /// True while the session may still be resumed.
    pub(crate) fn fresh(&self, now: UnixTime) -> bool {
        now.0.saturating_sub(self.issued_at) < u64::from(self.lifetime)
    }
}

/// A server's store of TLS 1.2 sessions by session ID. Entries hold secrets:
/// implementations should wipe them when evicted. Implement it to share
/// sessions between processes or in a `no_std` build.
pub trait SessionIdCache: Send + Sync {
    /// Keeps `session` (an opaque encoding) under `id`.
    fn put(&self, id: &[u8], session: Vec<u8>);
    /// The session kept under `id`, if any.
    fn get(&self, id: &[u8]) -> Option<Vec<u8>>;
}

/// A cached session: its id and its encoded state.
#[cfg(feature = "std")]
type CachedSession = (Vec<u8>, Zeroizing<Vec<u8>>);

/// An in-memory session-ID cache holding at most `capacity` sessions; the
/// oldest is evicted first.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct MemorySessionCache {
    inner: std::sync::Mutex<alloc::collections::VecDeque<CachedSession>>,
    capacity: usize,
}

#[cfg(feature = "std")]
impl MemorySessionCache {
    /// A cache of at most `capacity` sessions.
    pub fn new(capacity: usize) -> Self {
        MemorySessionCache {
            inner: std::sync::Mutex::new(Default::default()),
            capacity,
        }
    }
}

#[cfg(feature = "std")]
impl SessionIdCache for MemorySessionCache {
    fn put(&self, id: &[u8], session: Vec<u8>) {
        let Ok(mut entries) = self.inner.lock() else {
            return;
        };
        entries.retain(|(k, _)| k != id);
        entries.push_back((id.to_vec(), Zeroizing::new(session)));
        while entries.len() > self.capacity {
            entries.pop_front();
        }
    }

    fn get(&self, id: &[u8]) -> Option<Vec<u8>> {
        let entries = self.inner.lock().ok()?;
        entries
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, v)| v.to_vec())
    }
}

/// A TLS 1.2 session as a client keeps it: the master secret, and the session
/// ID and/or the ticket that names it to the server.
#[derive(Clone)]
pub struct StoredSession12 {
    pub(crate) suite: CipherSuite,
    pub(crate) group: NamedGroup,
    pub(crate) session_id: Vec<u8>,
    pub(crate) ticket: Vec<u8>,
    pub(crate) master: Secret,
    pub(crate) received_at: UnixTime,
    pub(crate) lifetime: u32,
    pub(crate) server_certificates: Vec<Vec<u8>>,
}

impl core::fmt::Debug for StoredSession12 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StoredSession12")
            .field("suite", &self.suite)
            .field("has_ticket", &!self.ticket.is_empty())
            .field("received_at", &self.received_at)
            .finish_non_exhaustive()
    }
}

impl StoredSession12 {
    /// True once the session should no longer be offered.
    pub fn expired(&self, now: UnixTime) -> bool {
        now.0.saturating_sub(self.received_at.0) >= u64::from(self.lifetime)
    }
}

/// How long a client keeps a TLS 1.2 session without a ticket lifetime hint.
pub(crate) const DEFAULT_SESSION_LIFETIME: u32 = 2 * 3600;

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn sessions_round_trip_and_tls13_sessions_are_refused() {
        let s = ServerSession12 {
            suite: CipherSuite::EcdheEcdsaAes128GcmSha256,
            group: NamedGroup::X25519,
            master: Zeroizing::new(vec![3; 48]),
            issued_at: 1000,
            lifetime: 60,
            client_certificates: vec![vec![1, 2]],
        };
        assert_eq!(ServerSession12::decode(&s.encode()), Some(s.clone()));
        let mut wrong = s.encode();
        wrong[0] = 1;
        assert_eq!(ServerSession12::decode(&wrong), None);
        assert!(s.fresh(UnixTime(1059)) && !s.fresh(UnixTime(1060)));
    }

    #[test]
    fn memory_cache_is_bounded() {
        let cache = MemorySessionCache::new(2);
        cache.put(b"a", vec![1]);
        cache.put(b"b", vec![2]);
        cache.put(b"c", vec![3]);
        assert_eq!(cache.get(b"a"), None);
        assert_eq!(cache.get(b"b"), Some(vec![2]));
        assert_eq!(cache.get(b"c"), Some(vec![3]));
    }
}
