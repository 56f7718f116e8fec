//! Session "tickets" that are only names: stunnel's `options = NO_TICKET`
//! as OpenSSL gives it in TLS 1.3. No encrypted session state leaves the
//! server; the client gets a random identifier of a session the server
//! keeps in a bounded cache, and each identifier resumes at most once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tls_core::{EntropySource, TicketEncrypter, UnixTime};

/// One cached session: identifier, expiry (Unix seconds) and the state.
type Entry = ([u8; 16], u64, zeroize::Zeroizing<Vec<u8>>);

/// A bounded, expiring cache of sessions named by random identifiers.
pub struct StatefulTickets {
    rng: Arc<dyn EntropySource>,
    lifetime: u32,
    capacity: usize,
    sessions: Mutex<VecDeque<Entry>>,
}

impl StatefulTickets {
    /// Keeps at most `capacity` sessions (at least one), each for `lifetime`
    /// seconds.
    pub fn new(rng: Arc<dyn EntropySource>, lifetime: u32, capacity: usize) -> Self {
        StatefulTickets {
            rng,
            lifetime,
            capacity: capacity.max(1),
            sessions: Mutex::new(VecDeque::new()),
        }
    }
}

impl TicketEncrypter for StatefulTickets {
    fn encrypt(&self, plain: &[u8], now: UnixTime) -> Option<Vec<u8>> {
        let mut id = [0u8; 16];
        self.rng.fill(&mut id).ok()?;
        let expires = now.0.saturating_add(u64::from(self.lifetime));
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|(_, until, _)| *until > now.0);
        while sessions.len() >= self.capacity {
            sessions.pop_front();
        }
        sessions.push_back((id, expires, zeroize::Zeroizing::new(plain.to_vec())));
        Some(id.to_vec())
    }

    fn decrypt(&self, ticket: &[u8], now: UnixTime) -> Option<Vec<u8>> {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let at = sessions
            .iter()
            .position(|(id, _, _)| id.as_slice() == ticket)?;
        let (_, until, plain) = sessions.remove(at)?;
        (until > now.0).then(|| plain.to_vec())
    }

    fn lifetime(&self) -> u32 {
        self.lifetime
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resume_once_within_their_lifetime_and_the_cache_is_bounded() {
        let t = StatefulTickets::new(Arc::new(entropy::HostEntropy), 100, 2);
        let now = UnixTime(1000);
        let a = t.encrypt(b"session a", now).unwrap();
        assert_eq!(a.len(), 16);
        assert_eq!(t.decrypt(&a, now).as_deref(), Some(&b"session a"[..]));
        assert_eq!(t.decrypt(&a, now), None, "used once");
        let b = t.encrypt(b"b", now).unwrap();
        assert_eq!(t.decrypt(&b, UnixTime(1100)), None, "expired");
        let c = t.encrypt(b"c", now).unwrap();
        let d = t.encrypt(b"d", now).unwrap();
        let e = t.encrypt(b"e", now).unwrap();
        assert_eq!(t.decrypt(&c, now), None, "evicted");
        assert!(t.decrypt(&d, now).is_some() && t.decrypt(&e, now).is_some());
        assert_eq!(t.decrypt(b"forged", now), None);
    }
}
